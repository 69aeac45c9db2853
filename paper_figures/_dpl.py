"""The DPL benchmark grid shared by DPL Figs. 3-6 (computed once per scale, cached cell by cell)."""
from __future__ import annotations

from ._common import available_methods, load_tasks, run_grid

DPL_METHODS = ("random_search", "hyperband", "asha", "bohb", "dehb", "smac", "boca", "dpl")
#: the columns DPL Figs. 3-6 read (what the committed full-scale results keep)
DPL_COLUMNS = ("benchmark", "task", "version", "method", "method_params", "seed", "trial_id", "config_id", "epoch",
               "objective", "sim_time", "overhead_s", "budget_used", "incumbent_rule", "normaliser", "regret",
               "normalized_regret", "budget_unit", "budget", "n_epochs")


def dpl_grid(ctx, charge_overhead: bool = False):
    """(tasks, methods, results table) of the DPL comparison at ``ctx.scale``; empty table if nothing is available."""
    import pandas as pd

    tasks = load_tasks(ctx)
    if not tasks:
        return [], [], pd.DataFrame()
    names = DPL_METHODS + tuple(m for m in ctx.scale.extra_methods if m not in DPL_METHODS)
    if ctx.scale.name == "tiny":  # a third always-available method so ranks/CD can be computed in tests
        names = names + ("successive_halving",)
        ctx.notes.append("tiny scale: successive_halving added so the rank statistics have >= 3 methods")
    methods = available_methods(ctx, names, tasks[0])
    # DPL's normaliser: the best and worst value at any epoch of the pool (the authors' code; section 6)
    return tasks, methods, run_grid(ctx, tasks, methods, charge_overhead=charge_overhead, normaliser="any_epoch",
                                    columns=DPL_COLUMNS)
