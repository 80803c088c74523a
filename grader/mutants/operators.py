"""AST mutation operators: wrong variants of a reference solution, one small change each.

Each operator looks at one node of a function's syntax tree and proposes replacements for it:

- ``sign``: drop a unary minus, swap ``+`` and ``-`` (also ``+=`` / ``-=``), negate a returned value or an
  assigned arithmetic expression;
- ``transpose``: add ``.T`` to an operand of ``@`` or to a returned value, drop an existing ``.T``,
  ``.transpose()`` or ``np.transpose(x)``;
- ``factor``: a returned value times 2 or 0.5, a division dropped (``a / n`` -> ``a``), a constant factor
  dropped (``2 * a`` -> ``a``);
- ``swap_args``: ``a @ b`` -> ``b @ a``, ``a - b`` -> ``b - a``, ``a / b`` -> ``b / a``, two neighbouring
  positional arguments of a call exchanged;
- ``axis``: ``axis=0`` <-> ``axis=1``, ``axis=-1`` (or any other) -> ``axis=0`` (also ``dim=``), ``keepdims=True``
  dropped;
- ``drop_sort``: ``sorted(x)``, ``np.sort(x)``, ``np.flip(x)``, ``reversed(x)`` -> ``x``; ``x.sort()`` removed;
  ``np.argsort(v)`` -> ``list(range(len(v)))``; a reversal ``x[::-1]`` (or along one axis, ``x[:, ::-1]``) dropped;
- ``comparison``: ``<`` <-> ``<=``, ``>`` <-> ``>=``;
- ``tolerance``: a float literal of at most 1e-3 multiplied by 1e3;
- ``constant``: an integer literal plus or minus 1 (bounds, indices, off-by-one slices); ``True`` <-> ``False``.

A mutant's id names the function, the operator and the change, e.g. ``f:axis:x.sum(axis=1) -> x.sum(axis=0)``
(``#2``, ``#3`` for the same change again in the same function), so it survives edits elsewhere in the file.
Mutants whose code equals the original's, or an earlier mutant's, are dropped.
"""

from __future__ import annotations

import ast
import copy
import os
from dataclasses import dataclass
from typing import Iterator

OPERATORS = ("sign", "transpose", "factor", "swap_args", "axis", "drop_sort", "comparison", "tolerance", "constant")
_SKIPPED_FIELDS = frozenset({"decorator_list", "returns", "annotation", "type_comment"})
#: calls whose result is no array: a returned value of this kind is not negated, scaled or transposed
_PLAIN_CALLS = frozenset({"bool", "int", "float", "str", "list", "dict", "tuple", "len", "sorted", "set"})
_SHORT = 60  #: snippets longer than this are cut around the change
_AROUND = 22  #: characters kept on each side of the change in a cut snippet

Path = tuple[tuple[str, "int | None"], ...]


@dataclass(frozen=True)
class Mutant:
    """One wrong variant of a reference solution."""

    id: str  #: ``function:operator:before -> after`` (``#n`` for a repeat within the function)
    operator: str
    function: str  #: the top-level function changed
    line: int  #: where, in the reference solution
    description: str
    source: str  #: the whole module with the change, as ``ast.unparse`` writes it


@dataclass(frozen=True)
class _Change:
    operator: str
    replacement: ast.AST  #: replaces the node at the site
    description: str


@dataclass
class _Roles:
    """What a function's nodes are for, where an operator needs to know (returned values, assigned arithmetic)."""

    returned: set[int]
    assigned: set[int]

    @classmethod
    def of(cls, func: ast.FunctionDef) -> "_Roles":
        returned, assigned = set(), set()
        for node in ast.walk(func):
            if isinstance(node, ast.Return) and node.value is not None:
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                returned.update(id(v) for v in values if _arrayish(v))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.BinOp):
                assigned.add(id(node.value))
        return cls(returned, assigned)


