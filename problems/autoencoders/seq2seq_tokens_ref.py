"""Reference solution for seq2seq-tokens (instructors only; never shown to student code)."""


def teacher_forcing_inputs(target):
    return ["<sos>"] + list(target)


def greedy_decoder_inputs(step, h0, max_len):
    fed, token, h = [], "<sos>", h0
    for _ in range(max_len):
        fed.append(token)
        token, h = step(token, h)
        if token == "<eos>":
            break
    return fed
