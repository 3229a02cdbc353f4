"""Kneser-Ney discounts from counts of counts, with KenLM's `--discount_fallback`.

For each order, t_j is the number of n-grams with adjusted count j (Chen & Goodman 1998,
eq. 26; Heafield et al. 2013 eq. 4):

    Y = t1 / (t1 + 2 t2)
    D1 = 1 - 2 Y t2 / t1      D2 = 2 - 3 Y t3 / t2      D3+ = 3 - 4 Y t4 / t3

Interpolated Kneser-Ney with one discount uses D = Y (Ney, Essen & Kneser 1994). When a count
of counts is zero or a discount falls outside [0, j] (small or artificial data), the order
falls back to `fallback` = (0.5, 1, 1.5) with a `DiscountFallbackWarning` naming the order,
or raises `SeqlmError` if fallback is off. Leaves out: KenLM's `--discount_fallback` values
given per order.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from seqlm.errors import SeqlmError
from seqlm.ngram.spill import Column


class DiscountFallbackWarning(UserWarning):
    """An order's counts of counts gave no usable discounts; the fallback was used."""


@dataclass(frozen=True)
class Discounts:
    """D1, D2, D3+ of one order; `fallback` says they are the fallback values."""

    d1: float
    d2: float
    d3: float
    fallback: bool = False

    def table(self) -> np.ndarray:
        """Discount by adjusted count, capped at 3: index 0 (count 0) discounts nothing. (4,)"""
        return np.array([0.0, self.d1, self.d2, self.d3])

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.d1, self.d2, self.d3)


def counts_of_counts(adjusted: Column, upto: int = 4) -> tuple[int, ...]:
    """t_1..t_upto: how many n-grams have adjusted count exactly j, block by block."""
    t = np.zeros(upto + 2, dtype=np.int64)
    for _, block in adjusted.blocks(1 << 20):
        t += np.bincount(np.minimum(block, upto + 1), minlength=upto + 2)
    return tuple(int(x) for x in t[1:upto + 1])


def modified_kn(order: int, t: tuple[int, ...], fallback: tuple[float, float, float] | None,
                ) -> Discounts:
    """The three modified Kneser-Ney discounts of one order from its counts of counts t1..t4
    (see the module docstring)."""
    t1, t2, t3, t4 = t
    problem = None
    if min(t1, t2, t3) == 0:
        zero = 1 + [t1, t2, t3].index(0)
        problem = f"no {order}-grams have adjusted count {zero}"
    else:
        y = t1 / (t1 + 2 * t2)
        d = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
        bad = [j for j, dj in enumerate(d, 1) if not 0.0 <= dj <= j]
        if not bad:
            return Discounts(*d)
        problem = f"discount D{bad[0]} = {d[bad[0] - 1]:.4g} is outside [0, {bad[0]}]"
    hint = ("; counts of counts that do not fall with j come from small or artificial data, "
            "where --smoothing kn (one discount, from t1 and t2) fits") if t1 and t2 else ""
    return fall_back(order, problem, (t1, t2, t3, t4), fallback, hint)


def kneser_ney(order: int, t: tuple[int, ...], fallback: tuple[float, float, float] | None,
               ) -> Discounts:
    """The single Kneser-Ney discount D = t1 / (t1 + 2 t2), used for every count."""
    t1, t2, t3, t4 = t
    if t1 == 0 or t2 == 0:
        problem = f"no {order}-grams have adjusted count {1 if t1 == 0 else 2}"
        fb = fall_back(order, problem, (t1, t2, t3, t4), fallback)
        return Discounts(fb.d1, fb.d1, fb.d1, fallback=True)
    y = t1 / (t1 + 2 * t2)
    return Discounts(y, y, y)


def fall_back(order: int, problem: str, t: tuple[int, ...],
              fallback: tuple[float, float, float] | None, hint: str = "") -> Discounts:
    counts = ", ".join(f"t{j}={n}" for j, n in enumerate(t, 1))
    if fallback is None:
        raise SeqlmError(
            f"cannot estimate Kneser-Ney discounts for order {order}: {problem} ({counts}); "
            "the corpus is too small or artificial for this order: lower the order, or allow "
            "the fallback discounts (discount_fallback=True: leave out --no-discount-fallback)"
        )
    warnings.warn(
        f"order {order}: {problem} ({counts}); using fallback discounts "
        f"{', '.join(f'{d:g}' for d in fallback)}{hint}", DiscountFallbackWarning, stacklevel=4)
    return Discounts(*fallback, fallback=True)
