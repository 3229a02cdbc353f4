"""An LM's generation loop as one ONNX graph: K tokens sampled per onnxruntime call.

Batch-1 sampling through the step graph pays, per token, onnxruntime's call (its feeds
checked, its outputs allocated and copied back), the Python sampling rule and the loop
around both: ~35 of the ~100 µs an LSTM 2x256 token took here (docs/export.md). Deployed
generation runs the loop inside the runtime instead; so does this graph. It is built from
the step graph `seqlm export --format onnx` wrote, for one `SamplingRule`, when sampling
starts (the file stays the step):

    inputs      logits (1, V) float32 after the text so far, state_0 .. state_k (L, 1, H),
                seen (V,) bool (the tokens of the text; only with a repetition penalty),
                uniforms (K,) float64 (one per token, from the sampler's generator)
    Loop K      token = the rule on logits (below); logits, state = the step on token;
                seen |= token
    outputs     tokens (K, 1) int64, logits_out, state_i_out, seen_out: the next chunk's
                inputs

The rule is `seqlm.decoding.sampling.choose` in float64 graph ops, each skipped where
`choose` skips it: banned ids -> -inf (Where), the repetition penalty (Where over the seen
mask), argmax for temperature 0 (no uniform read), l / tau, top-k (TopK, then Where
below the k-th value), top-p (TopK over all V sorted, exp / sum, CumSum, the drop mask
scattered back), and the inverse-CDF draw: softmax as `draw` computes it, CumSum, the index
= how many CDF entries are <= u * cdf[-1] (`searchsorted(side="right")`). So for a seed the
tokens are those of the step path; the one difference is summation order (onnxruntime's
ReduceSum is not NumPy's pairwise sum) and exp's last bit, which move a CDF entry by about
1e-16 and could flip a draw whose uniform lands that close to a boundary (never seen in the
tests; tests/export/test_onnx_loop.py compares hundreds of tokens per cell and option).
Leaves out: non-finite logits (`draw` takes the max over the finite ones; here a +inf or
NaN logit gives NaN probabilities), batch > 1, per-token log-probabilities (`generate`
reports none).
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
    kth = g.op("Gather", values, g.const(np.array([k - 1], dtype=np.int64)))
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
    before = g.op("Sub", g.op("CumSum", probs, g.const(np.int64(0))), probs)
    drop_sorted = g.op("GreaterOrEqual", before, g.const(np.float64(p)))
    drop = g.op("ScatterElements", g.const(np.zeros(vocab, dtype=bool)), order, drop_sorted)
    return masked(g, drop, logits)


def drawn(g: Builder, logits: str, uniform: str, vocab: int) -> str:
    """The inverse-CDF draw (`draw`): how many CDF entries are <= u * total, at most V-1."""
    cdf = g.op("CumSum", softmax(g, logits), g.const(np.int64(0)))
    total = g.op("Gather", cdf, g.const(np.array([vocab - 1], dtype=np.int64)))
    below = g.op("LessOrEqual", cdf, g.op("Mul", uniform, total))
    index = g.op("ReduceSum", g.op("Cast", below, to=I64), keepdims=1)  # (1,)
    return g.op("Min", index, g.const(np.array([vocab - 1], dtype=np.int64)))


def rule_nodes(g: Builder, logits32: str, seen: str | None, uniform: str,
               rule: SamplingRule, vocab: int) -> str:
    """The token (1,) int64 `choose` picks from logits (1, V) float32."""
    logits = g.op("Cast", g.op("Reshape", logits32, g.const(np.array([-1], dtype=np.int64))),
                  to=F64)  # (V,) float64, as `floats` makes them
    banned = np.zeros(vocab, dtype=bool)
    banned[list(rule.banned)] = True
    logits = masked(g, g.const(banned), logits)
    if seen is not None:
        logits = penalised(g, logits, seen, rule.repetition_penalty)
    if rule.temperature == 0:
        return g.op("ArgMax", logits, axis=0, keepdims=1)  # the first maximum, as np.argmax
    if rule.temperature != 1.0:
        logits = g.op("Div", logits, g.const(np.float64(rule.temperature)))
    if rule.top_k is not None and rule.top_k < vocab:
        logits = top_k(g, logits, rule.top_k)
    if rule.top_p is not None and rule.top_p < 1.0:
        logits = top_p(g, logits, rule.top_p, vocab)
    return drawn(g, logits, uniform, vocab)


def uses_seen(rule: SamplingRule) -> bool:
    return rule.repetition_penalty != 1.0


def body_graph(step, rule: SamplingRule, state_names: list[str], vocab: int):
    """The Loop body: (iteration, cond, logits, *state[, seen]) -> (cond, logits, *state
    [, seen], token); the uniforms are read from the outer graph."""
    g = Builder("body")
    helper = g.helper
    seen = "body_seen" if uses_seen(rule) else None
    uniform = g.op("Gather", "uniforms", "body_iteration")  # scalar float64
    token = rule_nodes(g, "body_logits", seen, uniform, rule, vocab)
    renamed = {"tokens": token, "logits": "body_logits_out",
               **{n: f"body_{n}" for n in state_names},
               **{f"{n}_out": f"body_{n}_out" for n in state_names}}
    for node in step.graph.node:  # the step, its inputs and outputs renamed
        copy = type(node)()
        copy.CopyFrom(node)
        copy.input[:] = [renamed.get(i, i) for i in node.input]
        copy.output[:] = [renamed.get(o, o) for o in node.output]
        g.nodes.append(copy)
    carried_out = ["body_logits_out", *(f"body_{n}_out" for n in state_names)]
    if seen is not None:
        hit = g.op("Equal", g.const(np.arange(vocab, dtype=np.int64)), token)
        carried_out.append(g.op("Or", seen, hit))
    g.nodes.append(helper.make_node("Identity", ["body_cond"], ["body_cond_out"]))
    g.nodes.append(helper.make_node("Identity", [token], ["body_token"]))
    carried_in = ["body_logits", *(f"body_{n}" for n in state_names),
                  *([seen] if seen else [])]
    types = loop_types(step, state_names, vocab, seen is not None)
    inputs = [helper.make_tensor_value_info("body_iteration", I64, []),
              helper.make_tensor_value_info("body_cond", BOOL, []),
              *(helper.make_tensor_value_info(n, *t) for n, t in zip(carried_in, types,
                                                                       strict=True))]
    outputs = [helper.make_tensor_value_info("body_cond_out", BOOL, []),
               *(helper.make_tensor_value_info(n, *t) for n, t in zip(carried_out, types,
                                                                        strict=True)),
               helper.make_tensor_value_info("body_token", I64, [1])]
    return helper.make_graph(g.nodes, "generation_step", inputs, outputs)


def loop_types(step, state_names: list[str], vocab: int, seen: bool) -> list[tuple]:
    """(elem type, shape) of each carried value: logits, the state, the seen mask."""
    shapes = {v.name: [d.dim_value or None for d in v.type.tensor_type.shape.dim]
              for v in step.graph.input}
    return [(1, [1, vocab]), *((1, [shapes[n][0], 1, shapes[n][2]]) for n in state_names),
            *([(BOOL, [vocab])] if seen else [])]


def generation_bytes(step_bytes: bytes, rule: SamplingRule, state_names: list[str],
                     vocab: int) -> bytes:
    """The generation graph (this module's docstring) of an LM's step graph, for `rule`."""
    import onnx
    from onnx import helper

    step = onnx.load_from_string(step_bytes)
    seen = uses_seen(rule)
    carried = ["logits", *state_names, *(["seen"] if seen else [])]
    types = loop_types(step, state_names, vocab, seen)
    g = Builder("outer")
    trips = g.op("Shape", "uniforms")  # (1,) int64: K
    trip_count = g.op("Squeeze", trips)
    outputs = [f"{n}_out" for n in carried]
    g.nodes.append(helper.make_node(
        "Loop", [trip_count, "", *carried], [*outputs, "tokens"],
        body=body_graph(step, rule, state_names, vocab)))
    graph = helper.make_graph(
        g.nodes, "generation",
        [*(helper.make_tensor_value_info(n, *t) for n, t in zip(carried, types, strict=True)),
         helper.make_tensor_value_info("uniforms", F64, ["K"])],
        [*(helper.make_tensor_value_info(n, *t) for n, t in zip(outputs, types, strict=True)),
         helper.make_tensor_value_info("tokens", I64, ["K", 1])],
        initializer=list(step.graph.initializer))  # weights the body reads from outside
    model = helper.make_model(graph, opset_imports=list(step.opset_import))
    model.ir_version = step.ir_version
    return model.SerializeToString()
