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


def constants(nodes) -> dict:
    """Output name -> value of every Constant node."""
    from onnx import numpy_helper

    return {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in nodes
            if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"}


def layer_wiring(nodes, state_names: list[str], layers: int):
    """How the step reads and writes its stacked state (L, B, H) per layer: ({Gather output:
    (state, layer)}, {(state, layer): the new (B, H) value}, the indices of those Gather,
    Unsqueeze and Concat nodes), or None where the graph does not (another exporter). The
    loop then carries each layer's (1, H) and skips the ~10 restacking nodes per token."""
    const, reads, writes, dropped = constants(nodes), {}, {}, set()
    made = {o: i for i, n in enumerate(nodes) for o in n.output}
    for i, node in enumerate(nodes):
        used = [s for s in state_names if s in node.input]
        if used:
            index = const.get(node.input[1]) if len(node.input) == 2 else None
            if node.op_type != "Gather" or node.input[0] != used[0] or index is None \
                    or index.ndim != 0 or any(a.i != 0 for a in node.attribute):
                return None
            reads[node.output[0]] = (used[0], int(index))
            dropped.add(i)
    for state in state_names:
        concat = nodes[made[f"{state}_out"]] if f"{state}_out" in made else None
        if concat is None or concat.op_type != "Concat" or len(concat.input) != layers:
            return None
        dropped.add(made[concat.output[0]])
        for layer, name in enumerate(concat.input):
            unsqueeze = nodes[made.get(name, 0)]
            if unsqueeze.op_type != "Unsqueeze" or unsqueeze.output[0] != name or \
                    list(const.get(unsqueeze.input[1], [-1])) != [0]:
                return None
            writes[(state, layer)] = unsqueeze.input[0]
            dropped.add(made[name])
    kept = {name for i, n in enumerate(nodes) if i not in dropped for name in n.input}
    if any(nodes[i].op_type == "Unsqueeze" and nodes[i].output[0] in kept for i in dropped):
        return None  # a stacked value read elsewhere
    return reads, writes, dropped


class Carried:
    """The values the Loop carries: (outer input, body input, body output, outer output,
    elem type, shape) each; `outer.nodes` / `after` the outer graph's nodes that split the
    stacked state into layers before the Loop and restack it after."""

    def __init__(self, step, state_names: list[str], vocab: int, seen: bool, wiring):
        shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
                  for v in step.graph.input}
        self.rows = [("logits", "body_logits", "body_logits_out", "logits_out", 1,
                      [1, vocab])]
        self.outer, self.after = Builder("split"), []
        for state in state_names:
            layers, _, hidden = shapes[state]
            if wiring is None:
                self.rows.append((state, f"body_{state}", f"body_{state}_out", f"{state}_out",
                                  1, [layers, 1, hidden]))
                continue
            parts = self.outer.op("Split", state, axis=0, num_outputs=layers, outputs=layers)
            parts = [parts] if layers == 1 else parts
            ends = []
            for layer, part in enumerate(parts):
                flat = self.outer.op("Squeeze", part, self.outer.const(np.array([0])))
                ends.append(f"{state}_{layer}_end")
                self.rows.append((flat, f"body_{state}_{layer}", wiring[1][(state, layer)],
                                  ends[-1], 1, [1, hidden]))
            split = len(self.outer.nodes)
            self.outer.nodes.append(self.outer.helper.make_node("Concat", [
                self.outer.op("Unsqueeze", e, self.outer.const(np.array([0]))) for e in ends],
                [f"{state}_out"], axis=0))
            self.after += self.outer.nodes[split:]  # they read the Loop's outputs
            del self.outer.nodes[split:]
        if seen:
            self.rows.append(("seen", "body_seen", None, "seen_out", BOOL, [vocab]))


