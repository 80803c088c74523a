"""Variants built by wrapping the reference's entry points: the reference's own code, then a wrapper per entry
that calls it and transforms what it returns (a slip's wrong answer, a valid rewrite).

The reference's text is kept as it is (its line numbers too); the wrapper is appended. It renames nothing
the reference defines: it keeps the original function under another name and defines the entry anew.
"""

from __future__ import annotations

from typing import Callable, Sequence

from grader.models import EntryPoint
from grader.mutants.inline import inline

PREFIX = "_grader_variant"
AFTER = f"{PREFIX}_after"  #: (outputs, inputs) -> outputs
BEFORE = f"{PREFIX}_before"  #: inputs -> inputs, before the reference is called


def wrapped(reference: str, entries: Sequence[EntryPoint], after: Callable, what: str,
            before: Callable | None = None) -> str:
    """The reference's source with each of ``entries`` returning ``after(outputs, inputs)`` instead of its own outputs
    (an output ``after`` leaves out is kept), the inputs first passed through ``before(inputs)`` when given."""
    parts = [reference.rstrip("\n"), "", "", f"# ---- added by grader validate --mutants: {what}", "",
             inline(after, AFTER, what), ""]
    if before is not None:
        parts += [inline(before, BEFORE, what), ""]
    for entry in entries:
        original = f"{PREFIX}_reference_{entry.name}"
        call = [f"    inputs = {BEFORE}(inputs)", "    args = tuple(inputs[n] for n in names)"] if before else []
        parts += [
            f"{original} = {entry.name}",
            "",
            "",
            f"def {entry.name}(*args):",
            f"    names, returns = {list(entry.args)!r}, {list(entry.returns)!r}",
            "    inputs = dict(zip(names, args))",
            *call,
            f"    value = {original}(*args)",
            "    outputs = dict(zip(returns, value)) if len(returns) > 1 else {returns[0]: value}",
            f"    changed = {AFTER}(dict(outputs), inputs)",
            "    values = [changed[n] if n in changed else outputs[n] for n in returns]",
            "    return tuple(values) if len(returns) > 1 else values[0]",
            "",
            "",
        ]
    return "\n".join(parts).rstrip("\n") + "\n"
