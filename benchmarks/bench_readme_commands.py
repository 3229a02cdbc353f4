"""The README's Commands block, timed: each command's wall-clock seconds as a ratio against
the time the README states beside it (`python benchmarks/bench_readme_commands.py`). The test
suite runs the same commands for correctness only (tests/test_readme_commands.py); times are
measured here, on a machine whose load is printed first, never asserted in a test."""

import importlib.util
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_test():
    """tests/test_readme_commands.py, which parses the block and runs one line."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]
    spec = importlib.util.spec_from_file_location("readme_commands",
                                                  ROOT / "tests" / "test_readme_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    test = readme_test()
    data = test.tinyshakespeare_dir()
    if data is None:
        print("Tiny Shakespeare not found: set SEQLM_DATA_DIR")
        return 2
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load before "
          f"start {os.getloadavg()[0]:.2f}")
    over = 0
    with tempfile.TemporaryDirectory() as tmp:
        for line, stated in test.commands():
            seconds, _ = test.run_command(line, Path(tmp), data, timeout=max(600.0, 20 * stated))
            ratio = seconds / stated
            over += ratio > 1.5
            print(f"{seconds:7.1f} s  stated {stated:4.0f} s  x{ratio:4.2f}  {line}")
    print(f"{over} command(s) took over 1.5x their stated time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
