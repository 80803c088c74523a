"""``grader new PROBLEM --assignment DIR``: a new problem's spec, reference solution and kit module, which validate.

The skeleton is a complete small problem (a generator, an ``allclose`` check, a slip of the kit's own and
two built-in ones) for the author to rewrite. In a folder without ``assignment.yaml`` it starts a new
assignment with a kit package; in an existing one it adds the problem to ``problems:`` and, where the
assignment has no kit yet, names ``kit: kit``. Nothing is overwritten.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import yaml

SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
KIT = "kit"


class ScaffoldError(Exception):
    """The problem cannot be added as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Scaffold:
    written: list[Path]  #: files created
    changed: list[Path]  #: files edited (assignment.yaml, the kit's __init__.py)


def _template(name: str, **values: str) -> str:
    return Template(resources.files(__name__).joinpath(name).read_text(encoding="utf-8")).substitute(values)


def _add_problem(text: str, problem: str) -> str:
    """``assignment.yaml``'s text with ``problem`` appended to its ``problems:`` list (comments kept)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^problems\s*:", line)), None)
    if start is None:
        raise ScaffoldError("assignment.yaml has no problems: list to add the problem to")
    flow = re.match(r"^problems\s*:\s*\[(.*)\]\s*(#.*)?$", lines[start].rstrip("\n"))
    if flow:
        items = [p.strip() for p in flow.group(1).split(",") if p.strip()]
        lines[start] = f"problems: [{', '.join([*items, problem])}]\n"
        return "".join(lines)
    last, indent = start, "  "
    for i in range(start + 1, len(lines)):
        item = re.match(r"^(\s+)-\s", lines[i])
        if item:
            last, indent = i, item.group(1)
        elif lines[i].strip() and not lines[i].lstrip().startswith("#"):
            break
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, f"{indent}- {problem}\n")
    return "".join(lines)


def new_problem(problem: str, assignment_dir: Path, *, title: str | None = None) -> Scaffold:
    """Write the skeleton of ``problem`` into ``assignment_dir`` (created when missing)."""
    if not SLUG.match(problem):
        raise ScaffoldError(f"problem id {problem!r}: use lowercase letters, digits and dashes, starting with a letter")
    root = Path(assignment_dir)
    module = problem.replace("-", "_")
    if keyword.iskeyword(module) or module == KIT:
        raise ScaffoldError(f"problem id {problem!r}: its Python name {module!r} is taken (a keyword, or the kit's "
                            "name); choose another id")
    if (root / f"{KIT}.py").exists():
        raise ScaffoldError(f"{root / (KIT + '.py')}: the assignment's kit is a single module; grader new writes "
                            f"into a kit package {KIT}/: add the problem by hand (see docs/authoring.md)")
    values = {"problem": problem, "module": module, "function": module, "title": title or problem.replace("-", " ").capitalize(),
              "assignment": re.sub(r"[^a-z0-9-]+", "-", root.resolve().name.lower()).strip("-") or "assignment"}
    spec, reference = root / f"{problem}.yaml", root / f"{module}_ref.py"
    kit_dir = root / KIT
    kit_file = kit_dir / f"{module}.py"
    for path in (spec, reference, kit_file):
        if path.exists():
            raise ScaffoldError(f"{path} exists already; choose another problem id (nothing was written)")
    written: list[Path] = []
    changed: list[Path] = []
    assignment = root / "assignment.yaml"
    new_text = None
    if assignment.is_file():
        text = assignment.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ScaffoldError(f"{assignment}: expected a mapping of fields")
        if problem in (data.get("problems") or []):
            raise ScaffoldError(f"{assignment} lists {problem} already")
        if data.get("kit") not in (None, KIT):
            raise ScaffoldError(f"{assignment} names the kit {data['kit']!r}; grader new writes into a kit package "
                                f"named {KIT}/: add the problem by hand (see docs/authoring.md)")
        new_text = _add_problem(text, problem)
        if data.get("kit") is None:
            new_text = new_text.rstrip("\n") + "\n# This assignment's own code (generators, slips, checks): kit/.\n" \
                                               f"kit: {KIT}\n"
        check = yaml.safe_load(new_text)
        if check.get("problems", [])[-1:] != [problem] or check.get("kit") != KIT:
            raise ScaffoldError(f"{assignment}: could not add {problem} to its problems list; add it by hand")
    root.mkdir(parents=True, exist_ok=True)
    kit_dir.mkdir(exist_ok=True)
    init = kit_dir / "__init__.py"
    if not init.exists():
        init.write_text(_template("kit_init.py.tmpl", **values), encoding="utf-8")
        written.append(init)
    else:
        changed.append(init)
    with open(init, "a", encoding="utf-8") as fh:
        fh.write(f"from . import {module}  # noqa: E402,F401  ({problem})\n")
    if new_text is None:
        assignment.write_text(_template("assignment.yaml.tmpl", **values), encoding="utf-8")
        written.append(assignment)
    else:
        assignment.write_text(new_text, encoding="utf-8")
        changed.append(assignment)
    for path, name in ((spec, "problem.yaml.tmpl"), (reference, "reference.py.tmpl"), (kit_file, "kit_module.py.tmpl")):
        path.write_text(_template(name, **values), encoding="utf-8")
        written.append(path)
    return Scaffold(written, changed)
