"""Random search at the maximal budget (Bergstra & Bengio 2012), the DPL paper's simplest baseline."""
from __future__ import annotations

from ._base import Job, Observation, Optimizer, Problem

__all__ = ["RandomSearch"]


class RandomSearch(Optimizer):
    """Sample a configuration uniformly (a candidate row on tabular tasks) and train it to ``max_epoch``.

    Args:
        problem: the task's :class:`Problem`.
        seed: seed of the sampling.
    """

    name = "random_search"

    def __init__(self, problem: Problem, seed):
        super().__init__(problem, seed)
        self._order: list[int] = []

    def _ask(self) -> Job | None:
        tid = self.new_trial_id()
        if self.problem.is_tabular:
            # without replacement through a fresh permutation of the pool; a new permutation once it is used up
            if not self._order:
                self._order = self.rng.permutation(self.problem.n_candidates).tolist()[::-1]
            return Job(tid, self.problem.max_epoch, config_id=int(self._order.pop()))
        return Job(tid, self.problem.max_epoch, config=self.sample_config())

    def _tell(self, job: Job, observation: Observation) -> None:
        pass