def body_graph(step, rule: SamplingRule, carried: Carried, state_names: list[str],
               wiring, vocab: int):
    """The Loop body: (iteration, cond, *carried) -> (cond, *carried, token); the uniforms
    are read from the outer graph."""
    g = Builder("body")
    helper = g.helper
    seen = "body_seen" if uses_seen(rule) else None
    uniform = g.op("Gather", "uniforms", "body_iteration")  # scalar float64
    token = rule_nodes(g, "body_logits", seen, uniform, rule, vocab)
    renamed = {"tokens": token, "logits": "body_logits_out",
               **{n: f"body_{n}" for n in state_names},
               **{f"{n}_out": f"body_{n}_out" for n in state_names}}
    if wiring is not None:
        renamed.update({read: f"body_{s}_{layer}" for read, (s, layer) in wiring[0].items()})
    for i, node in enumerate(step.graph.node):  # the step, its inputs and outputs renamed
        if wiring is not None and i in wiring[2]:
            continue
        copy = type(node)()
        copy.CopyFrom(node)
        copy.input[:] = [renamed.get(i, i) for i in node.input]
        copy.output[:] = [renamed.get(o, o) for o in node.output]
        g.nodes.append(copy)
    outs = [row[2] for row in carried.rows]
    if seen is not None:
        hit = g.op("Equal", g.const(np.arange(vocab, dtype=np.int64)), token)
        outs[-1] = g.op("Or", seen, hit)
    g.nodes.append(helper.make_node("Identity", ["body_cond"], ["body_cond_out"]))
    g.nodes.append(helper.make_node("Identity", [token], ["body_token"]))
    inputs = [helper.make_tensor_value_info("body_iteration", I64, []),
              helper.make_tensor_value_info("body_cond", BOOL, []),
              *(helper.make_tensor_value_info(r[1], r[4], r[5]) for r in carried.rows)]
    outputs = [helper.make_tensor_value_info("body_cond_out", BOOL, []),
               *(helper.make_tensor_value_info(o, r[4], r[5])
                 for o, r in zip(outs, carried.rows, strict=True)),
               helper.make_tensor_value_info("body_token", I64, [1])]
    read = {name for node in g.nodes for name in node.input}  # the restacking's constants
    nodes = [n for n in g.nodes if n.op_type != "Constant" or n.output[0] in read]  # go
    return helper.make_graph(nodes, "generation_step", inputs, outputs)


def generation_bytes(step_bytes: bytes, rule: SamplingRule, state_names: list[str],
                     vocab: int) -> bytes:
    """The generation graph (this module's docstring) of an LM's step graph, for `rule`."""
    import onnx
    from onnx import helper

    step = onnx.load_from_string(step_bytes)
    layers = step.graph.input[1].type.tensor_type.shape.dim[0].dim_value
    wiring = layer_wiring(list(step.graph.node), state_names, layers)
    carried = Carried(step, state_names, vocab, uses_seen(rule), wiring)
    g = Builder("outer")
    trip_count = g.op("Squeeze", g.op("Shape", "uniforms"))  # K
    g.nodes.append(helper.make_node(
        "Loop", [trip_count, "", *(r[0] for r in carried.rows)],
        [*(r[3] for r in carried.rows), "tokens"],
        body=body_graph(step, rule, carried, state_names, wiring, vocab)))
    info = helper.make_tensor_value_info
    stacked = {s: [d.dim_value or "batch" for d in v.type.tensor_type.shape.dim]
               for s, v in zip(state_names, step.graph.input[1:], strict=True)}
    inputs = ["logits", *state_names, *(["seen"] if uses_seen(rule) else [])]
    types = {"logits": (1, [1, vocab]), "seen": (BOOL, [vocab]),
             **{s: (1, [stacked[s][0], 1, stacked[s][2]]) for s in state_names}}
    graph = helper.make_graph(
        [*carried.outer.nodes, *g.nodes, *carried.after], "generation",
        [*(info(n, *types[n]) for n in inputs), info("uniforms", F64, ["K"])],
        [*(info(f"{n}_out", *types[n]) for n in inputs), info("tokens", I64, ["K", 1])],
        initializer=list(step.graph.initializer))  # weights the body reads from outside
    model = helper.make_model(graph, opset_imports=list(step.opset_import))
    model.ir_version = step.ir_version
    return model.SerializeToString()
