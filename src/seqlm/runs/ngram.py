"""n-gram runs: train, eval, sample and predict as library calls that write a run directory.

Each function takes an `NgramConfig`, opens a `Run` (manifest with config, data identity,
metrics, timings), does the work through `seqlm.ngram`, and returns the run with its results;
`seqlm ngram ...` only parses, calls one of them and prints. `train_run` builds in bounded
memory when `config.memory` says so and records the budget and the peak memory; `eval`,
`sample` and `predict` take a model from an ARPA file, a binary model, or train one on the
fly on the corpus's train split. `build_binary` converts an ARPA file (no run directory: it
neither trains nor evaluates). Leaves out: sweeps over orders or smoothings (the lab's
`seqlm.lab.ngram_baseline` runs those).
"""

from dataclasses import dataclass, replace
from pathlib import Path

from seqlm.config import NgramConfig
from seqlm.data.corpora import Corpus, load_corpus
from seqlm.errors import SeqlmError
from seqlm.ngram.budget import peak_rss_bytes
from seqlm.ngram.build import BuildReport, build
from seqlm.ngram.model import NgramModel, PerplexityReport
from seqlm.progress import ProgressCallback
from seqlm.runs.overwrite import check_output_file
from seqlm.runs.run import Run


@dataclass
class ModelSource:
    """Where a model comes from: an ARPA file, a binary model, or the corpus (trained)."""

    arpa: str | None = None
    binary: str | None = None

    def check(self) -> "ModelSource":
        if self.arpa and self.binary:
            raise SeqlmError("give --arpa or --binary, not both: one model is scored at a time")
        return self


def train_run(config: NgramConfig, out: str | Path | None = None, overwrite: bool = False,
              arpa: str | None = None, binary: str | None = None, text_file: str | None = None,
              argv: list[str] | None = None, progress: ProgressCallback | None = None,
              ) -> tuple[Run, BuildReport, str]:
    """Train on the corpus's train split (or a whole `text_file`, streamed) and write the ARPA
    file (default: model.arpa in the run directory, for smoothings ARPA can hold) and the
    binary model if asked. An empty `config.unit` means the corpus's own unit (word for a
    text file). Returns the run, the build report, and what was trained on. An output file
    that exists is replaced only with `overwrite`, and only if seqlm wrote it."""
    for path, flag in ((arpa, "--arpa"), (binary, "--binary")):
        if path is not None:
            check_output_file(path, overwrite, flag)
    with Run("ngram train", config, out=out, overwrite=overwrite, argv=argv) as run:
        if text_file is not None:
            path = Path(text_file)
            if not path.is_file():
                raise SeqlmError(f"{path} is not a file: give --text-file a UTF-8 text file")
            config = replace(config, unit=config.unit or "word")
            source, trained_on = path, str(path)
            run.data["text_file"] = {"path": str(path.resolve()), "bytes": path.stat().st_size}
        else:
            check_file_corpus(config)
            corpus = load_corpus(config.corpus, progress)
            config = replace(config, unit=config.unit or corpus.default_unit)
            source, trained_on = corpus.text("train"), f"{corpus.name} train"
            run.data[corpus.name] = corpus.identity()
        run.config = config
        if arpa is None and config.smoothing in ("mle", "kn", "mkn"):
            arpa = str(run.artifact("arpa", "model.arpa"))
        report = build(source, config, arpa, binary, progress)
        run.timings.update(report.seconds)
        run.metrics.update(report.info)
        run.metrics.update({"tokens": report.tokens, "sentences": report.sentences})
        run.extra["memory"] = report.memory
        run.extra.update({k: run.final(str(v)) for k, v in (("arpa", report.arpa),
                                                             ("binary", report.binary)) if v})
    if report.arpa:  # where the file is now, not the staging folder it was written in
        report = replace(report, arpa=run.final(str(report.arpa)))
    return run, report, trained_on


def check_file_corpus(config: NgramConfig) -> None:
    """A `file:` corpus is read whole before its train split is counted: under --memory, a
    file larger than the budget is refused (a device or pipe is refused where every text file
    is read, `seqlm.data.corpora.text.regular_file`)."""
    from seqlm.data.corpora import FILE_PREFIX
    from seqlm.ngram.budget import MemoryBudget, format_bytes

    if not config.corpus.name.startswith(FILE_PREFIX):
        return
    path = Path(config.corpus.name[len(FILE_PREFIX):]).expanduser()
    budget = MemoryBudget.of(config.memory)
    if budget.bounded and path.is_file() and path.stat().st_size > budget.limit:
        raise SeqlmError(f"--corpus {config.corpus.name} is read whole into memory "
                         f"({format_bytes(path.stat().st_size)}), past --memory "
                         f"{format_bytes(budget.limit)}: give --text-file {path} instead, which "
                         "streams the file (and trains on all of it)")


