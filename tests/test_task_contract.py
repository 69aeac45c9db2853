"""The Task contract suite: every check passes on valid tasks and fails on a task that breaks it."""
from __future__ import annotations

import numpy as np
import pytest

from lcsim import benchmarks
from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.testing.task_contract import (
    TASK_CHECKS,
    check_configs_in_space,
    check_divergence_mask,
    check_metric_bounds,
    check_oracle,
    check_seeded_determinism,
    check_served_objective,
    check_shapes,
    check_task,
    run_check,
)


def _tasks():
    return {
        "synthetic": synthetic_task(n_configs=24, n_epochs=7, n_seeds=2, seed=1, diverged_share=0.2),
        "synthetic-unit": synthetic_task(n_configs=10, n_epochs=5, seed=2, seconds=False),
        "registry-synthetic": benchmarks.load("synthetic", "powerlaw-1"),
    }


@pytest.mark.parametrize("check", TASK_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", list(_tasks()))
def test_contract_on_synthetic(name, check, tmp_path):
    run_check(check, _tasks()[name], tmp_path)


def test_contract_on_small_yahpo_tabulation(shared_data, tmp_path):
    check_task(benchmarks.load("lcbench_yahpo", "189873", n_configs=16, seed=0, n_threads=1), tmp_path)


def test_seeded_determinism_check():
    check_seeded_determinism(lambda: synthetic_task(n_configs=8, n_epochs=4, seed=7))
    calls = iter([1, 2])
    with pytest.raises(AssertionError, match="differ"):
        check_seeded_determinism(lambda: synthetic_task(n_configs=8, n_epochs=4, seed=next(calls)))


# ---- each check must be able to fail
def test_bounds_check_fails_on_violation():
    t = synthetic_task(n_configs=8, n_epochs=4, seed=0)
    t.curves = t.curves.copy()                       # a task's arrays are read-only: corrupt a copy
    t.curves[0, 0, 0, 1] = 1.5                       # valid_acc bounded by [0, 1]
    with pytest.raises(AssertionError, match="valid_acc .* outside bounds"):
        check_metric_bounds(t)


def test_divergence_check_fails_on_unflagged_nan():
    t = synthetic_task(n_configs=8, n_epochs=4, seed=0, diverged_share=0.5)
    t.diverged = np.zeros_like(t.diverged)
    with pytest.raises(AssertionError, match="NaN runs unflagged"):
        check_divergence_mask(t)


def test_served_check_fails_on_stale_values():
    t = synthetic_task(n_configs=8, n_epochs=4, seed=0)
    t.served_objective()                              # cache the served array, then corrupt the raw curves
    t.curves = t.curves + np.eye(1, t.curves.shape[-1])  # (a new array: the task's own are read-only)
    with pytest.raises(AssertionError, match="served values differ"):
        check_served_objective(t)


def test_shape_and_space_checks_fail():
    t = synthetic_task(n_configs=8, n_epochs=4, seed=0)
    t.fidelities = np.array([1, 3, 2, 4])
    with pytest.raises(AssertionError, match="fidelities not increasing"):
        check_shapes(t)
    t = synthetic_task(n_configs=8, n_epochs=4, seed=0)
    t.configs.loc[2, "dropout"] = 5.0
    with pytest.raises(AssertionError, match=r"config 2 has dropout=5.0 outside \[0.0, 0.9\]"):
        check_configs_in_space(t)


def test_oracle_check_passes_and_regret_range():
    t = synthetic_task(n_configs=8, n_epochs=4, n_seeds=3, seed=0, diverged_share=0.3)
    check_oracle(t)
