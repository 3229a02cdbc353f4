"""`seqlm.mix` and `seqlm mix`: interpolate n-gram models, ∞-gram indexes and neural runs.

A component is named by a spec: `arpa:PATH` (or a path ending in .arpa), `binary:PATH`,
`index:PATH` (or .idx, an ∞-gram index; `MixConfig.min_counts` adds its denser levels),
`smoothed:PATH` (the same index as a smoothed ∞-gram, its parameters fitted on dev) or
`run:DIR` (a trained language model, scored
statefully token by token here, since `seqlm.ngram` never imports torch). The weights are
fitted by EM on one split of a corpus (`MixConfig.dev_split`) and every model and the mixture
are scored on another (`test_split`): `seqlm.ngram.mixture` holds the arithmetic.
`write_static_mix` writes n-gram components as one ARPA file (`seqlm.ngram.static_mix`).
Leaves out: mixing seq2seq models, GPU batching of the neural scorer.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlm.config import MixConfig
from seqlm.errors import SeqlmError
from seqlm.ngram.mixture import InfiniGramScorer, MixReport, NgramScorer
from seqlm.ngram.mixture import mix as mix_scorers

KINDS = ("arpa", "binary", "index", "smoothed", "run")


def parse_spec(spec: str) -> tuple[str, str]:
    """'arpa:m.arpa' -> ('arpa', 'm.arpa'); a bare path by its suffix or a run folder."""
    kind, sep, path = spec.partition(":")
    if sep and kind in KINDS:
        return kind, path
    p = Path(spec)
    guess = {".arpa": "arpa", ".idx": "index", ".bin": "binary"}.get(p.suffix)
    if guess is None and p.is_dir():
        guess = "run"
    if guess is None:
        raise SeqlmError(f"cannot tell what model {spec!r} is: prefix it with "
                         f"{', '.join(k + ':' for k in KINDS)}")
    return guess, spec


@dataclass
class NeuralScorer:
    """A trained recurrent LM (`seqlm.load`): log p of every token but the first, statefully,
    in windows of its training length."""

    lm: object
    name: str = "neural"

    @property
    def unit(self) -> str:
        return self.lm.unit

    def token_logprobs(self, text: str) -> np.ndarray:
        """Kept for the last two texts (a mixture scores its dev and test texts, maybe twice)."""
        kept = self.__dict__.setdefault("_kept", {})
        if text not in kept:
            if len(kept) >= 2:
                kept.pop(next(iter(kept)))
            kept[text] = self.score_tokens(text)
        return kept[text]

    def score_tokens(self, text: str) -> np.ndarray:
        import torch

        from seqlm.data.lm_data import encode_text

        if text and not text.endswith("\n"):
            text += "\n"  # the n-gram stream ends every line, the last one too
        ids = torch.as_tensor(encode_text(text, self.unit, self.lm.vocab).ids, dtype=torch.long)
        out = np.full(len(ids), np.nan)
        window, state = self.lm.loaded.config.window, None
        model = self.lm.model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            for a in range(0, len(ids) - 1, window):
                y = ids[a + 1:a + 1 + window]
                x = ids[a:a + len(y)][None].to(device)
                logits, _, state = model(x, None, state)
                lp = torch.log_softmax(logits[0].float(), dim=-1)
                out[a + 1:a + 1 + len(y)] = lp.gather(1, y[:, None].to(device))[:, 0].cpu()
        return out

    def vocabulary(self) -> set[str] | None:
        from seqlm.data.vocab import SPECIALS

        return set(self.lm.vocab.itos) - set(SPECIALS)


def load_component(spec: str, device: str = "cpu"):
    """The scorer of one spec."""
    kind, path = parse_spec(spec)
    name = f"{Path(path).name}"
    if kind == "index":
        from seqlm.ngram.infinigram import InfiniGram

        return InfiniGramScorer(InfiniGram(path), name)
    if kind == "smoothed":
        from seqlm.ngram.infinigram import InfiniGram
        from seqlm.ngram.smoothed_infinigram import SmoothedInfiniGram, SmoothedInfiniGramScorer

        return SmoothedInfiniGramScorer(SmoothedInfiniGram(InfiniGram(path)), f"{name} smoothed")
    if kind == "run":
        from seqlm.api import LanguageModel, load

        lm = load(path, device)
        if not isinstance(lm, LanguageModel):
            raise SeqlmError(f"{path} is a seq2seq run: mix language models only")
        return NeuralScorer(lm, name)
    return NgramScorer(load_ngram(kind, path), name)


def load_ngram(kind: str, path: str):
    from seqlm.ngram import read_arpa
    from seqlm.ngram.binary import load_binary

    if not Path(path).is_file():
        raise SeqlmError(f"no model file at {path}: train one with `seqlm ngram train`")
    return load_binary(path) if kind == "binary" else read_arpa(path)


def with_dense_levels(scorers: list, min_counts: tuple[int, ...]) -> list:
    """Each ∞-gram followed by its estimates from suffixes that ≥ k tokens followed, one
    component per k (`MixConfig.min_counts`)."""
    if not min_counts:
        return scorers
    if not any(isinstance(s, InfiniGramScorer) for s in scorers):
        raise SeqlmError("--min-counts adds levels of an ∞-gram, and no model is one: add an "
                         "index:PATH (built with `seqlm ngram index`) or drop --min-counts")
    out = []
    for s in scorers:
        out.append(s)
        if isinstance(s, InfiniGramScorer):
            out += [InfiniGramScorer(s.model, f"{s.name} ≥{k}", k) for k in min_counts]
    return out


def unique_names(scorers: list) -> list:
    seen: dict[str, int] = {}
    for s in scorers:
        seen[s.name] = seen.get(s.name, 0) + 1
        if seen[s.name] > 1:
            s.name = f"{s.name}#{seen[s.name]}"
    return scorers


def mix(models: list[str], config: MixConfig | None = None, weights=None,
        dev_text: str | None = None, test_text: str | None = None,
        device: str = "cpu") -> MixReport:
    """Interpolate `models` (specs, module docstring): weights by EM on the dev text (default:
    `config.dev_split` of `config.corpus`) unless given; scores on the test text."""
    config = config or MixConfig()
    scorers = with_dense_levels([load_component(m, device) for m in models], config.min_counts)
    scorers = unique_names(scorers)
    if dev_text is None or test_text is None:
        from seqlm.data.corpora import load_corpus

        corpus = load_corpus(config.corpus)
        dev_text = corpus.text(config.dev_split) if dev_text is None else dev_text
        test_text = corpus.text(config.test_split) if test_text is None else test_text
    return mix_scorers(scorers, dev_text if weights is None else "", test_text, weights,
                       config.iterations, config.tolerance, config.by_context)


def check_static(models: list[str]) -> list[str]:
    """The specs, if every one is an n-gram model; else a one-line error."""
    for spec in models:
        if parse_spec(spec)[0] not in ("arpa", "binary"):
            raise SeqlmError(f"{spec} is not an n-gram model: static mixing (--write-arpa) "
                             "takes ARPA or binary models only; mix the others dynamically")
    return models


def write_static_mix(models: list[str], weights, out: str | Path) -> dict:
    """The n-gram models (ARPA or binary specs) mixed with `weights` into one ARPA file."""
    from seqlm.ngram.arpa import write_arpa
    from seqlm.ngram.static_mix import static_mix

    loaded = [load_ngram(*parse_spec(spec)) for spec in check_static(models)]
    model = static_mix(loaded, weights)
    write_arpa(model, out)
    return {"arpa": str(out), "order": model.order, "counts": model.sizes(),
            "weights": list(map(float, weights))}
