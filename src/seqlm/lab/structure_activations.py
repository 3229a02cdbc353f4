"""Every unit's activation at every step: the states a trained `RecurrentLM` passes through.

The model's own layers hand on only the top layer's hidden states and the final state; to
see inside, this runs each layer's cell step (`rnn.kind.step` with `rnn.direction_weights`,
the path `RecurrentLM.step` takes for generation) over the passage and keeps every part of
the state after every character:

    ids (B, T) -> embedding (B, T, E) -> layer 1: h1 (B, T, H) [and c1 for the LSTM]
               -> layer 2: h2, c2 ...       each layer's h feeds the next, as in forward

in eval mode (no dropout), from a zero state. The names are `h1`, `h2`, ... (hidden state,
the cell's output) and `c1`, `c2`, ... (the LSTM's cell state). The top layer's `h` equals
`model.rnn(...)`'s output (a test checks it). Leaves out: bidirectional layers (language
models here are one-way), gate activations.
"""

import numpy as np
import torch
import torch.nn.functional as F

from seqlm.nn.lm import RecurrentLM

STATE_NAMES = ("h", "c")  # the order of a cell's state parts


@torch.inference_mode()
def unit_activations(model: RecurrentLM, ids: np.ndarray) -> dict[str, np.ndarray]:
    """ids (T,) or (B, T) -> {state name: (T, H) or (B, T, H)} after every token."""
    single = ids.ndim == 1
    idx = torch.as_tensor(np.atleast_2d(ids), dtype=torch.long)  # (B, T)
    rnn = model.rnn
    x = model.embedding(idx)  # (B, T, E)
    out: dict[str, np.ndarray] = {}
    for layer in range(rnn.num_layers):
        w_ih, w_hh_t, b_in, b_step = rnn.direction_weights(f"_l{layer}")
        gi = F.linear(x, w_ih, b_in)  # (B, T, G*H)
        zeros = x.new_zeros(x.shape[0], rnn.hidden_size)  # (B, H)
        state = (zeros,) * rnn.kind.state_size
        steps: list[tuple[torch.Tensor, ...]] = []
        for gi_t in gi.unbind(1):
            state = rnn.kind.step(gi_t, state, w_hh_t, b_step)
            steps.append(state)
        for part in range(rnn.kind.state_size):
            values = torch.stack([s[part] for s in steps], dim=1)  # (B, T, H)
            out[f"{STATE_NAMES[part]}{layer + 1}"] = values[0].numpy() if single \
                else values.numpy()
        x = torch.stack([s[0] for s in steps], dim=1)  # (B, T, H): the next layer's input
    return out