def load_model(source: ModelSource, config: NgramConfig, run: Run,
               corpus: Corpus | None) -> NgramModel:
    """The model of `source`, or one trained on `corpus`'s train split."""
    from seqlm.ngram import fit, read_arpa
    from seqlm.ngram.binary import load_binary

    if source.binary:
        with run.timer("load_binary"):
            model = load_binary(source.binary, verify=config.verify or None)
        run.extra["model"] = {"binary": source.binary, **model_summary(model)}
    elif source.arpa:
        with run.timer("read_arpa"):
            model = read_arpa(source.arpa, unit=config.unit or None, precision=config.precision)
        run.extra["model"] = {"arpa": source.arpa, **model_summary(model)}
    else:
        with run.timer("train"):
            model = fit(corpus.text("train"), replace(config, unit=config.unit or
                                                      corpus.default_unit))
        run.extra["model"] = {"trained_on": "train", **model.info}
    return model


def model_summary(model: NgramModel) -> dict:
    return {"order": model.order, "unit": model.unit, "smoothing": model.smoothing,
            "counts": model.sizes()}


def open_corpus(config: NgramConfig, run: Run, needed: bool) -> Corpus | None:
    if not needed:
        return None
    corpus = load_corpus(config.corpus)
    run.data[corpus.name] = corpus.identity()
    return corpus


def eval_run(config: NgramConfig, source: ModelSource, split: str = "valid",
             text_file: str | None = None, out: str | Path | None = None,
             overwrite: bool = False, argv: list[str] | None = None,
             ) -> tuple[Run, PerplexityReport, NgramModel, str]:
    """Perplexity of a split of the corpus (or of `text_file`), as KenLM's `query` reports it."""
    from seqlm.data.corpora.text import read_text_path

    source.check()
    with Run("ngram eval", config, out=out, overwrite=overwrite, argv=argv) as run:
        need = text_file is None or not (source.arpa or source.binary)
        corpus = open_corpus(config, run, need)
        model = load_model(source, config, run, corpus)
        if text_file:
            text, scored = read_text_path(Path(text_file)), text_file
        else:
            text, scored = corpus.text(split), f"{corpus.name} {split}"
        from seqlm.ngram.engine import resolve

        model.engine = resolve(config.engine, len(text), config.compiled_min_chars)
        with run.timer("score"):
            report = model.perplexity(text, workers=config.workers, threads=config.threads)
        run.metrics.update({**report.to_dict(), "engine": model.engine,
                            "workers": config.workers, "threads": config.threads})
        run.extra["scored"] = scored
    return run, report, model, scored


def sample_run(config: NgramConfig, source: ModelSource, prefix: str = "",
               out: str | Path | None = None, overwrite: bool = False,
               argv: list[str] | None = None) -> tuple[Run, list[str], NgramModel]:
    """`config.samples` sentences at `config.temperature` (0: greedy) from `config.seed`."""
    from seqlm.decoding.sentences import sample_sentences as sample

    source.check()
    with Run("ngram sample", config, out=out, overwrite=overwrite, argv=argv) as run:
        corpus = open_corpus(config, run, not (source.arpa or source.binary))
        model = load_model(source, config, run, corpus)
        sentences = sample(model, config.samples, config.seed, config.temperature,
                           config.max_tokens, prefix)
        run.metrics["samples"] = sentences
    return run, sentences, model


def predict_run(config: NgramConfig, source: ModelSource, context: str,
                mid_sentence: bool = False, out: str | Path | None = None,
                overwrite: bool = False, argv: list[str] | None = None,
                ) -> tuple[Run, list[str], list[tuple[str, float]], NgramModel]:
    """The `config.top_k` most likely next tokens after `context`."""
    from seqlm.ngram.stream import BOS, split_line

    source.check()
    with Run("ngram predict", config, out=out, overwrite=overwrite, argv=argv) as run:
        corpus = open_corpus(config, run, not (source.arpa or source.binary))
        model = load_model(source, config, run, corpus)
        tokens = ([] if mid_sentence else [BOS]) + split_line(context, model.unit)
        best = model.top_k(tokens, config.top_k)
        run.metrics["context"] = tokens
        run.metrics["top_k"] = [{"token": t, "p": p} for t, p in best]
    return run, tokens, best, model


def build_binary(arpa: str, out: str, config: NgramConfig,
                 progress: ProgressCallback | None = None, overwrite: bool = False) -> dict:
    """Convert an ARPA file into a binary model; what was built, and how long it took."""
    import time

    check_output_file(out, overwrite, "--out")
    from seqlm.ngram.arpa_read import read_arpa
    from seqlm.ngram.binary import load_binary, write_binary
    from seqlm.ngram.tables import BackoffTables

    start = time.perf_counter()
    model = read_arpa(arpa, unit=config.unit or None, precision="kenlm")
    read_s = time.perf_counter() - start
    path = write_binary(BackoffTables.of_model(model), out, config.prob_bits, config.backoff_bits,
                        progress=progress)
    written_s = time.perf_counter() - start - read_s
    start = time.perf_counter()
    loaded = load_binary(path)
    return {"binary": str(path), "arpa": arpa, **model_summary(loaded), "read_arpa_s": read_s,
            "write_binary_s": written_s, "load_s": time.perf_counter() - start,
            "bytes": path.stat().st_size, "quantization": loaded.info["quantization"],
            "peak_rss_bytes": peak_rss_bytes()}
