"""Safe YAML loading that remembers where each value was written.

Values come from ``yaml.safe_load`` semantics (no tags that build Python objects). Alongside them we
keep the composed node tree, so that a validation error at ``checks[1].rtol`` can name its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml


@dataclass
class LocatedYaml:
    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The 1-based line of the deepest node along ``loc`` that exists."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                        child = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if 0 <= key < len(node.value):
                    child = node.value[key]
            if child is None:
                break
            node = child
            if isinstance(node, yaml.ScalarNode) or node.flow_style or isinstance(key, int):
                line = node.start_mark.line + 1  # a block collection keeps its key's line
        return line


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_located(path: Path) -> LocatedYaml:
    """Read one YAML file; raises ``yaml.YAMLError`` or ``OSError`` / ``UnicodeDecodeError``."""
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    data = yaml.safe_load(text)
    return LocatedYaml(path, data, root)
