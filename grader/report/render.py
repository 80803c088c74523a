"""Render the report templates (Jinja2, autoescaped) and write the pages.

Student output, feedback and file names reach the pages only through autoescaped template variables,
and every page carries a Content-Security-Policy that allows no script and no network fetch at all, so
a ``<script>`` a student printed is shown as text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from grader.report.student import points


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("grader.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["points"] = points
    env.filters["coord"] = lambda x: f"{x:.1f}"  # SVG coordinates
    env.filters["percent"] = lambda x: f"{100 * x:.0f}%"
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def write_page(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` atomically (a reader never sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
