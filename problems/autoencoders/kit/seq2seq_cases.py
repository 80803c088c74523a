"""Generators for the seq2seq decoder problem: target sentences and scripted decoders."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import kit
from .sandbox.scripted_decoder import EOS, SOS, ScriptedDecoder

VOCABULARY = ["I", "you", "we", "see", "saw", "a", "the", "dog", "cat", "bird", "runs", "sleeps", "big",
              "small", "red", "blue", "today", "now", "here", "there"]


class Sentence(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    words: list[str] | None = Field(None, description="a fixed sentence; default: random words")
    length: int = Field(4, ge=0, le=50)


@kit.generator("target_sentence", Sentence)
def target_sentence(rng: np.random.Generator, p: Sentence) -> dict[str, Any]:
    """A target sentence (a list of words): the one given, or random words from a small vocabulary."""
    words = p.words if p.words is not None else [str(w) for w in rng.choice(VOCABULARY, size=p.length)]
    return {"target": list(words)}


class DecoderScript(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    script: Literal["homework", "never_eos", "eos_at_once", "stateful", "random_table"]
    max_len: int = Field(10, ge=1, le=100)
    length: int = Field(5, ge=1, le=30, description="sentence length for the random scripts")

    @model_validator(mode="after")
    def _fits(self) -> "DecoderScript":
        if self.script == "never_eos" and self.max_len > 50:
            raise ValueError("max_len must stay small for a decoder that never stops")
        return self


def _chain(words: list[str]) -> dict[str, str]:
    """A table that emits ``words`` then <eos>: <sos> -> w0 -> w1 ... -> <eos> (distinct words)."""
    table, prev = {}, SOS
    for w in words:
        table[prev] = w
        prev = w
    table[prev] = EOS
    return table


@kit.generator("scripted_decoder", DecoderScript)
def scripted_decoder(rng: np.random.Generator, p: DecoderScript) -> dict[str, Any]:
    """A decoder whose outputs are scripted, with h0 and max_len for the student's greedy loop."""
    if p.script == "homework":
        step = ScriptedDecoder("table", _chain(["I", "saw", "a", "dog"]))
    elif p.script == "eos_at_once":
        step = ScriptedDecoder("table", {SOS: EOS})
    elif p.script == "never_eos":
        step = ScriptedDecoder("table", {SOS: "la", "la": "di", "di": "da", "da": "la"})
    elif p.script == "random_table":
        words = [str(w) for w in rng.permutation(VOCABULARY)[: p.length]]
        step = ScriptedDecoder("table", _chain(words))
    else:  # stateful: the output depends only on h, so dropping h repeats the first word
        step = ScriptedDecoder("by_state", tokens=[str(w) for w in rng.choice(VOCABULARY, size=p.length)])
    return {"step": step, "h0": 0, "max_len": p.max_len}
