"""`seqlm by-hand`: a small NumPy LM trained on conjugation chains, then read token by token.

The model trains for a few seconds (or loads an .npz) on the conjugation chains of the
`verbs` corpus ("i work , you work , he works ."): a line is a chain when it starts with
"i ", then has ", you " and ", he ". Chains are a third of the corpus; training on them
alone puts the one thing the walk shows, carrying the verb from "i work" to "he ___", in
every sentence, so the model learns it in seconds rather than minutes. (`sentences="all"`
trains on every training sentence.) Then `walkthrough.walk` reads the prompt and shows, per
token, the state, the gates and the top next tokens. A run directory keeps the weights
(`model.npz`, loadable with `--load`), the walk and the training numbers. Leaves out:
validation curves (the lab's NumPy-vs-torch steps measure those).
"""

from dataclasses import asdict, dataclass, replace

from seqlm.config import ByHandConfig
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.data.tokenizers import get_tokenizer
from seqlm.data.vocab import EOS, Vocab
from seqlm.decoding.sampling import SamplingRule, generate
from seqlm.errors import SeqlmError
from seqlm.lab.steps import LabContext, LabSection
from seqlm.progress import ProgressCallback
from seqlm.reference.lm import ReferenceLM
from seqlm.reference.tbptt import train
from seqlm.reference.walkthrough import WalkStep, check_prompt, walk
from seqlm.reference.weights import load_weights, save_weights
from seqlm.runs.run import Run


@dataclass
class ByHand:
    model: ReferenceLM
    vocab: Vocab
    steps: list[WalkStep]
    training: dict  # steps, tokens, seconds, final loss; empty when loaded
    sample: list[str]  # tokens drawn after the prompt (empty unless asked for)


def is_chain(line: str) -> bool:
    """"i work , you work , he works ." and its kin in every tense and length."""
    return line.startswith("i ") and " , you " in line and " , he " in line


def training_text(corpus: Corpus, sentences: str) -> str:
    text = corpus.text("train")
    if sentences == "all":
        return text
    chains = [line for line in text.splitlines() if is_chain(line)]
    if not chains:
        raise SeqlmError(f"the train split of {corpus.name} has no conjugation chains "
                         "(\"i work , you work , he works .\"): use --corpus verbs or "
                         "--sentences all")
    return "".join(line + "\n" for line in chains)


def train_by_hand(config: ByHandConfig, corpus: Corpus,
                  progress: ProgressCallback | None = None) -> tuple[ReferenceLM, Vocab, dict]:
    """Build the vocabulary from the training sentences, check the prompt against it, train."""
    tokens = get_tokenizer("word").tokenize(training_text(corpus, config.sentences))
    vocab = Vocab.build(tokens)
    check_prompt(config.prompt.split(), vocab)  # fail before training, not after
    model = ReferenceLM(replace(config.model, vocab_size=len(vocab)))
    result = train(model, vocab.encode(tokens), config.train, progress, task="train by-hand")
    return model, vocab, {"steps": result.steps, "tokens": result.tokens,
                          "seconds": round(result.seconds, 3),
                          "final_loss_nats": round(result.recent_loss(), 4),
                          "num_params": model.num_params(), "vocab_size": len(vocab)}


def load_by_hand(path: str) -> tuple[ReferenceLM, Vocab]:
    model, meta = load_weights(path)
    if "vocab" not in meta:
        raise SeqlmError(f"{path} holds no vocabulary: give a model.npz written by seqlm by-hand")
    return model, Vocab.from_dict(meta["vocab"])


def by_hand(config: ByHandConfig, corpus: Corpus | None = None,
            progress: ProgressCallback | None = None) -> ByHand:
    """Train (or load) the model and walk the prompt. `corpus` is loaded if not given."""
    if config.load:
        model, vocab = load_by_hand(config.load)
        training = {}
    else:
        corpus = corpus or load_corpus(config.corpus, progress)
        model, vocab, training = train_by_hand(config, corpus, progress)
    tokens = config.prompt.split()
    steps = walk(model, vocab, tokens, config.top_k, config.show_units, config.digits)
    drawn = []
    if config.sample_tokens > 0:
        ids = generate(model, [int(i) for i in vocab.encode([EOS, *tokens])],
                       config.sample_tokens, SamplingRule(config.temperature),
                       seed=config.model.seed)
        drawn = vocab.decode(ids)
    return ByHand(model, vocab, steps, training, drawn)


