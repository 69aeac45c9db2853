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


def _with_oracle(task, rule, **wrong):
    """``task`` whose ``oracle_for(rule)`` returns the true oracle with the fields ``wrong`` replaced."""
    from dataclasses import replace

    from lcsim.benchmarks import Task

    task.oracle_for = lambda r="final": replace(Task.oracle_for(task, r), **(wrong if r == rule else {}))
    return task


def _wrong_oracle_task(rule, wrong):
    """A synthetic task whose ``oracle_for(rule)`` range is wrong in the way ``wrong`` names, and the true oracle."""
    from lcsim.benchmarks import Task

    if wrong == "other_rule":  # no divergence: the first epochs' losses widen the any-epoch range beyond the final one
        t = synthetic_task(n_configs=8, n_epochs=4, seed=1)
        other = Task.oracle_for(t, "final" if rule == "any_epoch" else "any_epoch")
        return _with_oracle(t, rule, best=other.best, worst=other.worst), Task.oracle_for(t, rule)
    t = synthetic_task(n_configs=8, n_epochs=4, seed=1, diverged_share=0.3)  # 3 of 8 runs diverge half-way
    true = Task.oracle_for(t, rule)
    if wrong == "worst_without_diverged":
        ok = t.curves[~t.diverged.any(axis=1), :, :, t.objective_index].mean(axis=1)
        return _with_oracle(t, rule, worst=float((ok[:, -1] if rule == "final" else ok).max())), true
    return _with_oracle(t, rule, best=float(t.served_objective()[:, :, 0].mean(axis=1).min())), true


@pytest.mark.parametrize("rule", ["final", "any_epoch"])
@pytest.mark.parametrize("wrong", ["other_rule", "worst_without_diverged", "best_of_the_first_epoch"])
def test_oracle_check_fails_on_a_wrong_normaliser_range(rule, wrong):
    """A normaliser whose best/worst is not the brute-force min/max of its rule fails check_oracle: the other rule's
    range (an ``any_epoch`` oracle that ignores its rule, a ``final`` one computed over every epoch), the worst taken
    over the runs that never diverged (NaN skipped instead of counted as the worst finite value), the best of the
    first epoch's values. The check before issue 19 compared only ``task.oracle`` and let the three ``any_epoch``
    cases through."""
    t, true = _wrong_oracle_task(rule, wrong)
    planted = t.oracle_for(rule)
    assert (planted.best, planted.worst) != (true.best, true.worst)  # the planted range is wrong
    with pytest.raises(AssertionError, match=f"{rule} oracle (best|worst)"):
        check_oracle(t)
