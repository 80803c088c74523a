"""A trusted function's source, copied into a variant of the reference that runs in the sandbox.

Slips' wrong answers and rewrites are functions of the engine or of a kit; a variant calls them on the
reference's outputs inside the sandbox, where neither the grader nor the kit can be imported. So each is
copied as source: its ``def`` (decorators and annotations dropped, renamed), which must be self-contained:
everything it uses is a builtin, an argument, or imported or defined inside it.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import textwrap
from typing import Callable

from grader.kit import KitError

_BUILTINS = frozenset(dir(builtins))


def where(func: Callable) -> str:
    """``file:line`` of a function, for messages."""
    try:
        return f"{inspect.getsourcefile(func)}:{func.__code__.co_firstlineno}"
    except (TypeError, AttributeError):
        return repr(func)


def inline(func: Callable, name: str, what: str) -> str:
    """The source of ``func`` as a top-level ``def name(...)``; :class:`KitError` naming ``what`` and where it is
    when it cannot run on its own (a lambda, a closure, a name it does not define)."""
    if getattr(func, "__name__", "") == "<lambda>":
        raise KitError(f"{where(func)}: {what} is a lambda: define it with def, so that its source can be copied "
                       "into the sandbox")
    if getattr(getattr(func, "__code__", None), "co_freevars", ()):
        raise KitError(f"{where(func)}: {what} uses {', '.join(func.__code__.co_freevars)} from the function around "
                       "it: define it at the top of its module, self-contained")
    try:
        text = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise KitError(f"{where(func)}: {what}: its source cannot be read ({exc})") from exc
    tree = ast.parse(text)
    found = tree.body[0] if tree.body else None
    if not isinstance(found, ast.FunctionDef):
        raise KitError(f"{where(func)}: {what} must be a function defined with def")
    found.name, found.decorator_list, found.returns = name, [], None
    for arg in [*found.args.posonlyargs, *found.args.args, *found.args.kwonlyargs, found.args.vararg,
                found.args.kwarg]:
        if arg is not None:
            arg.annotation = None
    source = ast.unparse(found)
    missing = sorted(_globals(symtable.symtable(source, "<inlined>", "exec").get_children()[0]) - _BUILTINS)
    if missing:
        raise KitError(f"{where(func)}: {what} uses {', '.join(missing)}, which it does not define: it runs alone in "
                       "the sandbox, so import or define everything it uses inside it")
    return source


def _globals(table: symtable.SymbolTable) -> set[str]:
    """The global names a scope and the scopes inside it read."""
    names = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        names |= _globals(child)
    return names