def run_by_hand(config: ByHandConfig, argv: list[str] | None = None,
                progress: ProgressCallback | None = None) -> tuple[Run, ByHand]:
    """`by_hand` into a run directory: manifest, walk, and the weights as `model.npz`."""
    check_prompt(config.prompt.split())  # before a run directory exists
    run = Run("by-hand", config, out=config.out, overwrite=config.overwrite, argv=argv,
              seed=config.model.seed)
    with run:
        corpus = None if config.load else load_corpus(config.corpus, progress)
        with run.timer("by_hand"):
            result = by_hand(config, corpus, progress)
        if corpus is not None:
            run.data["corpus"] = corpus.identity()
        save_weights(run.artifact("weights", "model.npz"), result.model,
                     {"vocab": result.vocab.to_dict(), "training": result.training})
        run.metrics.update(summary(result))
    return run, result


def summary(result: ByHand) -> dict:
    last = result.steps[-1]
    return {"training": result.training, "walk": [asdict(s) for s in result.steps],
            "next_token": last.top[0][0], "next_token_prob": last.top[0][1],
            "sample": " ".join(result.sample)}


def text_table(steps: list[WalkStep], digits: int = 2) -> str:
    """The walk for a terminal: one block per token."""
    lines = []
    for i, s in enumerate(steps):
        top = "  ".join(f"{tok} {p:.3f}" for tok, p in s.top)
        lines.append(f"[{i}] {s.token!r:<12} |h| = {s.h_norm:<7} h = {fmt(s.h, digits)}")
        lines += [f"    {name:<2} = {fmt(v, digits)}" for name, v in s.vectors.items()]
        lines.append(f"    next: {top}")
    return "\n".join(lines)


def markdown_table(steps: list[WalkStep], digits: int = 2) -> str:
    names = list(steps[0].vectors) if steps else []
    head = ["#", "token", "‖h‖", "h (first units)", *names, "top next tokens"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, s in enumerate(steps):
        top = ", ".join(f"{tok} {p:.2f}" for tok, p in s.top)
        cells = [str(i), f"`{s.token}`", f"{s.h_norm:.2f}", fmt(s.h, digits),
                 *[fmt(s.vectors[n], digits) for n in names], top]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def fmt(values: list[float], digits: int) -> str:
    return "[" + " ".join(f"{v:+.{digits}f}" for v in values) + "]"


def lab_config(quick: bool, seed: int, data_dir: str | None) -> ByHandConfig:
    """The lab's by-hand run: `seqlm by-hand`'s defaults (a fixed number of updates, so it is
    reproducible); --quick trains the GRU for 300 of them at a constant rate, which it needs
    to carry the verb."""
    base = ByHandConfig()
    return replace(base, corpus=replace(base.corpus, name="verbs", seed=seed, data_dir=data_dir),
                   model=replace(base.model, seed=seed),
                   train=replace(base.train, seed=seed, steps=300, decay="constant") if quick
                   else replace(base.train, seed=seed))


def lab_step(ctx: LabContext) -> LabSection:
    config = lab_config(ctx.config.quick, ctx.config.seed, ctx.config.data_dir)
    result = by_hand(config, ctx.corpus("verbs"), ctx.progress)
    save_weights(ctx.run.artifact("by_hand_weights", "by-hand/model.npz"), result.model,
                 {"vocab": result.vocab.to_dict(), "training": result.training})
    t, m = result.training, summary(result)
    verdict = ("the model carries the verb across the chain" if m["next_token"] == "works"
               else "the model has not yet learnt to carry the verb: train longer")
    text = [
        f"A NumPy {config.model.cell.upper()} ({t['num_params']:,} parameters, hand-written "
        f"BPTT, {t['vocab_size']} words) trained for {t['steps']} updates ({t['seconds']:.1f} s, "
        f"final training loss {t['final_loss_nats']:.3f} nats) on the conjugation chains of "
        f"`verbs`, then read `{config.prompt}` one token at a time. Per token: the first "
        f"{config.show_units} units of h and of each gate, and the top {config.top_k} next "
        "tokens.", "", markdown_table(result.steps, config.digits), "",
        f"After `{result.steps[-1].token}` the top prediction is `{m['next_token']}` "
        f"(p = {m['next_token_prob']:.3f}): {verdict}. Weights: `by-hand/model.npz` "
        "(`seqlm by-hand --load` reads them).",
    ]
    return LabSection(title="By hand: a NumPy recurrent LM read token by token",
                      markdown="\n".join(text), metrics=m)
