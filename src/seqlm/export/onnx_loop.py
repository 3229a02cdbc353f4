"""An LM's generation loop as one ONNX graph: K tokens sampled per onnxruntime call.

Batch-1 sampling through the step graph pays, per token, onnxruntime's call (its feeds
checked, its outputs allocated and copied back), the Python sampling rule and the loop
around both: ~35 of the ~100 µs an LSTM 2x256 token took here (docs/export.md). Deployed
generation runs the loop inside the runtime instead; so does this graph. It is built from
the step graph `seqlm export --format onnx` wrote, for one `SamplingRule`, when sampling
starts (the file stays the step):

    inputs      logits (1, V) float32 after the text so far, state_0 .. state_k (L, 1, H),
                seen (V,) bool (the tokens of the text; only with a repetition penalty),
                uniforms (K,) float64 (one per token, from the sampler's generator;
                K a multiple of U)
    Loop K / U  U times: token = the rule on logits (`seqlm.export.onnx_rule`); logits,
                state = the step on token; seen |= token
    outputs     tokens (K, 1) int64, logits_out, state_i_out, seen_out: the next chunk's
                inputs

Per token the loop runs the step's nodes and the rule's, nothing else: each layer's state
(1, H) is carried apart (the step's Gather per layer and Unsqueeze + Concat restacking,
~10 nodes, run once per call instead, where the graph has them: `layer_wiring`), the step's
constants are the outer graph's initializers (one copy of the weights whatever U), and the
body holds U steps (ONNX_UNROLL), so the Loop's own per-iteration work and the token's
output are paid once per U tokens. For a seed the tokens are those of the step path with
the rule in NumPy (`onnx_rule` says where float64 rounding could differ;
tests/export/test_onnx_loop.py compares hundreds of tokens per cell and option).
Leaves out: batch > 1, per-token log-probabilities (`generate` reports none).
"""

import numpy as np

from seqlm.decoding.sampling import SamplingRule
from seqlm.export.onnx_rule import BOOL, F64, I64, Builder, rule_nodes, uses_seen


def constants(nodes) -> dict:
    """Output name -> value of every Constant node that holds a tensor."""
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
    """What the Loop carries, one row per value: (role, outer input, body input, the step's
    output name for it, outer output, elem type, shape); roles "logits", (state, layer) or
    state, "seen". `outer.nodes` split the stacked state into layers before the Loop,
    `after` restack it."""

    def __init__(self, step, state_names: list[str], vocab: int, seen: bool, wiring):
        shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
                  for v in step.graph.input}
        self.rows = [("logits", "logits", "body_logits", "logits", "logits_out", 1,
                      [1, vocab])]
        self.outer, self.after = Builder("split"), []
        for state in state_names:
            layers, _, hidden = shapes[state]
            if wiring is None:
                self.rows.append((state, state, f"body_{state}", f"{state}_out",
                                  f"{state}_out", 1, [layers, 1, hidden]))
                continue
            parts = self.outer.op("Split", state, axis=0, num_outputs=layers, outputs=layers)
            parts = [parts] if layers == 1 else parts
            ends = []
            for layer, part in enumerate(parts):
                flat = self.outer.op("Squeeze", part, self.outer.const(np.array([0])))
                ends.append(f"{state}_{layer}_end")
                self.rows.append(((state, layer), flat, f"body_{state}_{layer}",
                                  wiring[1][(state, layer)], ends[-1], 1, [1, hidden]))
            split = len(self.outer.nodes)
            self.outer.nodes.append(self.outer.helper.make_node("Concat", [
                self.outer.op("Unsqueeze", e, self.outer.const(np.array([0]))) for e in ends],
                [f"{state}_out"], axis=0))
            self.after += self.outer.nodes[split:]  # they read the Loop's outputs
            del self.outer.nodes[split:]
        if seen:
            self.rows.append(("seen", "seen", "body_seen", None, "seen_out", BOOL, [vocab]))


def step_copy(g: Builder, nodes, wiring, current: dict, token: str, outer: set,
              carried: Carried, copy: int) -> None:
    """One more step in the body: its nodes, every value renamed <name>__<copy> but the
    outer graph's, reading `token` and the carried values `current` (role -> name), which
    it updates to its outputs."""
    reads = {"tokens": token}  # the step's inputs
    if wiring is None:
        reads.update({r[0]: current[r[0]] for r in carried.rows if r[0] in current
                      and r[0] not in ("logits", "seen")})
    else:
        reads.update({read: current[role] for read, role in wiring[0].items()})
    for node in nodes:
        clone = type(node)()
        clone.CopyFrom(node)
        clone.input[:] = [reads.get(i, i if i in outer or not i else f"{i}__{copy}")
                          for i in node.input]
        clone.output[:] = [f"{o}__{copy}" for o in node.output]
        clone.name = f"{node.name}__{copy}" if node.name else ""
        g.nodes.append(clone)
    for role, _, _, out, *_ in carried.rows:
        if out is not None:
            current[role] = f"{out}__{copy}"


