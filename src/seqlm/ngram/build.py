"""`build`: a training text in, an ARPA file and/or a binary model out, in bounded memory.

What `seqlm ngram train` runs, lmplz's pipeline: read the text in pieces
(`seqlm.ngram.reading`), count each order in sorted runs that spill to disk once the memory
budget is reached (`seqlm.ngram.counts`, `seqlm.ngram.runs`), adjust counts, take discounts,
prune (`seqlm.ngram.prune`), estimate block by block (`seqlm.ngram.estimate`), then write
the ARPA file (`seqlm.ngram.arpa`) and the binary model (`seqlm.ngram.binary`) from the
tables, again block by block. Spill files live in a private folder under `temp_dir` and go
when the build ends, whether it succeeds or fails. With no budget everything stays in memory
(the same code with one block per step), and the files are byte for byte the same.
The ARPA lines are formatted by the engine `config.engine` resolves to for the text's size
(`seqlm.ngram.engine`: NumPy, or the compiled kernels of `seqlm.ngram.compiled`; the same
bytes), recorded as `info["engine"]`; the NumPy engine's lines are formatted in C where a
compiler is found (`seqlm.ngram.arpa_c`, `config.arpa_writer`; the same bytes again), recorded
as `info["arpa_writer"]`. mle, add-k and stupid backoff are estimated in
memory (`seqlm.ngram.fit`): a budget is refused for them. `BuildReport` says what was
made, the stage times, the budget and the peak memory, for the run's manifest.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram.arpa import write_tables
from seqlm.ngram.budget import MemoryBudget, current_rss_bytes, peak_rss_bytes
from seqlm.ngram.counts import count_stream
from seqlm.ngram.engine import kernel_overhead, resolve
from seqlm.ngram.estimate import estimate
from seqlm.ngram.fit import check_config, fit_counts
from seqlm.ngram.model import NgramModel
from seqlm.ngram.prune import Pruning
from seqlm.ngram.reading import read_stream
from seqlm.ngram.spill import Workspace
from seqlm.ngram.tables import BackoffTables
from seqlm.progress import ProgressCallback

STREAMED = ("kn", "mkn")  # estimated block by block; the others need the counts in memory


@dataclass
class BuildReport:
    """What a build made and what it cost."""

    info: dict  # counts per order (after pruning), discounts, fallback orders
    tokens: int  # words and </s> read
    sentences: int
    arpa: str | None = None
    binary: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    memory: dict = field(default_factory=dict)  # budget, peak RSS, spilled bytes
    model: NgramModel | None = None  # in-memory smoothings only (add-k, stupid, mle)


class _Stages:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.last, 4)
        self.last = now


def build(source: str | Path, config: NgramConfig, arpa: str | Path | None = None,
          binary: str | Path | None = None, progress: ProgressCallback | None = None,
          ) -> BuildReport:
    """Train on `source` (a text, or a file's `Path`) and write the files asked for."""
    check_config(config)
    budget = MemoryBudget.of(config.memory)
    if budget.bounded and config.smoothing not in STREAMED:
        raise SeqlmError(f"--memory works with Kneser-Ney, estimated block by block, not "
                         f"{config.smoothing!r} (estimated in memory): use --smoothing mkn or kn, "
                         "or leave out --memory")
    stages, rss_before = _Stages(), current_rss_bytes()
    with Workspace(budget, config.temp_dir) as ws:
        stream, vocab = read_stream(source, config.unit, ws, progress, config.engine,
                                    config.compiled_min_tokens)
        if len(stream) == 2 * stream.lines:  # nothing but `<s> </s>` pairs
            raise SeqlmError(f"the training text has no words, only {stream.lines:,} empty "
                             "line(s): give a text with at least one word")
        engine = resolve(config.engine, len(stream), config.compiled_min_tokens)
        if engine == "numba":  # the process's own memory (Numba's) comes off the budget
            held = 0 if stream.ids.spilled else stream.ids.memory.nbytes
            ws.budget = ws.budget.less(kernel_overhead(held))
        stages.done("read")
        c_lines, writer = arpa_writer(config, engine) if arpa else (None, {})
        if writer:  # compiled here on first use, loaded (~1 ms) after
            stages.done("load_arpa_writer")
        counts = count_stream(stream, vocab, config.order, ws, progress, engine)
        stages.done("count")
        model, tables = None, None
        if config.smoothing in STREAMED:
            fallback = config.fallback_discounts if config.discount_fallback else None
            est = estimate(counts, config.smoothing, config.precision, fallback, ws,
                           Pruning.of(config.prune, config.order), progress)
            info = est.info
            tables = BackoffTables(vocab, config.unit, config.order, config.smoothing,
                                   config.precision, est.keys, est.logp, est.backoff)
        else:
            model = fit_counts(counts, config, ws)
            info = model.info
            tables = BackoffTables.of_model(model) if model.form == "backoff" else None
        stages.done("estimate")
        report = BuildReport(info={**info, "engine": engine, **writer},
                             tokens=len(stream) - stream.lines, sentences=stream.lines,
                             model=model)
        write_files(report, tables, arpa, binary, config, ws, progress, stages, engine, c_lines)
        report.memory = {"budget_bytes": budget.limit, "data_budget_bytes": ws.budget.limit,
                         "spilled_bytes": ws.spilled_bytes,
                         "spill_files": ws.files,
                         "spilled": ws.spilling, "rss_before_bytes": rss_before,
                         "peak_rss_bytes": peak_rss_bytes()}
    report.seconds = stages.seconds
    return report


def arpa_writer(config: NgramConfig, engine: str) -> tuple[object, dict]:
    """The NumPy engine's ARPA lines in C where they build (`seqlm.ngram.arpa_c`), and what
    the build's info says of them: who wrote the lines, and the note where auto fell back.
    Resolved before counting, so that `--arpa-writer c` without a compiler fails at once."""
    if engine != "numpy":
        return None, {}
    from seqlm.ngram.arpa_c import load

    c_lines, note = load(config.arpa_writer)
    info = {"arpa_writer": "c" if c_lines is not None else "numpy"}
    return c_lines, {**info, "arpa_writer_note": note} if note else info


def write_files(report: BuildReport, tables: BackoffTables | None, arpa, binary,
                config: NgramConfig, ws: Workspace, progress, stages: _Stages,
                engine: str = "numpy", c_lines=None) -> None:
    if (arpa or binary) and tables is None:
        raise SeqlmError(f"a {config.smoothing} model cannot be written as ARPA or binary: the "
                         "backoff form cannot express add-k's floor or stupid backoff's scores;"
                         " use --smoothing mkn, kn or mle")
    if arpa:
        report.arpa = str(write_tables(tables, arpa, ws, progress, engine,
                                         config.train_threads, c_lines))
        stages.done("write_arpa")
    if binary:
        from seqlm.ngram.binary import write_binary

        report.binary = str(write_binary(tables, binary, config.prob_bits, config.backoff_bits,
                                         ws, progress))
        stages.done("write_binary")
