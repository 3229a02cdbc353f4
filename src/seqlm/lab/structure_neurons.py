"""Finding the units that track a quantity: per-unit correlation, and a linear probe for scale.

Given the activations of every unit over a passage, `(T, U)` per state (`h1`, `c1`, ...,
`seqlm.lab.structure_activations`), and a label per character (`structure_labels`:
bracket depth, indentation, inside a string), each unit is scored by the Pearson correlation
of its activation with the label over the passage; the units with the largest |r| are the
ones that "count" (Karpathy, Johnson and Fei-Fei 2015 found such cells by eye; here they are
found automatically and the criterion is stated). A unit that never moves, or a label that
never moves on the passage, has r = 0 by definition (undefined, not evidence). Beside the
single units, `probe_r2` fits a ridge-regularised linear probe on all units at once on the
first half of the passage (the penalty chosen inside that half) and reports R^2 on the second
half: how much of the label the state holds linearly, spread over units or not.
Leaves out: nonlinear probes, causal interventions on the units.
"""

from dataclasses import dataclass

import numpy as np

PROBE_RIDGES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # L2 penalties tried, per sample (units have
# unit variance, so 1.0 is a penalty as large as the data's own diagonal)


@dataclass(frozen=True)
class Neuron:
    """One unit: which state (`c2` = cell state of layer 2), its index, its correlation."""

    state: str
    unit: int
    r: float

    @property
    def name(self) -> str:
        return f"{self.state}[{self.unit}]"


def correlations(acts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Pearson r of each unit's activation with the label: acts (T, U), labels (T,) -> (U,);
    0 where a unit or the label is constant."""
    a = acts - acts.mean(axis=0)  # (T, U)
    y = labels.astype(np.float64) - labels.mean()  # (T,)
    scale = np.sqrt((a * a).sum(axis=0) * (y * y).sum())  # (U,)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * y[:, None]).sum(axis=0) / scale
    return np.where(scale > 1e-12, r, 0.0)


def top_units(acts: dict[str, np.ndarray], labels: np.ndarray, k: int) -> list[Neuron]:
    """The k units (over every state) with the largest |r|, best first."""
    found = [Neuron(state, int(u), float(r)) for state, a in acts.items()
             for u, r in enumerate(correlations(a.astype(np.float64), labels))]
    found.sort(key=lambda n: (-abs(n.r), n.state, n.unit))
    return found[:k]


def ridge_fit(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Least squares with an L2 penalty of `ridge` per sample on every weight but the last
    (the intercept column)."""
    penalty = ridge * len(y) * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)


def r_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    residual = y - predicted
    return float(1.0 - (residual @ residual) / ((y - y.mean()) ** 2).sum())


def probe_r2(acts: dict[str, np.ndarray], labels: np.ndarray) -> float | None:
    """R^2 on the passage's second half of a ridge regression fitted on its first half, from
    every unit of every state (standardised on the first half); the penalty is the one of
    `PROBE_RIDGES` that does best when the first half's first 3/4 predict its last 1/4. None
    when the label is constant on either part."""
    x = np.concatenate([a.astype(np.float64) for a in acts.values()], axis=1)  # (T, U)
    y = labels.astype(np.float64)
    half = len(y) // 2
    inner = 3 * half // 4
    if inner < 2 or min(y[:inner].std(), y[inner:half].std(), y[half:].std()) == 0:
        return None
    mean, std = x[:half].mean(axis=0), x[:half].std(axis=0) + 1e-8
    xs = np.concatenate([(x - mean) / std, np.ones((len(x), 1))], axis=1)  # (T, U + 1)
    best = max(PROBE_RIDGES, key=lambda r: r_squared(
        y[inner:half], xs[inner:half] @ ridge_fit(xs[:inner], y[:inner], r)))
    return r_squared(y[half:], xs[half:] @ ridge_fit(xs[:half], y[:half], best))
