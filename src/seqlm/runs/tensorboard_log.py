"""`--tensorboard DIR`: the training engine's records as TensorBoard event files.

An engine listener (`seqlm.training.engine.Listener`) that writes, at each history entry,
`train/loss` (nats per token), `train/lr`, `train/grad_norm` (global, before clipping) and
`grad_norm/<part>` (per layer), `train/tokens_per_second` and any task extra (the teacher
probability of scheduled sampling); at each evaluation every number the task scored under
`valid/` (loss, perplexity, bits per char, exact match), and for language models text
samples at their temperatures (`samples/temperature_<t>`). Steps are optimiser updates.
TensorBoard is optional (`pip install 'seqlm[tensorboard]'`); torch writes the files
(`torch.utils.tensorboard`). Leaves out: histograms of weights, the graph, embeddings.
"""

from collections.abc import Callable
from pathlib import Path

from seqlm.errors import SeqlmError

Sampler = Callable[[object], list[dict]]  # model -> [{"temperature": t, "text": s}, ...]
MISSING = ("--tensorboard needs the tensorboard package, which is not installed: "
           "pip install 'seqlm[tensorboard]' (or pip install tensorboard), or drop --tensorboard")


def require_tensorboard(log_dir: str | Path | None = None) -> None:
    """Raise the one-line SeqlmError if TensorBoard cannot be written here (or into
    `log_dir`: a file there is not a folder to log into)."""
    if log_dir is not None and Path(log_dir).exists() and not Path(log_dir).is_dir():
        raise SeqlmError(f"--tensorboard {log_dir} is a file, not a folder: give a folder for "
                         "TensorBoard's event files")
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise SeqlmError(MISSING) from None


class TensorBoardLog:
    """Scalars and samples of one training run into `log_dir` (made if missing)."""

    def __init__(self, log_dir: str | Path, sampler: Sampler | None = None):
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))
        self.sampler = sampler

    def history(self, entry: dict[str, float], engine) -> None:
        step = int(entry["step"])
        for key, value in entry.items():
            if key == "step":
                continue
            tag = key if key.startswith("grad_norm/") else f"train/{key}"
            self.writer.add_scalar(tag, float(value), step)

    def evaluation(self, metrics: dict[str, float], engine) -> None:
        step = int(metrics["step"])
        written = set()
        for key, value in metrics.items():
            tag = f"valid/{key.removeprefix('valid_')}"  # seq2seq names some twice
            if key not in ("step", "objective") and tag not in written \
                    and isinstance(value, int | float):
                self.writer.add_scalar(tag, float(value), step)
                written.add(tag)
        if self.sampler is not None:
            for sample in self.sampler(engine.model):
                # Markdown in TensorBoard's text tab: four spaces keep the lines as they are
                text = "    " + sample["text"].replace("\n", "\n    ")
                self.writer.add_text(f"samples/temperature_{sample['temperature']}", text, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
