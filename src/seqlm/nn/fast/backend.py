"""`--backend torch`: torch.nn.LSTM / GRU / RNN (oneDNN on the CPU, cuDNN on a GPU) behind the
interface of seqlm's own layers, on the same weights.

seqlm's layers (`seqlm.nn.recurrent`) name, shape and order their parameters as torch.nn does
(`weight_ih_l0`, gates i, f, g, o and r, z, n), so a `TorchLSTM` holds exactly the state dict
of an `LSTM` and a checkpoint trained with either backend loads into the other. Each class
here is the torch.nn layer itself plus what the LM, the stepper and the structure pages ask
of a seqlm layer: `forward_state(x, state) -> (output, state tuple)`, `kind` and
`direction_weights`. torch.nn initialises as seqlm's layers do (U(-1/sqrt(H), 1/sqrt(H)) over
the parameters in the same order, the same draws from torch's RNG; then the forget bias), so
both backends start from the same model (a test checks it). States come back in float32 under
autocast (seqlm's contract).
Leaves out: padded batches (`lengths`; use seqlm's layers), locked dropout inside the layer.
"""

from torch import Tensor, nn

from seqlm.nn.cells import State, cell_kind, set_forget_bias_


class _TorchBackend:
    """The seqlm layer interface over a torch.nn.RNNBase subclass."""

    def _seqlm_init(self, kind: str, forget_bias: float | None = None) -> None:
        self.kind = cell_kind(kind)
        if forget_bias is not None and self.bias:
            for layer in range(self.num_layers):
                set_forget_bias_(getattr(self, f"bias_ih_l{layer}"),
                                 getattr(self, f"bias_hh_l{layer}"), forget_bias)

    def forward_state(self, x: Tensor, state: State | None, lengths: Tensor | None = None
                      ) -> tuple[Tensor, State]:
        """x (B, T, E) batch-first -> (output (B, T, H), (h_n,) or (h_n, c_n), each
        (L, B, H))."""
        if lengths is not None:
            raise ValueError("backend torch takes no lengths: use seqlm's layers for padding")
        parts = None if state is None else (state[0] if len(state) == 1 else tuple(state))
        out, final = self(x, parts)
        final = (final,) if isinstance(final, Tensor) else tuple(final)
        return out, tuple(s.float() for s in final)

    def direction_weights(self, suffix: str
                          ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(W_ih, W_hh^T, input bias, per-step bias), as `seqlm.nn.recurrent`'s layers."""
        from seqlm.nn.recurrent import direction_weights

        return direction_weights(self, suffix)


class TorchLSTM(_TorchBackend, nn.LSTM):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                 forget_bias: float | None = None):
        super().__init__(input_size, hidden_size, num_layers, dropout=dropout,
                         batch_first=True)
        self._seqlm_init("lstm", forget_bias)


class TorchGRU(_TorchBackend, nn.GRU):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__(input_size, hidden_size, num_layers, dropout=dropout,
                         batch_first=True)
        self._seqlm_init("gru")


class TorchRNN(_TorchBackend, nn.RNN):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                 nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, num_layers, nonlinearity=nonlinearity,
                         dropout=dropout, batch_first=True)
        self._seqlm_init(f"rnn_{nonlinearity}")


def torch_layer(cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                forget_bias: float | None = None) -> nn.Module:
    """The torch.nn layer for an LM's `cell` (rnn, rnn_relu, lstm, gru)."""
    builders = {"lstm": lambda: TorchLSTM(input_size, hidden_size, num_layers, dropout,
                                          forget_bias),
                "gru": lambda: TorchGRU(input_size, hidden_size, num_layers, dropout),
                "rnn": lambda: TorchRNN(input_size, hidden_size, num_layers, dropout),
                "rnn_relu": lambda: TorchRNN(input_size, hidden_size, num_layers, dropout,
                                             "relu")}
    if cell not in builders:
        raise ValueError(f"backend torch has no {cell!r} layer; it runs {', '.join(builders)}")
    return builders[cell]()
