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


def tf_missing_sos_answer(outputs: dict, inputs: dict) -> dict:
    """The target itself, without <sos> in front."""
    (name,) = outputs
    return {name: list(inputs["target"])}


@kit.slip("tf_missing_sos", wrong=tf_missing_sos_answer)
def tf_missing_sos(s: SlipContext) -> bool:
    """The decoder's first input is <sos>: the inputs are the target shifted right by one."""
    return _only(s.got) == _only(s.expected)[1:]


def tf_targets_answer(outputs: dict, inputs: dict) -> dict:
    """The decoder's targets: the target followed by <eos>, no <sos>."""
    (name,) = outputs
    return {name: list(inputs["target"]) + ["<eos>"]}


@kit.slip("tf_targets", wrong=tf_targets_answer)
def tf_targets(s: SlipContext) -> bool:
    """Those are the decoder's targets (what it should predict, ending in <eos>), not its inputs."""
    return _only(s.got) == _only(s.expected)[1:] + [EOS]


def tf_dropped_last_answer(outputs: dict, inputs: dict) -> dict:
    """<sos> and the target without its last word (the convention of targets that end in <eos>)."""
    (name,) = outputs
    return {name: ["<sos>"] + list(inputs["target"])[:-1]}


@kit.slip("tf_dropped_last", "You dropped the last word of the target: the decoder is fed <sos> and then every "
                             "target word; its inputs stop before the last word only when the target itself ends in "
                             "<eos>, and these targets do not.", wrong=tf_dropped_last_answer)
def tf_dropped_last(s: SlipContext) -> bool:
    expected = _only(s.expected)
    return len(expected) >= 2 and _only(s.got) == expected[:-1]


def tf_appended_eos_answer(outputs: dict, inputs: dict) -> dict:
    """<sos>, the target, and <eos> after it."""
    (name,) = outputs
    return {name: ["<sos>"] + list(inputs["target"]) + ["<eos>"]}


@kit.slip("tf_appended_eos", wrong=tf_appended_eos_answer)
def tf_appended_eos(s: SlipContext) -> bool:
    """<eos> is what the decoder predicts last; it is never fed to it as an input."""
    return _only(s.got) == _only(s.expected) + [EOS]


def fed_eos_answer(outputs: dict, inputs: dict) -> dict:
    """Greedy decoding that tests for <eos> only once it is the next input: the <eos> predicted is listed as fed."""
    (name,) = outputs
    step, h, max_len = inputs["step"], inputs["h0"], inputs["max_len"]
    fed, token = [], "<sos>"
    for _ in range(max_len):
        fed.append(token)
        if token == "<eos>":
            break
        token, h = step(token, h)
    return {name: fed}


@kit.slip("fed_eos", wrong=fed_eos_answer)
def fed_eos(s: SlipContext) -> bool:
    """You fed <eos> back to the decoder: decoding stops when <eos> is predicted, and it is never an input."""
    return _replay(s, "fed_eos")


def did_not_stop_answer(outputs: dict, inputs: dict) -> dict:
    """Greedy decoding that never tests for <eos>: max_len calls, whatever is predicted."""
    (name,) = outputs
    step, h, max_len = inputs["step"], inputs["h0"], inputs["max_len"]
    fed, token = [], "<sos>"
    for _ in range(max_len):
        fed.append(token)
        token, h = step(token, h)
    return {name: fed}


@kit.slip("did_not_stop", wrong=did_not_stop_answer)
def did_not_stop(s: SlipContext) -> bool:
    """Your loop did not stop when the decoder predicted <eos>."""
    return _replay(s, "did_not_stop")


def ignored_hidden_state_answer(outputs: dict, inputs: dict) -> dict:
    """Greedy decoding that passes h0 to every call, never the h that step returned."""
    (name,) = outputs
    step, h0, max_len = inputs["step"], inputs["h0"], inputs["max_len"]
    fed, token = [], "<sos>"
    for _ in range(max_len):
        fed.append(token)
        token, _ = step(token, h0)
        if token == "<eos>":
            break
    return {name: fed}


@kit.slip("ignored_hidden_state", wrong=ignored_hidden_state_answer)
def ignored_hidden_state(s: SlipContext) -> bool:
    """Your loop ignores the hidden state: pass the h returned by step back into the next call."""
    return _replay(s, "ignored_hidden_state")


def not_fed_back_answer(outputs: dict, inputs: dict) -> dict:
    """Greedy decoding that feeds <sos> to every call instead of the previous prediction (yet lists the
    prediction as fed)."""
    (name,) = outputs
    step, h, max_len = inputs["step"], inputs["h0"], inputs["max_len"]
    fed, token = [], "<sos>"
    for _ in range(max_len):
        fed.append(token)
        token, h = step("<sos>", h)
        if token == "<eos>":
            break
    return {name: fed}


@kit.slip("not_fed_back", wrong=not_fed_back_answer)
def not_fed_back(s: SlipContext) -> bool:
    """Your loop does not feed the decoder's prediction back in as the next input."""
    return _replay(s, "not_fed_back")


def missing_sos_answer(outputs: dict, inputs: dict) -> dict:
    """Greedy decoding, right, but the <sos> fed first left out of the list."""
    (name,) = outputs
    step, h, max_len = inputs["step"], inputs["h0"], inputs["max_len"]
    fed, token = [], "<sos>"
    for _ in range(max_len):
        if token != "<sos>":
            fed.append(token)
        token, h = step(token, h)
        if token == "<eos>":
            break
    return {name: fed}


@kit.slip("missing_sos", wrong=missing_sos_answer)
def missing_sos(s: SlipContext) -> bool:
    """The first token fed to the decoder is <sos>; include it in the list you return."""
    return _replay(s, "missing_sos") and bool(_only(s.expected)) and _only(s.expected)[0] == SOS


def one_call_too_many_answer(outputs: dict, inputs: dict) -> dict:
    """Greedy decoding with max_len + 1 calls to step (the right answer where <eos> comes sooner)."""
    (name,) = outputs
    step, h, max_len = inputs["step"], inputs["h0"], inputs["max_len"]
    fed, token = [], "<sos>"
    for _ in range(max_len + 1):
        fed.append(token)
        token, h = step(token, h)
        if token == "<eos>":
            break
    return {name: fed}


@kit.slip("one_call_too_many", "Your list has one token more than greedy decoding feeds: stop after max_len calls "
                               "to step, and list only the tokens you fed to it.", wrong=one_call_too_many_answer)
def one_call_too_many(s: SlipContext) -> bool:
    """max_len + 1 tokens where greedy decoding feeds max_len: one call too many, or the last prediction listed
    although it was never fed (the list alone cannot tell which)."""
    return _replay(s, "one_call_too_many")
