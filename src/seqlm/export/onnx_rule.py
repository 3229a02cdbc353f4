"""seqlm's sampling rule (`seqlm.decoding.sampling.choose`) written in ONNX graph ops, for
the generation loop (`seqlm.export.onnx_loop`): the token (1,) int64 chosen from the logits
(1, V) float32 of one step.

Each operation is `choose`'s in float64 and skipped where `choose` skips it: banned ids ->
-inf (Where), the repetition penalty (Where over the seen mask), argmax for temperature 0
(no uniform read), l / tau, top-k (TopK, then Where below the k-th value), top-p (TopK over
all V, sorted, ties by lower index as a stable argsort; exp / sum, CumSum, the drop mask
scattered back), and the inverse-CDF draw: softmax as `draw` computes it, CumSum, the index
= how many CDF entries are <= u * cdf[-1] (`searchsorted(side="right")`), at most V-1.
Summation order differs (onnxruntime's ReduceSum is not NumPy's pairwise sum), and so may
exp's last bit: a CDF entry moves by ~1e-16, which flips a draw only if its uniform lands
that close to a boundary. Leaves out: non-finite logits (`draw` takes the max over the
finite ones; here a +inf or NaN logit gives NaN probabilities).
"""

import numpy as np

from seqlm.decoding.sampling import SamplingRule

F64, I64, BOOL = 11, 7, 9  # onnx.TensorProto data types


class Builder:
    """Nodes and constants of one graph, named <prefix>_<n>: no step-graph name (those
    start with "/" or "onnx::") and no name of the other graph clashes."""

    def __init__(self, prefix: str):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.prefix, self.nodes, self.count = prefix, [], 0

    def name(self) -> str:
        self.count += 1
        return f"{self.prefix}_{self.count}"

    def const(self, value) -> str:
        out = self.name()
        tensor = self.numpy_helper.from_array(np.asarray(value), out)
        self.nodes.append(self.helper.make_node("Constant", [], [out], value=tensor))
        return out

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs):
        names = [self.name() for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names


def masked(g: Builder, mask: str, logits: str) -> str:
    """-inf where `mask`, the logits elsewhere."""
    return g.op("Where", mask, g.const(-np.inf), logits)


def penalised(g: Builder, logits: str, seen: str, penalty: float) -> str:
    """CTRL's penalty on the seen tokens: l / r if l > 0 else l * r."""
    r = g.const(np.float64(penalty))
    hit = g.op("Where", g.op("Greater", logits, g.const(np.float64(0.0))),
               g.op("Div", logits, r), g.op("Mul", logits, r))
    return g.op("Where", seen, hit, logits)


def top_k(g: Builder, logits: str, k: int) -> str:
    """-inf below the k-th largest logit (`top_k_filter`)."""
    values, _ = g.op("TopK", logits, g.const(np.array([k], dtype=np.int64)), outputs=2)
    kth = g.op("Gather", values, g.const(np.array([k - 1], dtype=np.int64)), axis=1)
    return masked(g, g.op("Less", logits, kth), logits)


def softmax(g: Builder, logits: str) -> str:
    """exp(l - max) / sum, as `seqlm.decoding.sampling.draw` and `softmax` compute it."""
    shifted = g.op("Exp", g.op("Sub", logits, g.op("ReduceMax", logits, keepdims=1)))
    return g.op("Div", shifted, g.op("ReduceSum", shifted, keepdims=1))


def top_p(g: Builder, logits: str, p: float, vocab: int) -> str:
    """-inf outside the smallest most probable set whose mass reaches p (`top_p_filter`:
    a token stays while the mass before it is below p)."""
    ordered, order = g.op("TopK", logits, g.const(np.array([vocab], dtype=np.int64)),
                          outputs=2)  # descending, ties by lower index: a stable argsort
    probs = softmax(g, ordered)
    before = g.op("Sub", g.op("CumSum", probs, g.const(np.int64(1))), probs)
    drop_sorted = g.op("GreaterOrEqual", before, g.const(np.float64(p)))
    drop = g.op("ScatterElements", g.const(np.zeros((1, vocab), dtype=bool)), order,
                drop_sorted, axis=1)
    return masked(g, drop, logits)


def drawn(g: Builder, logits: str, uniform: str, vocab: int) -> str:
    """The inverse-CDF draw (`draw`): how many CDF entries are <= u * total, at most V-1."""
    cdf = g.op("CumSum", softmax(g, logits), g.const(np.int64(1)))
    total = g.op("Gather", cdf, g.const(np.array([vocab - 1], dtype=np.int64)), axis=1)
    below = g.op("LessOrEqual", cdf, g.op("Mul", uniform, total))  # (1, V)
    index = g.op("ReduceSum", g.op("Cast", below, to=I64),
                 g.const(np.array([1], dtype=np.int64)), keepdims=0)  # (1,)
    return g.op("Min", index, g.const(np.array([vocab - 1], dtype=np.int64)))


def rule_nodes(g: Builder, logits32: str, seen: str | None, uniform: str,
               rule: SamplingRule, vocab: int) -> str:
    """The token (1,) int64 `choose` picks from logits (1, V) float32; the rule's values
    stay (1, V), the masks (V,) broadcast."""
    logits = g.op("Cast", logits32, to=F64)  # float64, as `floats` makes them
    banned = np.zeros(vocab, dtype=bool)
    banned[list(rule.banned)] = True
    logits = masked(g, g.const(banned), logits)
    if seen is not None:
        logits = penalised(g, logits, seen, rule.repetition_penalty)
    if rule.temperature == 0:
        return g.op("ArgMax", logits, axis=1, keepdims=0)  # the first maximum, as np.argmax
    if rule.temperature != 1.0:
        logits = g.op("Div", logits, g.const(np.float64(rule.temperature)))
    if rule.top_k is not None and rule.top_k < vocab:
        logits = top_k(g, logits, rule.top_k)
    if rule.top_p is not None and rule.top_p < 1.0:
        logits = top_p(g, logits, rule.top_p, vocab)
    return drawn(g, logits, uniform, vocab)


def uses_seen(rule: SamplingRule) -> bool:
    return rule.repetition_penalty != 1.0
