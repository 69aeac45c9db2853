"""``python -m lcsim.replay``: placeholder CLI replaced by the full comparison runner (issue: replay engine)."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import benchmarks
from ..optimizers import make_optimizer
from . import Budget, problem_for, run


def main(argv=None) -> int:
    task = benchmarks.load("synthetic")
    out = Path("lcsim-results")
    out.mkdir(exist_ok=True)
    res = run(task, make_optimizer("random_search", problem_for(task), 0), Budget.full_evaluations(task, 20))
    path = out / "random_search_synthetic.csv"
    res.table.to_csv(path, index=False)
    print(f"final normalized regret {res.table['normalized_regret'].iloc[-1]:.4f}; results written to {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
