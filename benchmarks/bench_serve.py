"""`seqlm serve` measured on loopback: the first response after the port opens, characters per
second streamed from an LSTM 2x256 character LM on one thread (against seqlm's own `generate`
on the same weights in this process: the server's overhead as a ratio), and a bounded load
test (N concurrent clients, mixed sample / score / translate) with errors, p50 / p99 latencies
and the server's RSS.

The models are untrained (speed does not depend on the values): an LSTM 2x256 char LM
(embedding 128, 65 characters, the README's Tiny Shakespeare settings) and the default dates
seq2seq (GRU, Bahdanau attention), written as run checkpoints. The server is
`python -m seqlm serve RUN RUN --port 0 --threads 1` in a subprocess, as a user starts it;
the clients are asyncio + httpx in this process (they share the machine's cores with it).
Issue 28's targets: first response <= 200 ms, >= 2,000 chars/s, 0 errors under load, memory
flat after the first minute (give --seconds 180 to see past it).

    python benchmarks/bench_serve.py --seconds 60      # about 90 s
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
import torch  # noqa: E402

from seqlm.checkpoint import save_checkpoint  # noqa: E402
from seqlm.config import (  # noqa: E402
    LMConfig,
    Seq2SeqConfig,
    TrainConfig,
    to_dict,
)
from seqlm.data.pairs import PairVocabs  # noqa: E402
from seqlm.data.vocab import Vocab  # noqa: E402
from seqlm.nn.build import build_model  # noqa: E402
from seqlm.runs.environment import cpu_name  # noqa: E402

CHARS = [chr(c) for c in range(32, 97)]  # 65 characters, as many as Tiny Shakespeare's
TEXT = "First Citizen: Before we proceed any further, hear me speak. " * 3
DATES = ("July 19 1980", "9/17/76", "the 30th of december 1963", "2024-03-14")


def write_runs(root: Path) -> tuple[Path, Path]:
    """best.pt of an LSTM 2x256 char LM and of a dates seq2seq model, untrained."""
    torch.manual_seed(0)
    lm = TrainConfig(model=LMConfig(cell="lstm", unit="char", embedding_dim=128,
                                    hidden_size=256, num_layers=2))
    vocab = Vocab(CHARS)
    s2s = Seq2SeqConfig()
    pairs = PairVocabs(Vocab(sorted(set("".join(DATES)) | set(CHARS[:60]))),
                       Vocab(list("0123456789-")))
    for name, kind, config, v in (("lstm-2x256", "lm", lm, vocab),
                                  ("dates", "seq2seq", s2s, pairs)):
        model = build_model(kind, config, v)
        save_checkpoint(root / name / "best.pt", kind, {
            "config": to_dict(config), "vocab": v.to_dict(), "model": model.state_dict(),
            "step": 0, "metrics": {}})
    return root / "lstm-2x256", root / "dates"


def start_server(runs: list[Path]) -> tuple[subprocess.Popen, str, float]:
    """The server process, its URL, and the time its port opened (perf_counter)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen([sys.executable, "-m", "seqlm", "serve", *map(str, runs),
                                "--port", "0", "--threads", "1"], env=env,
                               stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    opened = time.perf_counter()
    if " at http://" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
    return process, line.split(" at ")[1].split()[0], opened


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_responses(client: httpx.Client, url: str, opened: float) -> dict[str, float]:
    """ms from the port opening to the first answer of each kind (the client was made before
    the server started: its TLS context and pools are no part of the server's time)."""
    out = {}
    client.get(url + "api/models").raise_for_status()
    out["GET /api/models"] = (time.perf_counter() - opened) * 1000
    start = time.perf_counter()
    client.post(url + "api/sample", json={"model": "lstm-2x256", "prime": "ROMEO:",
                                          "length": 20}).raise_for_status()
    out["POST /api/sample, 20 tokens (right after)"] = (time.perf_counter() - start) * 1000
    return out


def streamed_chars_per_s(url: str, length: int, repeats: int) -> list[float]:
    rates = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for seed in range(repeats):
            start, chars = time.perf_counter(), 0
            with client.stream("POST", "/api/sample", json={
                    "model": "lstm-2x256", "prime": "ROMEO:", "length": length,
                    "temperature": 0.8, "seed": seed}) as response:
                if response.status_code != 200:
                    raise SystemExit(f"the sample was refused: {response.read().decode()}")
                for line in response.iter_lines():
                    item = json.loads(line)
                    chars += 0 if item.get("done") else len(item["text"])
            rates.append(chars / (time.perf_counter() - start))
    return rates


def direct_chars_per_s(run: Path, length: int, repeats: int) -> list[float]:
    """seqlm's own sampler on the same weights, one thread, in this process: the reference."""
    import seqlm

    torch.set_num_threads(1)
    lm = seqlm.load(run)
    lm.generate("ROMEO:", length=8)
    rates = []
    for seed in range(repeats):
        start = time.perf_counter()
        text = lm.generate("ROMEO:", length=length, temperature=0.8, seed=seed)
        rates.append((len(text) - len("ROMEO:")) / (time.perf_counter() - start))
    return rates


async def one_request(client: httpx.AsyncClient, kind: int, n: int) -> None:
    if kind == 0:
        async with client.stream("POST", "/api/sample", json={
                "model": "lstm-2x256", "prime": "ROMEO:", "length": 100, "seed": n}) as r:
            r.raise_for_status()
            async for _ in r.aiter_lines():
                pass
    elif kind == 1:
        (await client.post("/api/score", json={"model": "lstm-2x256",
                                               "text": TEXT})).raise_for_status()
    else:
        (await client.post("/api/translate", json={"model": "dates",
                                                   "source": DATES[n % 4]})).raise_for_status()


async def load_test(url: str, clients: int, seconds: float, pid: int) -> dict:
    latencies: dict[str, list[float]] = {"sample": [], "score": [], "translate": []}
    errors: list[str] = []
    rss: list[tuple[float, float]] = []
    start = time.perf_counter()
    end = start + seconds

    async def client_loop(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            n = i
            while time.perf_counter() < end:
                kind, t0 = n % 3, time.perf_counter()
                try:
                    await one_request(client, kind, n)
                    latencies[("sample", "score", "translate")[kind]].append(
                        time.perf_counter() - t0)
                except (httpx.HTTPError, OSError) as e:
                    errors.append(f"{type(e).__name__}: {e}"[:200])
                n += 1

    async def watch_memory() -> None:
        while time.perf_counter() < end:
            rss.append((time.perf_counter() - start, rss_mib(pid)))
            await asyncio.sleep(1.0)

    await asyncio.gather(watch_memory(), *(client_loop(i) for i in range(clients)))
    return {"latencies": latencies, "errors": errors, "rss": rss,
            "seconds": time.perf_counter() - start}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report_load(result: dict, clients: int) -> None:
    total = sum(len(v) for v in result["latencies"].values())
    print(f"load test: {clients} clients for {result['seconds']:.0f} s: {total} requests, "
          f"{len(result['errors'])} errors")
    for message in result["errors"][:5]:
        print(f"  error: {message}")
    for kind, values in result["latencies"].items():
        print(f"  {kind:9s} n={len(values):5d}  p50 {percentile(values, 0.5) * 1000:8.1f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:8.1f} ms")
    rss = result["rss"]
    if rss:
        mark = min(60.0, rss[-1][0] / 2)
        at_mark = next(m for t, m in rss if t >= mark)
        print(f"  server RSS: {rss[0][1]:.0f} MiB at start, {at_mark:.0f} MiB at {mark:.0f} s, "
              f"{rss[-1][1]:.0f} MiB at the end ({rss[-1][0]:.0f} s), max "
              f"{max(m for _, m in rss):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="load test duration")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--length", type=int, default=1000, help="tokens per streamed sample")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        lm, dates = write_runs(Path(tmp))
        client = httpx.Client(timeout=60)
        process, url, opened = start_server([lm, dates])
        try:
            for what, ms in first_responses(client, url, opened).items():
                print(f"first response: {what}: {ms:.1f} ms")
            served, direct = [], []
            for _ in range(args.repeats):  # interleaved: server, then seqlm's own sampler
                served += streamed_chars_per_s(url, args.length, 1)
                direct += direct_chars_per_s(lm, args.length, 1)
            s, d = statistics.median(served), statistics.median(direct)
            print(f"streamed: {s:.0f} chars/s (median of {len(served)}, {args.length} tokens, "
                  f"1 thread); seqlm's generate in-process: {d:.0f} chars/s; ratio {s / d:.2f}")
            report_load(asyncio.run(load_test(url, args.clients, args.seconds, process.pid)),
                        args.clients)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
