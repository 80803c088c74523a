"""Converting notebooks to Python: magics and shell escapes are never executed, cells map back to lines."""

from __future__ import annotations

import json
import os
import traceback

import pytest

from grader.notebook import NotebookError, NotebookSource, notebook_to_python


def notebook(*cells: tuple[str, str | list[str]]) -> str:
    """nbformat-4 JSON for cells given as (cell_type, source)."""
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": source,
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for kind, source in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })


def run(src: NotebookSource, **extra) -> dict:
    """Compile and execute the converted text in a fresh namespace."""
    namespace: dict = {"__name__": "submission", **extra}
    exec(compile(src.text, "<notebook>", "exec"), namespace)
    return namespace


@pytest.fixture
def no_shell(monkeypatch):
    """Make any attempt to reach a shell from converted code fail loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"converted notebook tried to run a shell command: {args}")
    monkeypatch.setattr(os, "system", refuse)
    monkeypatch.setattr(os, "popen", refuse)


def test_line_magics_and_shell_escapes_are_skipped(no_shell):
    src = notebook_to_python(notebook(
        ("code", "%matplotlib inline\n%load_ext autoreload\nimport math\n"),
        ("code", ["!pip install torch\n", "files = !ls -la\n", "t = %timeit -o math.sqrt(2)\n",
                  "?math.sqrt\n", "def double(x):\n", "    return 2 * x\n"]),
    ))
    ns = run(src)
    assert ns["double"](21) == 42
    assert ns["math"].sqrt(4) == 2
    # the assigned escapes were not run, so nothing was assigned
    assert "files" not in ns and "t" not in ns
    assert src.skipped == 6
    for fragment in ("%matplotlib", "pip install", "!ls", "%timeit", "?math"):
        assert fragment not in src.text
    assert src.text.count("pass  # magic or shell line skipped") == 6


@pytest.mark.parametrize("magic", ["%%time", "%%bash", "%%capture out", "%%writefile helper.py", "  %%timeit"])
def test_cell_magics_are_never_executed(magic, no_shell):
    body = ["import os\n", "os.system('touch /tmp/grader-pwned')\n", "RAN = True"]
    src = notebook_to_python(notebook(
        ("code", "x = 1\n"),
        ("code", [f"{magic}\n", *body]),
        ("code", "y = x + 1\n"),
    ))
    ns = run(src)
    assert "RAN" not in ns
    assert ns["y"] == 2  # later cells still run
    assert "os.system" not in src.text and "RAN" not in src.text
    assert magic.strip() not in src.text
    assert src.skipped == 1
    # the cell keeps its line count, so lines after it still map to the right place
    y_line = src.text.splitlines().index("y = x + 1") + 1
    assert src.where(y_line) == "cell 3, line 1"


def test_shell_cell_body_is_not_even_parsed():
    # a bash body is not Python; if it were kept, compiling would fail
    src = notebook_to_python(notebook(("code", "%%bash\nfor f in *; do rm -rf \"$f\"; done\n"), ("code", "ok = 1")))
    assert "rm -rf" not in src.text
    assert run(src)["ok"] == 1


def test_magic_inside_indented_block_keeps_indentation():
    src = notebook_to_python(notebook(("code", [
        "def f(x):\n",
        "    %time y = x * 3\n",
        "    return x * 2\n",
        "\n",
        "for i in range(3):\n",
        "    !echo $i\n",
        "\n",
        "class C:\n",
        "    def g(self):\n",
        "        if True:\n",
        "            %debug\n",
        "        return 'g'\n",
        "    total = !du -s .\n",
    ])))
    lines = src.text.splitlines()
    assert "    pass  # magic or shell line skipped" in lines
    assert "            pass  # magic or shell line skipped" in lines
    assert lines.count("    pass  # magic or shell line skipped") == 3  # in f, in the for loop, in C
    ns = run(src)
    assert ns["f"](5) == 10
    assert "y" not in ns
    assert ns["C"]().g() == "g" and not hasattr(ns["C"], "total")


def test_ordinary_percent_and_bang_code_is_kept():
    src = notebook_to_python(notebook(("code", [
        "a = 7 % 3\n",
        "b = a != 2\n",
        "c = '%d items' % 4\n",
        "d = not b\n",
    ])))
    ns = run(src)
    assert (ns["a"], ns["b"], ns["c"], ns["d"]) == (1, True, "4 items", False)
    assert src.skipped == 0


def test_markdown_and_raw_cells_are_ignored(no_shell):
    src = notebook_to_python(notebook(
        ("markdown", "# Question 1\nimport os\nos.system('echo hi')\n"),
        ("code", "answer = 42\n"),
        ("raw", "this is not python at all ("),
        ("markdown", ["%%bash\n", "!rm -rf /\n"]),
        ("code", "answer += 1\n"),
    ))
    assert "os.system" not in src.text and "Question" not in src.text and "not python" not in src.text
    assert "rm -rf" not in src.text
    assert run(src)["answer"] == 43
    # cells are numbered as in the notebook, markdown included
    assert [number for _, number in src.cell_starts] == [2, 5]
    assert "# --- cell 2 ---" in src.text and "# --- cell 5 ---" in src.text
    assert src.skipped == 0


def test_where_maps_lines_to_cells():
    src = notebook_to_python(notebook(
        ("markdown", "intro"),
        ("code", "import math\n%matplotlib inline\n"),
        ("code", ["def f(x):\n", "    return x + 1\n", "\n", "value = f(1)\n"]),
        ("markdown", "more text"),
        ("code", "%%time\nslow()\n"),
        ("code", "a = 1\nb = 2\nc = 3\n"),
    ))
    lines = src.text.splitlines()

    def line_of(text: str) -> int:
        assert lines.count(text) == 1
        return lines.index(text) + 1

    assert src.where(line_of("import math")) == "cell 2, line 1"
    assert src.where(line_of("value = f(1)")) == "cell 3, line 4"
    assert src.where(line_of("    return x + 1")) == "cell 3, line 2"
    assert src.where(line_of("a = 1")) == "cell 6, line 1"
    assert src.where(line_of("c = 3")) == "cell 6, line 3"


def test_where_locates_a_runtime_error():
    src = notebook_to_python(notebook(
        ("code", "%load_ext autoreload\nimport numpy as np\n"),
        ("markdown", "## Part (b)"),
        ("code", ["!nvidia-smi\n", "def grad(x):\n", "    %time y = 1\n", "    raise ValueError('boom')\n"]),
        ("code", "grad(0)\n"),
    ))
    with pytest.raises(ValueError, match="boom") as info:
        run(src)
    frames = [f for f in traceback.extract_tb(info.value.__traceback__) if f.filename == "<notebook>"]
    assert [src.where(f.lineno) for f in frames] == ["cell 4, line 1", "cell 3, line 4"]


def test_where_locates_a_syntax_error():
    src = notebook_to_python(notebook(("code", "x = 1\n"), ("code", "%time x\ny = (1,\nz = 2 +\n")))
    with pytest.raises(SyntaxError) as info:
        compile(src.text, "<notebook>", "exec")
    assert src.where(info.value.lineno).startswith("cell 2, line ")


def test_string_and_list_sources_agree():
    text = "x = 1\n%time x\ny = x + 1\n"
    as_string = notebook_to_python(notebook(("code", text)))
    as_list = notebook_to_python(notebook(("code", text.splitlines(keepends=True))))
    assert as_string == as_list
    assert run(as_string)["y"] == 2


def test_empty_notebook_and_empty_cells():
    assert run(notebook_to_python(notebook()))["__name__"] == "submission"
    src = notebook_to_python(notebook(("code", ""), ("code", []), ("code", "z = 3")))
    assert run(src)["z"] == 3
    assert src.where(src.text.splitlines().index("z = 3") + 1) == "cell 3, line 1"


def test_invalid_json():
    with pytest.raises(NotebookError, match=r"not valid notebook JSON \(line 1, column \d+"):
        notebook_to_python('{"cells": [')
    with pytest.raises(NotebookError, match="not valid notebook JSON"):
        notebook_to_python("import numpy as np\n")  # a .py file saved with an .ipynb name


@pytest.mark.parametrize("raw, message", [
    ("[" * 100_000 + "]" * 100_000, "its JSON is nested too deeply to read"),  # a RecursionError in json
    ('{"cells": [], "metadata": {"n": ' + "9" * 5000 + "}}", "its JSON holds an integer of more than 4300 digits"),  # ValueError
], ids=["nested-brackets", "5000-digits"])
def test_json_that_breaks_the_json_reader(raw, message):
    with pytest.raises(NotebookError, match=f"not a Jupyter notebook: {message}"):
        notebook_to_python(raw)


@pytest.mark.parametrize("raw", ['{"nbformat": 4}', '{"cells": {"0": {}}}', "[1, 2]", '"cells"', "null"])
def test_json_that_is_not_a_notebook(raw):
    with pytest.raises(NotebookError, match="not a Jupyter notebook: no list of 'cells'"):
        notebook_to_python(raw)


def test_malformed_cell_source():
    raw = json.dumps({"cells": [{"cell_type": "code", "source": "a = 1"},
                                {"cell_type": "code", "source": ["b = ", 2]}]})
    with pytest.raises(NotebookError, match="cell 2 has a malformed 'source' field"):
        notebook_to_python(raw)


def test_cells_that_are_not_objects_are_skipped():
    raw = json.dumps({"cells": ["stray string", {"cell_type": "code", "source": "w = 5"}]})
    src = notebook_to_python(raw)
    assert run(src)["w"] == 5
    assert src.cell_starts[0][1] == 2
