"""Layer 0's input projection as a table: one (V, G) product per forward, rows gathered by id.

An LM's first recurrent layer reads embedding rows, so the input projection of token v is
the same row wherever v occurs:

    table = E W_ih^T + b        (V, E) x (E, G) -> (V, G),   G = gates * H
    gi[t, b] = table[ids[t, b]]                  a row copy instead of an E-long dot product

Forward: one V-row product and a gather of T*B rows, against one (T*B)-row product.
Backward: dL/dtable adds every token's gate gradients into its row (`table_gradient`, an
index_add over T*B rows); autograd takes it on through the table's own product to
dL/dE = dtable W_ih and dL/dW_ih = dtable^T E (two V-row products) and dL/db (a V-row sum),
against two (T*B)-row products and the embedding's own scatter. The weights, the checkpoint
and the layouts stay as they are: the table lives for one forward.

`worth_a_table` is the rule, by the products' cost (multiply-adds): V E G for the table
against T B E G for the dense projection; the gather and the scatter (T B G each, a pass over
memory) are charged as `TABLE_ROW_COST` multiply-adds per element (seqlm.config). The fused
directions (`lstm`, `gru`, `rnn`) take the table and the ids in place of x and W_ih
(`project_inputs`, `project_gradients`); the batch-1 stepper keeps such a table for sampling
(`stepper.py`, `stack_step.cpp`).
Leaves out: dropout on the embedding (a mask makes each occurrence of a token a different
row: the dense path), padded batches and reversed directions (the dense path).
"""

import torch
from torch import Tensor

from seqlm.config.lm import TABLE_ROW_COST
from seqlm.nn.fast.matmul import cast, input_gradients, prepacked_linear

Scale = Tensor | float | None  # the g columns doubled (LSTM), everything doubled (tanh RNN)


def worth_a_table(vocab: int, tokens: int, width: int) -> bool:
    """The table path is cheaper: V E G + 2 TABLE_ROW_COST T B G multiply-adds (the table,
    the gather and the scatter) below T B E G (the dense projection), per G column."""
    return vocab * width + 2 * TABLE_ROW_COST * tokens < tokens * width


def _scaled(w: Tensor, scale: Scale) -> Tensor:
    """A weight (G, E) or bias (G,) with row g multiplied by scale[g] (or by the number)."""
    if scale is None:
        return w
    if isinstance(scale, Tensor) and w.dim() == 2:
        return w * scale[:, None]
    return w * scale


def project_inputs(x: Tensor, w_ih: Tensor | None, b: Tensor | None, scale: Scale,
                   dtype: torch.dtype | None, ids: Tensor | None, table_dtype: torch.dtype
                   ) -> tuple[Tensor, Tensor]:
    """Every step's input projection (T*B, G), scaled row-wise by `scale`, and what its
    backward needs. Dense: x (T, B, E), gi = x W_ih^T + b in the products' dtype, saving
    x2 (T*B, E) in that dtype. Table (`ids` (T, B)): x is the table (V, G), w_ih and b are
    None, gi its rows by id in `table_dtype`, saving the flat ids (T*B,)."""
    if ids is not None:
        flat = ids.reshape(-1)
        table = x if scale is None else x * scale  # (V, G): scale by column
        return flat, cast(table, table_dtype).index_select(0, flat)
    x2 = cast(x.reshape(-1, x.shape[-1]), dtype).contiguous()  # (T*B, E)
    bias = None if b is None else _scaled(b, scale)
    return x2, prepacked_linear(_scaled(w_ih, scale), x2.shape[0], bias, dtype)(x2)


def table_gradient(d: Tensor, flat_ids: Tensor, vocab: int) -> Tensor:
    """dL/dtable (V, G): row v sums the gradients d (T*B, G) of every step that read v."""
    return d.new_zeros(vocab, d.shape[1]).index_add_(0, flat_ids, d)


def project_gradients(d2: Tensor, d_low: Tensor, saved: Tensor, w_ih: Tensor | None,
                      need_x: bool, need_w: bool, dtype: torch.dtype | None,
                      x_shape: torch.Size) -> tuple[Tensor | None, Tensor | None]:
    """Backprop through `project_inputs` from the gradient of every step's projection, d2
    (T*B, G) in fp32 and d_low the same in the products' dtype: (dL/dx in x's shape, dL/dW_ih);
    with a table, (dL/dtable, None): the table's own product is autograd's."""
    if w_ih is None:
        return (table_gradient(d2, saved, x_shape[0]) if need_x else None), None
    d_x, d_w = input_gradients(d_low, saved, w_ih, need_x, need_w, dtype)
    return (None if d_x is None else d_x.view(x_shape)), d_w
