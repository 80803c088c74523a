"""Slips for token lists: teacher forcing and greedy decoding, named by replaying known wrong loops."""

from __future__ import annotations

from grader.kit import SlipContext

from . import kit
from .sandbox.scripted_decoder import EOS, SOS, greedy_inputs


def _only(values: dict) -> list:
    (value,) = values.values()
    return list(value)


def _replay(s: SlipContext, variant: str) -> bool:
    step = s.inputs["step"]
    return _only(s.got) == greedy_inputs(step, s.inputs["h0"], s.inputs["max_len"], variant=variant)


@kit.slip("tf_missing_sos")
def tf_missing_sos(s: SlipContext) -> bool:
    """The decoder's first input is <sos>: the inputs are the target shifted right by one."""
    return _only(s.got) == _only(s.expected)[1:]


@kit.slip("tf_targets")
def tf_targets(s: SlipContext) -> bool:
    """Those are the decoder's targets (what it should predict, ending in <eos>), not its inputs."""
    return _only(s.got) == _only(s.expected)[1:] + [EOS]


@kit.slip("tf_dropped_last", "You dropped the last word of the target: the decoder is fed <sos> and then every "
                             "target word; its inputs stop before the last word only when the target itself ends in "
                             "<eos>, and these targets do not.")
def tf_dropped_last(s: SlipContext) -> bool:
    expected = _only(s.expected)
    return len(expected) >= 2 and _only(s.got) == expected[:-1]


@kit.slip("tf_appended_eos")
def tf_appended_eos(s: SlipContext) -> bool:
    """<eos> is what the decoder predicts last; it is never fed to it as an input."""
    return _only(s.got) == _only(s.expected) + [EOS]


@kit.slip("fed_eos")
def fed_eos(s: SlipContext) -> bool:
    """You fed <eos> back to the decoder: decoding stops when <eos> is predicted, and it is never an input."""
    return _replay(s, "fed_eos")


@kit.slip("did_not_stop")
def did_not_stop(s: SlipContext) -> bool:
    """Your loop did not stop when the decoder predicted <eos>."""
    return _replay(s, "did_not_stop")


@kit.slip("ignored_hidden_state")
def ignored_hidden_state(s: SlipContext) -> bool:
    """Your loop ignores the hidden state: pass the h returned by step back into the next call."""
    return _replay(s, "ignored_hidden_state")


@kit.slip("not_fed_back")
def not_fed_back(s: SlipContext) -> bool:
    """Your loop does not feed the decoder's prediction back in as the next input."""
    return _replay(s, "not_fed_back")


@kit.slip("missing_sos")
def missing_sos(s: SlipContext) -> bool:
    """The first token fed to the decoder is <sos>; include it in the list you return."""
    return _replay(s, "missing_sos") and bool(_only(s.expected)) and _only(s.expected)[0] == SOS


@kit.slip("one_call_too_many", "Your list has one token more than greedy decoding feeds: stop after max_len calls "
                               "to step, and list only the tokens you fed to it.")
def one_call_too_many(s: SlipContext) -> bool:
    """max_len + 1 tokens where greedy decoding feeds max_len: one call too many, or the last prediction listed
    although it was never fed (the list alone cannot tell which)."""
    return _replay(s, "one_call_too_many")
