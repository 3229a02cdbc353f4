"""Gradient checking: hand-written gradients against centred finite differences.

    numerical dL/dw_i = (L(w + eps e_i) - L(w - eps e_i)) / (2 eps)      error O(eps^2)

Run in float64: with eps = 1e-5 the truncation error is ~1e-10 relative and the rounding
noise of a loss near 1 is ~1e-11 / eps, so a correct gradient agrees to ~1e-9 and a wrong
one is off by percent. Two errors are reported per array (the cs231n convention):
`rel_error` = ||a - n|| / (||a|| + ||n||) over the whole array, and `max_entry_error` =
max_i |a_i - n_i| / max(|a_i| + |n_i|, floor) over every entry; the floor (1e-3) keeps the
~1e-11 rounding noise of a near-zero entry from being divided by almost nothing, while a
wrong entry still shows (a true 1e-5 computed as 0 scores 0.01). Leaves out: complex-step
differentiation, second derivatives.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GradCheck:
    name: str
    size: int  # entries in the array
    checked: int  # entries perturbed (all, unless `max_entries` sampled some)
    rel_error: float
    max_entry_error: float

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.rel_error < tolerance and self.max_entry_error < tolerance


def numerical_gradient(loss: Callable[[], float], array: np.ndarray, eps: float = 1e-5,
                       indices: list[tuple] | None = None) -> np.ndarray:
    """Centred differences of `loss()` with respect to `array`, perturbed in place (restored
    afterwards); entries outside `indices` stay zero."""
    grad = np.zeros_like(array)
    for i in indices if indices is not None else np.ndindex(array.shape):
        original = array[i]
        array[i] = original + eps
        plus = loss()
        array[i] = original - eps
        minus = loss()
        array[i] = original
        grad[i] = (plus - minus) / (2.0 * eps)
    return grad


def compare(name: str, analytic: np.ndarray, numerical: np.ndarray, indices: list[tuple],
            floor: float = 1e-3) -> GradCheck:
    """The two relative errors over the checked entries."""
    a = np.array([analytic[i] for i in indices], dtype=np.float64)
    n = np.array([numerical[i] for i in indices], dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    rel = float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0
    entry = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)
    return GradCheck(name, analytic.size, len(indices), rel,
                     float(entry.max()) if entry.size else 0.0)


def check_gradients(loss: Callable[[], float], arrays: dict[str, np.ndarray],
                    analytic: dict[str, np.ndarray], eps: float = 1e-5,
                    max_entries: int | None = None, seed: int = 0) -> list[GradCheck]:
    """Check `analytic[name]` against finite differences of `loss()` for every array in
    `arrays` (perturbed in place). `max_entries` samples that many entries per array."""
    rng = np.random.default_rng(seed)
    checks = []
    for name, array in arrays.items():
        if array.dtype != np.float64:
            raise ValueError(f"gradient checks need float64, {name} is {array.dtype}")
        indices = list(np.ndindex(array.shape))
        if max_entries is not None and len(indices) > max_entries:
            chosen = rng.choice(len(indices), size=max_entries, replace=False)
            indices = [indices[j] for j in sorted(chosen)]
        numerical = numerical_gradient(loss, array, eps, indices)
        checks.append(compare(name, analytic[name], numerical, indices))
    return checks


def format_report(checks: list[GradCheck], tolerance: float = 1e-6) -> str:
    """A plain-text table: one line per array, worst errors and pass/fail."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'array':<{width}}  {'checked':>9}  {'rel error':>10}  {'max entry':>10}"]
    for c in checks:
        verdict = "ok" if c.passed(tolerance) else "FAIL"
        lines.append(f"{c.name:<{width}}  {c.checked:>4}/{c.size:<4}  {c.rel_error:>10.2e}  "
                     f"{c.max_entry_error:>10.2e}  {verdict}")
    return "\n".join(lines)