def top_level_functions(source: str) -> list[str]:
    """The names of the module's top-level functions, in order."""
    return [n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def generate(source: str, functions: list[str] | tuple[str, ...] | None = None) -> list[Mutant]:
    """Every mutant of the top-level functions of ``source`` (of ``functions`` only, when given), in source order."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    seen = {original}
    out: list[Mutant] = []
    for index, func in enumerate(tree.body):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if functions is not None and func.name not in functions:
            continue
        roles = _Roles.of(func)
        counts: dict[str, int] = {}
        for node, path, parents in _walk(func, (("body", index),), ()):
            if any(_reversal(parent) and path[i + 1][0] == "step" for i, parent in enumerate(parents)):
                continue  # a reversal's step: drop_sort drops the reversal itself
            for change in _changes(node, roles):
                mutated = copy.deepcopy(tree)
                _replace(mutated, path, copy.deepcopy(change.replacement))
                text = ast.unparse(mutated)
                if text in seen:
                    continue
                seen.add(text)
                before, after = _snippets(tree, mutated, path, node, parents)
                key = f"{func.name}:{change.operator}:{before} -> {after}"
                counts[key] = counts.get(key, 0) + 1
                mid = key if counts[key] == 1 else f"{key} #{counts[key]}"
                out.append(Mutant(mid, change.operator, func.name, getattr(node, "lineno", func.lineno),
                                  change.description, text))
    return out


# --------------------------------------------------------------------------- walking and replacing


def _walk(node: ast.AST, path: Path, parents: tuple[ast.AST, ...]) -> Iterator[tuple[ast.AST, Path, tuple]]:
    """Every node under ``node`` (itself included) in source order, with its path from the module and its
    ancestors; decorators, annotations and f-strings (messages) are left alone."""
    yield node, path, parents
    for name, value in ast.iter_fields(node):
        if name in _SKIPPED_FIELDS:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, ast.AST) and not isinstance(item, (ast.JoinedStr, ast.expr_context)):
                step = (name, i if isinstance(value, list) else None)
                yield from _walk(item, path + (step,), parents + (node,))


def _at(tree: ast.AST, path: Path) -> ast.AST:
    node = tree
    for name, i in path:
        node = getattr(node, name) if i is None else getattr(node, name)[i]
    return node


def _replace(tree: ast.AST, path: Path, new: ast.AST) -> None:
    parent = _at(tree, path[:-1])
    name, i = path[-1]
    if i is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[i] = new


def _snippets(tree: ast.Module, mutated: ast.Module, path: Path, node: ast.AST,
              parents: tuple[ast.AST, ...]) -> tuple[str, str]:
    """The change as two short snippets: the smallest enclosing expression that reads as one (a constant or a
    keyword shows with the call or expression around it), cut around the change when long."""
    depth, current = len(path), node  # the node at path[:k] is parents[k - 1], for k < len(path)
    while depth > 1 and _small(current) and isinstance(parents[depth - 2], (ast.expr, ast.keyword)):
        depth -= 1
        current = parents[depth - 1]
    before, after = ast.unparse(_at(tree, path[:depth])), ast.unparse(_at(mutated, path[:depth]))
    return _focus(before, after)


def _small(node: ast.AST) -> bool:
    """A node that says little alone: it shows with the expression around it."""
    return isinstance(node, (ast.Constant, ast.Name, ast.keyword, ast.Slice, ast.Tuple, ast.List)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def _focus(before: str, after: str) -> tuple[str, str]:
    """Both snippets, each cut to the change and ``_AROUND`` characters either side when longer than ``_SHORT``."""
    before, after = " ".join(before.split()), " ".join(after.split())
    if len(before) <= _SHORT and len(after) <= _SHORT:
        return before, after
    start = len(os.path.commonprefix([before, after]))
    tail = len(os.path.commonprefix([before[start:][::-1], after[start:][::-1]]))
    lo = max(0, start - _AROUND)

    def cut(text: str) -> str:
        hi = min(len(text), len(text) - tail + _AROUND)
        return ("..." if lo > 0 else "") + text[lo:hi] + ("..." if hi < len(text) else "")

    return cut(before), cut(after)


# --------------------------------------------------------------------------- the operators


def _changes(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    for operator in OPERATORS:
        yield from _OPERATORS[operator](node, roles)


def _sign(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield _Change("sign", node.operand, "the unary minus dropped")
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, (ast.Add, ast.Sub)):
        new = copy.copy(node)
        new.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        yield _Change("sign", new, f"{_op(node.op)} turned into {_op(new.op)}")
    negated = id(node) in roles.returned or id(node) in roles.assigned
    if negated and not (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)):
        yield _Change("sign", ast.UnaryOp(ast.USub(), node), "negated")


def _transpose(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        for side in ("left", "right"):
            operand = getattr(node, side)
            if not _transposed(operand):
                new = copy.copy(node)
                setattr(new, side, _dot_t(operand))
                yield _Change("transpose", new, f"the {side} operand of @ transposed")
    if id(node) in roles.returned and not _transposed(node):
        yield _Change("transpose", _dot_t(node), "the returned value transposed")
    if _transposed(node):
        yield _Change("transpose", node.value, "the transpose dropped")  # type: ignore[attr-defined]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "transpose" \
            and not node.keywords:
        if not node.args:
            yield _Change("transpose", node.func.value, "the transpose dropped")
        elif len(node.args) == 1 and isinstance(node.func.value, ast.Name):
            yield _Change("transpose", node.args[0], "the transpose dropped")


def _factor(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if id(node) in roles.returned:
        yield _Change("factor", ast.BinOp(ast.Constant(2), ast.Mult(), node), "the returned value doubled")
        yield _Change("factor", ast.BinOp(ast.Constant(0.5), ast.Mult(), node), "the returned value halved")
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv)):
        yield _Change("factor", node.left, "the division dropped")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for constant, other in ((node.left, node.right), (node.right, node.left)):
            if _number(constant) is not None:
                yield _Change("factor", other, "the constant factor dropped")


def _swap_args(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.MatMult, ast.Sub, ast.Div)):
        yield _Change("swap_args", ast.BinOp(node.right, node.op, node.left), f"the operands of {_op(node.op)} swapped")
    if isinstance(node, ast.Call):
        args = node.args
        for i in range(len(args) - 1):
            if isinstance(args[i], ast.Starred) or isinstance(args[i + 1], ast.Starred):
                continue
            new = copy.copy(node)
            new.args = [*args[:i], args[i + 1], args[i], *args[i + 2:]]
            yield _Change("swap_args", new, f"arguments {i + 1} and {i + 2} swapped")


def _axis(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.keyword) and node.arg in ("axis", "dim"):
        value = _number(node.value)
        if isinstance(value, int):
            target = {0: 1, 1: 0}.get(value, 0)
            yield _Change("axis", ast.keyword(node.arg, _literal(target)), f"{node.arg} {value} turned into {target}")
    if isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg == "keepdims" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                new = copy.copy(node)
                new.keywords = node.keywords[:i] + node.keywords[i + 1:]
                yield _Change("axis", new, "keepdims dropped")


def _drop_sort(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if name in ("sorted", "reversed", "sort", "flip", "fliplr", "flipud") and node.args \
                and not isinstance(node.args[0], ast.Starred):
            yield _Change("drop_sort", node.args[0], f"{name} dropped")
        if name == "argsort":
            target = node.args[0] if node.args else node.func.value if isinstance(node.func, ast.Attribute) else None
            if target is not None and not isinstance(target, ast.Starred):
                plain = ast.parse("list(range(len(_)))", mode="eval").body
                plain.args[0].args[0].args[0] = target  # type: ignore[attr-defined]
                yield _Change("drop_sort", plain, "argsort replaced by the identity order")
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
            and node.value.func.attr == "sort" and not node.value.args:
        yield _Change("drop_sort", ast.Pass(), "the in-place sort removed")
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if _reversal(node.slice):
            yield _Change("drop_sort", node.value, "the reversal dropped")
        elif isinstance(node.slice, ast.Tuple):
            for i, part in enumerate(node.slice.elts):
                if _reversal(part):
                    new = copy.copy(node)
                    new.slice = ast.Tuple([*node.slice.elts[:i], ast.Slice(), *node.slice.elts[i + 1:]], ast.Load())
                    yield _Change("drop_sort", new, f"the reversal along axis {i} dropped")


_LOOSER = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


def _comparison(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            other = _LOOSER.get(type(op))
            if other is not None:
                new = copy.copy(node)
                new.ops = [*node.ops[:i], other(), *node.ops[i + 1:]]
                yield _Change("comparison", new, f"{_op(op)} turned into {_op(other())}")


def _tolerance(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.Constant) and type(node.value) is float and 0 < abs(node.value) <= 1e-3:
        looser = float(f"{node.value * 1e3:.12g}")
        yield _Change("tolerance", ast.Constant(looser), f"the tolerance {node.value:g} turned into {looser:g}")


def _constant(node: ast.AST, roles: _Roles) -> Iterator[_Change]:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        for delta in (1, -1):
            changed = node.value + delta
            yield _Change("constant", ast.Constant(changed), f"{node.value} turned into {changed}")
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        yield _Change("constant", ast.Constant(not node.value), f"{node.value} turned into {not node.value}")


_OPERATORS = {"sign": _sign, "transpose": _transpose, "factor": _factor, "swap_args": _swap_args, "axis": _axis,
              "drop_sort": _drop_sort, "comparison": _comparison, "tolerance": _tolerance, "constant": _constant}


# --------------------------------------------------------------------------- small predicates


def _arrayish(node: ast.AST) -> bool:
    """Whether a returned expression may be an array (not a literal, a comparison or a plain-valued call)."""
    if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Compare, ast.BoolOp, ast.JoinedStr,
                         ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
        return False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return False
    return not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _PLAIN_CALLS)


def _transposed(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load)


def _dot_t(node: ast.AST) -> ast.Attribute:
    return ast.Attribute(node, "T", ast.Load())


def _number(node: ast.AST) -> int | float | None:
    """The value of a numeric literal (``2``, ``-1``, ``0.5``; not a bool), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _literal(value: int) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def _reversal(node: ast.AST) -> bool:
    return isinstance(node, ast.Slice) and node.lower is None and node.upper is None and node.step is not None \
        and _number(node.step) == -1


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.MatMult: "@",
            ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _op(op: ast.AST) -> str:
    return _SYMBOLS.get(type(op), type(op).__name__)
