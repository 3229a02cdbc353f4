"""`seqlm.reference` is NumPy only: importing every module of it never loads torch."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import seqlm
import seqlm.reference

SRC = Path(seqlm.__file__).resolve().parent.parent


def test_reference_never_imports_torch():
    modules = [f"seqlm.reference.{m.name}" for m in pkgutil.iter_modules(seqlm.reference.__path__)]
    assert len(modules) >= 10
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC)},
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
