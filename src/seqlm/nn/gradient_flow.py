"""How far back a trained recurrent LM's gradient reaches: ||dL_t / dh_{t-k}|| against k.

Run the model one step at a time over a window idx (B, T), keep every step's hidden state
h_j (all layers, (L, B, H)), take the loss at the last position t = T - 1 only, and backprop.
The norm of dL_t/dh_{t-k} (over layers and units, averaged over the batch) shows how fast the
signal from k steps back fades: the vanishing-gradient picture of Hochreiter (1991) and Bengio
et al. (1994), measured on trained weights. For the LSTM the memory cell c carries a second
path; the curve is for h, the state every cell family has. Leaves out: exploding-gradient
statistics over many windows, Jacobian spectra.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlm.nn.lm import RecurrentLM


def hidden_gradient_norms(model: RecurrentLM, idx: Tensor) -> list[float]:
    """[||dL_t/dh_{t-k}|| for k = 0 .. T-2], idx (B, T); L_t predicts idx[:, -1] from
    idx[:, :-1]. The model's training mode is restored afterwards."""
    was_training = model.training
    model.eval()
    hidden: list[Tensor] = []
    state = None
    try:
        with torch.enable_grad():
            inputs, target = idx[:, :-1], idx[:, -1]
            for t in range(inputs.shape[1]):
                # the sequence path one step at a time: differentiable, unlike the stepper
                _, _, state = model(inputs[:, t : t + 1], None, state)
                h = state[0]  # (L, B, H)
                h.retain_grad()
                hidden.append(h)
            # the same logits as step's, but taken from the kept state so that k = 0 is h_t
            loss = F.cross_entropy(model.proj(hidden[-1][-1]), target)
            loss.backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    norms = []
    for h in reversed(hidden):  # k = 0 is the last step
        grad = h.grad if h.grad is not None else torch.zeros_like(h)
        norms.append(float(grad.permute(1, 0, 2).flatten(1).norm(dim=1).mean()))
    return norms
