"""The NumPy Newton step (`seqlm.reference.newton`) equals seqlm.nn.newton's step in float64,
with both of its solvers, and iterating it reaches the sequential loop's trajectory."""

import numpy as np
import pytest
import torch

from seqlm.nn.cell_jacobians import NEWTON_CELLS
from seqlm.nn.newton import newton_step
from seqlm.reference.newton import gru_newton_step, gru_sequential

B, T, H = 2, 9, 4


def setup(seed: int):
    rng = np.random.default_rng(seed)
    gx = rng.normal(size=(B, T, 3 * H))
    w_hh, b_hh = rng.normal(scale=0.6, size=(3 * H, H)), rng.normal(size=3 * H)
    h0, guess = rng.normal(size=(B, H)), rng.normal(scale=0.5, size=(B, T, H))
    return gx, w_hh, b_hh, h0, guess


@pytest.mark.parametrize("solver", ["loop", "scan"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_numpy_step_equals_the_torch_step(solver, seed):
    gx, w_hh, b_hh, h0, guess = setup(seed)
    ours = gru_newton_step(gx, guess, h0, w_hh, b_hh)
    theirs = newton_step(NEWTON_CELLS["gru"], *map(torch.from_numpy, (gx, w_hh, b_hh, h0,
                                                                      guess)),
                         jacobian="full", solver=solver).numpy()
    assert np.abs(ours - theirs).max() <= 1e-12


def test_iterating_the_numpy_step_reaches_the_loop():
    gx, w_hh, b_hh, h0, guess = setup(2)
    truth = gru_sequential(gx, h0, w_hh, b_hh)
    errors = []
    for _ in range(T):  # after k steps the first k states are exact: T always suffice
        guess = gru_newton_step(gx, guess, h0, w_hh, b_hh)
        errors.append(np.abs(guess - truth).max())
    assert errors[-1] <= 1e-12 and errors[0] > 1e-3
