"""Scripted decoders: tiny stand-ins for a trained seq2seq decoder, ``step(token, h) -> (next_token, h)``.

This module is standalone (standard library only): the kit uses it on the trusted side to compute
expected answers and to replay a student's tokens, and the kit declares it a sandbox module, so a copy
is placed in each sandbox, which builds the same decoder (``build``) to hand to the student's loop. Nothing a decoder does inside the
sandbox is trusted; only the token list the student's function returns is judged, here.
"""

EOS = "<eos>"
SOS = "<sos>"
UNKNOWN = "<unk>"


class ScriptedDecoder:
    """``table``: the next token depends only on the fed token (h passes through unchanged).
    ``by_state``: the next token is ``tokens[h]`` (then ``<eos>``) and h counts the calls, so a loop
    that does not pass the returned h back in repeats itself."""

    def __init__(self, kind, table=None, tokens=None):
        if kind not in ("table", "by_state"):
            raise ValueError(f"unknown decoder kind {kind!r}")
        self.kind = kind
        self.table = dict(table or {})
        self.tokens = list(tokens or [])

    @property
    def spec(self):
        return {"kind": self.kind, "table": self.table, "tokens": self.tokens}

    def __sandbox__(self):
        """How the sandbox rebuilds this decoder: this module's ``build(spec)`` (declared in the kit)."""
        return "scripted_decoder", self.spec

    def __call__(self, token, h):
        if self.kind == "table":
            return self.table.get(token, UNKNOWN), h
        index = h if isinstance(h, int) and not isinstance(h, bool) else -1
        nxt = self.tokens[index] if 0 <= index < len(self.tokens) else EOS
        return nxt, (index + 1 if index >= 0 else h)

    def __repr__(self):
        return f"ScriptedDecoder({self.kind!r})"


def build(spec):
    return ScriptedDecoder(spec["kind"], spec.get("table"), spec.get("tokens"))


def greedy_inputs(step, h0, max_len, *, variant="correct"):
    """The tokens fed to ``step`` by greedy decoding, or by a known wrong variant of the loop."""
    fed, token, h = [], SOS, h0
    calls = max_len + 1 if variant == "one_call_too_many" else max_len
    for _ in range(calls):
        fed.append(token)
        nxt, h_next = step(token if variant != "not_fed_back" else SOS, h)
        h = h0 if variant == "ignored_hidden_state" else h_next
        if nxt == EOS:
            if variant == "fed_eos":
                fed.append(EOS)
            if variant != "did_not_stop":
                break
        token = nxt
    if variant == "missing_sos":
        fed = fed[1:]
    return fed
