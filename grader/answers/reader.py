"""Read a student's ``answers.yaml`` safely: plain data only, bounded in size, no aliases, no tags.

The file is scanned event by event before anything is built: an alias (``*name``, the way a "YAML bomb"
expands exponentially), a tag such as ``!!python/object``, too many nodes or too deep a nesting is
refused with a message naming the line. Only then does ``yaml.safe_load`` build the value.
"""

from __future__ import annotations

import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.submission_files import FileRefused, entry_mode, read_regular

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 20
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}


class AnswersError(Exception):
    """The answers file cannot be used at all; the message names what and where."""


@dataclass
class Answers:
    """What the student answered, by problem id and question id, and notes about the file."""

    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None  #: why no answer could be read (missing file, bad YAML...), for every question
    notes: list[str] = field(default_factory=list)

    def get(self, problem: str, question: str) -> tuple[bool, Any]:
        section = self.data.get(problem, {})
        return (question in section), section.get(question)


@dataclass(frozen=True)
class TooLong:
    """An integer in answers.yaml of more digits than Python converts: it costs only its own question."""

    line: int
    digits: int

    def __str__(self) -> str:
        return (f"line {self.line}: a number of {self.digits} digits is too long to read "
                f"(at most {sys.get_int_max_str_digits()})")


def too_long(value: Any) -> TooLong | None:
    """The first :class:`TooLong` number in an answer (a value, or a list or mapping of them), if any."""
    if isinstance(value, TooLong):
        return value
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    return next((found for item in items if (found := too_long(item)) is not None), None)


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader``, except that an integer too long to convert becomes a :class:`TooLong`."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int | TooLong:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
            return TooLong(node.start_mark.line + 1, sum(c.isdigit() for c in str(node.value)))


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _scan(text: str) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise AnswersError(f"line {line}: aliases (*{event.anchor}) are not allowed; write the value out")
        if isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            nodes += 1
            tag = event.tag
            if tag is not None and tag not in _PLAIN_TAGS and tag != "!":
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise AnswersError(f"line {line}: the tag {shown} is not allowed (only plain values, lists "
                                   "and mappings); nothing in the file was run")
            if getattr(event, "anchor", None):
                raise AnswersError(f"line {line}: anchors (&{event.anchor}) are not allowed")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise AnswersError(f"line {line}: nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        if nodes > MAX_NODES:
            raise AnswersError(f"more than {MAX_NODES} values")


def read_answers(path: Path) -> Answers:
    """Never raises for a student's file: problems become ``Answers.error`` or notes. Only a regular file is
    read (a link, a pipe or a device is refused, never followed or opened), up to :data:`MAX_BYTES`."""
    mode = entry_mode(path.parent, path.name)
    if mode is None or stat.S_ISDIR(mode):  # a folder of that name is no answers file either
        return Answers(error="no answers.yaml in the submission")
    try:
        text = read_regular(path.parent, path.name, MAX_BYTES).decode("utf-8")
        _scan(text)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is yaml.SafeLoader with safe integers
    except FileRefused as exc:
        return Answers(error=str(exc))
    except UnicodeDecodeError:
        return Answers(error="answers.yaml is not UTF-8 text")
    except AnswersError as exc:
        return Answers(error=f"answers.yaml {exc}")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        return Answers(error=f"answers.yaml is not valid YAML{where}: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        return Answers(error=f"answers.yaml is not valid YAML: {exc}")
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        return Answers(error=f"answers.yaml could not be read ({type(exc).__name__})")
    if data is None:
        return Answers(error="answers.yaml is empty")
    if not isinstance(data, dict):
        return Answers(error="answers.yaml must map problem ids to their answers (problem: {question: answer})")
    answers = Answers()
    for problem, section in data.items():
        if not isinstance(section, dict):
            answers.notes.append(f"answers.yaml: {problem!s}: expected question: answer pairs, got a "
                                 f"{type(section).__name__}")
            continue
        answers.data[str(problem)] = {str(k): v for k, v in section.items()}
    return answers
