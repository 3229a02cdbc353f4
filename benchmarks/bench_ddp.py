"""Data-parallel scaling of `seqlm train`: tokens per second in one process against N
processes under torchrun, each process with the same batch (so N processes train N times the
tokens per update).

CPU (default): an LSTM 2x512 character model (embedding 128, batch 32, window 32, the README's
Tiny Shakespeare settings) in 1 process of one torch thread against 2 processes of one thread
each (gloo), run after run, interleaved, `--repeats` times; the rate is the engine's own
tokens per second of training time (all processes' tokens; evaluation not counted) and the
scaling is the median rate of 2 over the median rate of 1 (ideal 2.0). The machine's load
average is printed before and after: other jobs on the same cores take their share, and on 2
cores shared with a third busy process two processes get about 1.3 cores, not 2. So the
benchmark also prints tokens per CPU-second of the training loop (every process's CPU time,
its gloo threads included, summed): its ratio between 2 processes and 1 is the parallel
efficiency, what distributing costs in work, which the load moves much less; on idle cores
the scaling would be about 2 x that efficiency.

GPU (`--gpus`): the same model, batch 64 per GPU, precision auto, in 1 process on one GPU
against one process per GPU of the machine (nccl).

    python benchmarks/bench_ddp.py                 # about 3 minutes on 2 cores
    python benchmarks/bench_ddp.py --steps 10 --repeats 1    # a smoke run
    python benchmarks/bench_ddp.py --gpus          # on a machine with several GPUs

Tiny Shakespeare is read from $SEQLM_DATA_DIR; without it the benchmark trains on this
Python's standard library (`python-stdlib`), which every machine has.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
WINDOW = 32


def corpus() -> list[str]:
    data = os.environ.get("SEQLM_DATA_DIR")
    if data and (Path(data) / "tinyshakespeare.txt").is_file():
        return ["--corpus", "tinyshakespeare", "--data-dir", data]
    return ["--corpus", "python-stdlib"]


def train_args(steps: int, batch: int, device: str, precision: str, out: Path) -> list[str]:
    return ["train", *corpus(), "--cell", "lstm", "--unit", "char", "--embedding-dim", "128",
            "--hidden-size", "512", "--num-layers", "2", "--dropout", "0",
            "--batch-size", str(batch), "--window", str(WINDOW), "--max-steps", str(steps),
            "--eval-every", str(10 * steps), "--log-every", str(steps),
            "--eval-max-tokens", "2000", "--final-eval-max-tokens", "2000",
            "--warmup-steps", "0", "--threads", "1", "--device", device,
            "--precision", precision, "--out", str(out), "--json"]


def worker(argv: list[str]) -> int:
    """One process of a run (under torchrun or alone): `seqlm ARGV`, with the CPU seconds of
    its training loop written to $BENCH_DDP_CPU-<rank>."""
    import time

    sys.path.insert(0, str(SRC))
    from seqlm.cli import main as seqlm_main
    from seqlm.training.engine import Engine

    run = Engine.run

    def timed(self, *args, **kwargs):
        start = time.process_time()
        try:
            return run(self, *args, **kwargs)
        finally:
            cpu = time.process_time() - start
            path = Path(f"{os.environ['BENCH_DDP_CPU']}-{os.environ.get('RANK', '0')}")
            path.write_text(str(cpu))

    Engine.run = timed
    return seqlm_main(argv)


def rate(processes: int, args: list[str], tmp: Path) -> tuple[float, float]:
    """Tokens per second of training time that rank 0 reports for one run, and tokens per
    CPU-second of the training loops of all its processes."""
    cpu = tmp / f"cpu-{processes}"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1",
           "BENCH_DDP_CPU": str(cpu)}
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={processes}"]
    done = subprocess.run([*launcher, __file__, "--worker", *args], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_ddp: {processes} process(es) failed:\n{done.stderr[-3000:]}")
    metrics = json.loads(done.stdout)
    seconds = sum(float(Path(f"{cpu}-{r}").read_text()) for r in range(processes))
    batch = int(args[args.index("--batch-size") + 1])
    tokens = metrics["steps"] * batch * WINDOW * processes  # every window is full here
    return float(metrics["tokens_per_second"]), tokens / seconds


def measure(counts: tuple[int, int], repeats: int, steps: int, batch: int, device: str,
            precision: str) -> dict[int, list[tuple[float, float]]]:
    """Interleaved runs: 1, N, 1, N, ...; (tokens/s, tokens per CPU-second) of each."""
    rates: dict[int, list[tuple[float, float]]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for n in counts:
                out = Path(tmp) / f"run-{n}-{r}"
                rates[n].append(rate(n, train_args(steps, batch, device, precision, out),
                                     Path(tmp)))
                wall, cpu = rates[n][-1]
                print(f"  repeat {r + 1}: {n} process(es) {wall:,.0f} tokens/s, {cpu:,.0f} "
                      f"tokens per CPU-second (load {os.getloadavg()[0]:.2f})", flush=True)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40, help="updates per run")
    parser.add_argument("--gpus", action="store_true", help="1 GPU against all GPUs (nccl)")
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(worker(sys.argv[2:]))
    args = parser.parse_args()
    if args.gpus:
        import torch

        count = torch.cuda.device_count()
        if count < 1:
            sys.exit("bench_ddp: --gpus needs a CUDA GPU")
        counts, batch, device, precision = (1, count), 64, "cuda", "auto"
    else:
        counts, batch, device, precision = (1, 2), 32, "cpu", "fp32"
    print(f"LSTM 2x512, batch {batch} per process, window 32, {args.steps} updates per run, "
          f"{device}; load average before: {os.getloadavg()[0]:.2f}")
    rates = measure(counts, args.repeats, args.steps, batch, device, precision)
    one, many = (statistics.median(w for w, _ in rates[n]) for n in counts)
    one_cpu, many_cpu = (statistics.median(c for _, c in rates[n]) for n in counts)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"1 process: {one:,.0f} tokens/s; {counts[1]} processes: {many:,.0f} tokens/s; "
          f"scaling {many / one:.2f}x (ideal {counts[1]}.0x)")
    print(f"tokens per CPU-second: 1 process {one_cpu:,.0f}, {counts[1]} processes "
          f"{many_cpu:,.0f}; parallel efficiency {many_cpu / one_cpu:.2f} (ideal 1.00)")


if __name__ == "__main__":
    main()
