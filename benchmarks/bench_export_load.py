"""Loading an exported folder (config.json + model.safetensors) against loading the run's
best.pt, for an LSTM 2x512 character model (embedding 128, 65 characters: the README's Tiny
Shakespeare settings), untrained: loading time does not depend on the values.

Both are `seqlm.checkpoint.load` end to end (read, rebuild the model, copy the weights in),
in this process, alternated `--repeats` times after one warm-up each; the medians and their
ratio are printed with the CPU model and the load average. Issue 28's target: the folder loads
in under 1 s. The logits of the two loaded models are checked to be equal first.

    python benchmarks/bench_export_load.py              # about 10 s
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import torch  # noqa: E402

from seqlm.atomic import atomic_write_bytes  # noqa: E402
from seqlm.checkpoint import load, save_checkpoint  # noqa: E402
from seqlm.config import LMConfig, TrainConfig, to_dict  # noqa: E402
from seqlm.data.vocab import Vocab  # noqa: E402
from seqlm.hf_folder import folder_files  # noqa: E402
from seqlm.nn.build import build_model  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402

CHARS = [chr(c) for c in range(32, 97)]  # 65 characters, as many as Tiny Shakespeare's


def write_both(root: Path) -> tuple[Path, Path]:
    """A best.pt and an exported folder of the same LSTM 2x512 weights."""
    config = TrainConfig(model=LMConfig(cell="lstm", unit="char", embedding_dim=128,
                                        hidden_size=512, num_layers=2))
    vocab = Vocab(CHARS)
    torch.manual_seed(0)
    model = build_model("lm", config, vocab)
    payload = {"config": to_dict(config), "vocab": vocab.to_dict(),
               "model": model.state_dict(), "step": 0, "metrics": {}}
    best = save_checkpoint(root / "run" / "best.pt", "lm", payload)
    for name, data in folder_files({"kind": "lm", **payload}).items():
        atomic_write_bytes(root / "hf" / name, data)
    return best, root / "hf"


def timed(path: Path) -> float:
    start = time.perf_counter()
    load(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}, torch threads {torch.get_num_threads()}, "
          f"load average before {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        best, folder = write_both(Path(tmp))
        idx = torch.randint(4, len(CHARS) + 4, (2, 50))
        with torch.no_grad():
            assert torch.equal(load(best).model(idx)[0], load(folder).model(idx)[0])
        pt, hf = [], []
        for _ in range(args.repeats):
            pt.append(timed(best))
            hf.append(timed(folder))
        sizes = (best.stat().st_size, (folder / "model.safetensors").stat().st_size)
    pt_s, hf_s = statistics.median(pt), statistics.median(hf)
    print(f"files: best.pt {sizes[0] / 1e6:.1f} MB, model.safetensors {sizes[1] / 1e6:.1f} MB")
    print(f"load best.pt       median {1000 * pt_s:.1f} ms over {args.repeats}")
    print(f"load export folder median {1000 * hf_s:.1f} ms over {args.repeats} "
          f"({hf_s / pt_s:.2f}x best.pt's time; target < 1000 ms)")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