def body_graph(step, rule: SamplingRule, carried: Carried, wiring, outer: set, vocab: int,
               unroll: int):
    """The Loop body: (iteration, cond, *carried) -> (cond, *carried, tokens (U,)); the
    uniforms (K / U, U) are read from the outer graph."""
    g = Builder("body")
    helper = g.helper
    nodes = [n for i, n in enumerate(step.graph.node) if n.output[0] not in outer
             and not (wiring is not None and i in wiring[2])]
    current = {row[0]: row[2] for row in carried.rows}
    row = g.op("Gather", "uniforms_rows", "body_iteration")  # (U,) float64
    uniforms = g.op("Split", row, axis=0, num_outputs=unroll, outputs=unroll)  # (1,) each
    uniforms = [uniforms] if unroll == 1 else uniforms
    tokens = []
    for copy, uniform in enumerate(uniforms):
        tokens.append(rule_nodes(g, current["logits"], current.get("seen"), uniform, rule,
                                 vocab))
        if "seen" in current:
            hit = g.op("Equal", g.const(np.arange(vocab, dtype=np.int64)), tokens[-1])
            current["seen"] = g.op("Or", current["seen"], hit)
        step_copy(g, nodes, wiring, current, tokens[-1], outer, carried, copy)
    g.nodes.append(helper.make_node("Identity", ["body_cond"], ["body_cond_out"]))
    g.nodes.append(helper.make_node("Concat", tokens, ["body_tokens"], axis=0))
    info = helper.make_tensor_value_info
    inputs = [info("body_iteration", I64, []), info("body_cond", BOOL, []),
              *(info(r[2], r[5], r[6]) for r in carried.rows)]
    outputs = [info("body_cond_out", BOOL, []),
               *(info(current[r[0]], r[5], r[6]) for r in carried.rows),
               info("body_tokens", I64, [unroll])]
    return helper.make_graph(g.nodes, "generation_steps", inputs, outputs)


def hoisted(step, wiring) -> list:
    """The step's initializers and its Constant nodes' tensors (but the restacking's,
    which the loop no longer reads), as the outer graph's initializers."""
    from onnx import numpy_helper

    read = {name for i, n in enumerate(step.graph.node)
            if not (wiring is not None and i in wiring[2]) for name in n.input}
    return [*step.graph.initializer,
            *(numpy_helper.from_array(value, name)
              for name, value in constants(step.graph.node).items() if name in read)]


def generation_bytes(step_bytes: bytes, rule: SamplingRule, state_names: list[str],
                     vocab: int, unroll: int = 1) -> bytes:
    """The generation graph (this module's docstring) of an LM's step graph, for `rule`,
    `unroll` steps per Loop iteration."""
    import onnx
    from onnx import helper

    step = onnx.load_from_string(step_bytes)
    layers = step.graph.input[1].type.tensor_type.shape.dim[0].dim_value
    wiring = layer_wiring(list(step.graph.node), state_names, layers)
    carried = Carried(step, state_names, vocab, uses_seen(rule), wiring)
    initializers = hoisted(step, wiring)
    outer = {t.name for t in initializers} | set(constants(step.graph.node))
    g = Builder("outer")
    g.nodes.append(helper.make_node("Reshape", ["uniforms", g.const(np.array([-1, unroll]))],
                                    ["uniforms_rows"]))
    trips = g.op("Gather", g.op("Shape", "uniforms_rows"), g.const(np.int64(0)))  # K / U
    g.nodes.append(helper.make_node(
        "Loop", [trips, "", *(r[1] for r in carried.rows)],
        [*(r[4] for r in carried.rows), "token_rows"],
        body=body_graph(step, rule, carried, wiring, outer, vocab, unroll)))
    g.nodes.append(helper.make_node("Reshape", ["token_rows", g.const(np.array([-1, 1]))],
                                    ["tokens"]))
    info = helper.make_tensor_value_info
    names = ["logits", *state_names, *(["seen"] if uses_seen(rule) else [])]
    stacked = {s: [d.dim_value for d in v.type.tensor_type.shape.dim]
               for s, v in zip(state_names, step.graph.input[1:], strict=True)}
    types = {"logits": (1, [1, vocab]), "seen": (BOOL, [vocab]),
             **{s: (1, [stacked[s][0], 1, stacked[s][2]]) for s in state_names}}
    graph = helper.make_graph(
        [*carried.outer.nodes, *g.nodes, *carried.after], "generation",
        [*(info(n, *types[n]) for n in names), info("uniforms", F64, ["K"])],
        [*(info(f"{n}_out", *types[n]) for n in names), info("tokens", I64, ["K", 1])],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=list(step.opset_import))
    model.functions.extend(step.functions)  # the dynamo exporter may call local functions
    model.ir_version = step.ir_version
    return model.SerializeToString()
