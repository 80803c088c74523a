"""Read a student's ``answers.yaml`` safely: plain data only, bounded in size, no aliases, no tags.

The file is scanned event by event before anything is built: an alias (``*name``, the way a "YAML bomb"
expands exponentially), a tag such as ``!!python/object``, too many nodes or too deep a nesting is
refused with a message naming the line. Only then does ``yaml.safe_load`` build the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
    """Never raises for a student's file: problems become ``Answers.error`` or notes."""
    if not path.is_file():
        return Answers(error="no answers.yaml in the submission")
    if path.stat().st_size > MAX_BYTES:
        return Answers(error=f"answers.yaml is larger than {MAX_BYTES // 1024} KB")
    try:
        text = path.read_bytes().decode("utf-8")
        _scan(text)
        data = yaml.safe_load(text)
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
