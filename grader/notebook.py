"""Turn a Jupyter notebook into the Python source the sandbox runs.

Code cells run in order. IPython magics (``%time``, ``%%capture``) and shell escapes (``!pip install``)
are skipped, never executed: each such line becomes ``pass`` so the indentation stays valid.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass

_MAGIC = re.compile(r"^(\s*)(%|!|\?)")
_ASSIGNED_ESCAPE = re.compile(r"^(\s*)[\w.]+\s*=\s*[!%]")  # files = !ls, t = %timeit ...
_HELP = re.compile(r"^(\s*)[\w.]+\?{1,2}\s*$")  # np.sum? and obj??
_LINES = re.compile(r"\r\n|\r|\n")  # Python's own line breaks, not str.splitlines()'s wider set


class NotebookError(Exception):
    pass


@dataclass(frozen=True)
class NotebookSource:
    text: str
    cell_starts: tuple[tuple[int, int], ...]  #: (first line in text, cell number) for each code cell
    skipped: int  #: how many magic or shell lines were skipped

    def where(self, line: int) -> str:
        """'cell C, line L' for a line of the converted text."""
        cell, first = 0, 1
        for start, number in self.cell_starts:
            if start <= line:
                cell, first = number, start
        return f"cell {cell}, line {line - first + 1}"


def _cell_text(cell: dict, index: int) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise NotebookError(f"cell {index} has a malformed 'source' field")


def notebook_to_python(raw: str) -> NotebookSource:
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except RecursionError as exc:
        raise NotebookError("not a Jupyter notebook: its JSON is nested too deeply to read") from exc
    except ValueError as exc:  # Python refuses to convert integers of more than 4300 digits
        raise NotebookError("not a Jupyter notebook: its JSON holds an integer of more than "
                            f"{sys.get_int_max_str_digits()} digits") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("not a Jupyter notebook: no list of 'cells' at the top level")
    lines: list[str] = []
    starts: list[tuple[int, int]] = []
    skipped = 0
    for number, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell, number)
        cell_lines = _LINES.split(text)
        if cell_lines and cell_lines[-1] == "":
            cell_lines.pop()
        starts.append((len(lines) + 2, number))
        lines.append(f"# --- cell {number} ---")
        first = next((line for line in cell_lines if line.strip()), "")
        if first.lstrip().startswith("%%"):  # IPython ignores blank lines before a cell magic
            lines.extend("pass  # cell magic skipped" if i == 0 else "" for i in range(len(cell_lines)))
            skipped += 1
            continue
        continued = False
        for line in cell_lines:
            if continued:  # the continuation of a skipped line ending in a backslash
                lines.append("")
            else:
                m = _MAGIC.match(line) or _ASSIGNED_ESCAPE.match(line) or _HELP.match(line)
                if m:
                    lines.append(f"{m.group(1)}pass  # magic or shell line skipped")
                    skipped += 1
                else:
                    lines.append(line)
                    continue
            continued = (len(line) - len(line.rstrip("\\"))) % 2 == 1
    return NotebookSource("\n".join(lines) + "\n", tuple(starts), skipped)
