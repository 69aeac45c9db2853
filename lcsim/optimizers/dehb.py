"""DEHB: differential evolution inside Hyperband brackets (Awad et al. 2021, Algorithms 1-2).

Follows the authors' reference implementation (``automl/DEHB`` 0.1.x, ``DEHB._acquire_config`` / ``tell``), with its
defaults: strategy ``rand1_bin``, mutation factor ``F = 0.5``, crossover probability ``CR = 0.5``, ``eta = 3``,
random boundary repair, no population ageing.

* **Brackets** (:func:`dehb_brackets`): DEHB's own schedule, which differs from Li et al.'s Hyperband in the first
  rung: with ``S = s_max + 1`` fidelity levels, bracket ``s`` starts ``n_0 = floor(S / (s + 1)) * eta**s``
  configurations (Hyperband: ``ceil``); rung ``i`` has ``max(floor(n_0 * eta**-i), 1)``. Fidelity level ``k`` is the
  budget ``max_epoch * eta**(k - s_max)`` rounded to an epoch (the last exactly ``max_epoch``).
* **Subpopulations**: one DE population per fidelity level, of size the largest rung any bracket has at that level,
  initialised at random (fitness ``+inf``) and used as mutation material before evaluation.
* **Configuration for a rung** (``_acquire_config``): the next parent (a cyclic counter over the level's subpopulation)
  is the DE target. In the first ``S`` brackets, rungs above the first promote the best evaluated individuals of the
  level below that are not yet in this level's subpopulation (vanilla successive halving). Otherwise a new
  configuration is evolved: the parents for mutation are the ``n_i`` best individuals of the level below (the same
  level for a first rung), topped up to 4 with mutants of the global population when fewer than 3; mutation
  ``rand/1`` (``v = r1 + F (r2 - r3)``, eq. 1 of the paper, the target excluded from the draw), binomial crossover
  with the target (eq. 2, at least one dimension from the mutant), out-of-range dimensions redrawn uniformly.
* **Selection** (``tell``): the result replaces the target of its level's subpopulation if its fitness is ``<=`` the
  target's (eq. 3); the global incumbent is the best individual of any level.
* **Synchronous successive halving**: a rung is handed out only once every job of the rung below has returned; a
  blocked bracket lets the next one start (several workers), as in the reference.

lcsim specifics: a promoted individual continues its trial (freeze-thaw, ``resume=True``; the reference retrains
from scratch, ``resume=False`` does too) unless that trial is running, then it is a new trial of the same
configuration. Evolved configurations are new trials; on tabular tasks the engine maps them to the nearest unused
candidate, initial subpopulations are drawn from the pool, and the population stores the vector of the candidate
actually served. Diverged runs keep the served (worst) value as fitness, so they lose every selection they can lose.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import check_choice, check_float, check_int
from ..space import SpaceCodec
from ._base import Job, Observation, Optimizer, Problem
from ._brackets import Bracket, hpbandster_brackets

__all__ = ["DEHB", "dehb_brackets", "mutation_rand1", "crossover_bin", "boundary_fix"]


def dehb_brackets(min_epoch: int, max_epoch: int, eta: int = 3) -> tuple[list[int], list[Bracket]]:
    """DEHB's fidelity levels and brackets (reference ``_get_next_iteration``): HpBandSter's schedule,
    :func:`~lcsim.optimizers._brackets.hpbandster_brackets`."""
    return hpbandster_brackets(min_epoch, max_epoch, eta)


def mutation_rand1(r1: np.ndarray, r2: np.ndarray, r3: np.ndarray, factor: float) -> np.ndarray:
    """DE/rand/1 mutant ``r1 + F * (r2 - r3)`` (Awad et al. 2021, eq. 1); vectors of shape (d,)."""
    return r1 + factor * (r2 - r3)


def crossover_bin(target: np.ndarray, mutant: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Binomial crossover (eq. 2): each dimension from the mutant with probability ``prob``, at least one."""
    cross = rng.random(len(target)) < prob
    if not np.any(cross):
        cross[rng.integers(0, len(target))] = True
    return np.where(cross, mutant, target)


def boundary_fix(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Redraw dimensions outside [0, 1] uniformly (the reference's ``boundary_fix_type='random'``)."""
    vector = np.array(vector, dtype=float)
    bad = np.flatnonzero((vector > 1) | (vector < 0))
    if len(bad):
        vector[bad] = rng.uniform(0.0, 1.0, size=len(bad))
    return vector


@dataclass
class _DEBracket:
    bracket: Bracket
    bid: int                       # iteration counter of the bracket
    levels: list                   # fidelity level of every rung
    rung: int = 0
    allocated: list = field(default_factory=list)
    completed: list = field(default_factory=list)

    def __post_init__(self):
        self.allocated = [0] * len(self.bracket.rungs)
        self.completed = [0] * len(self.bracket.rungs)

    def eligible(self) -> bool:
        r = self.rung
        n = self.bracket.rungs[r].n
        return self.allocated[r] < n and (r == 0 or self.completed[r - 1] >= self.bracket.rungs[r - 1].n)

    @property
    def done(self) -> bool:
        return all(c >= r.n for c, r in zip(self.completed, self.bracket.rungs))


class DEHB(Optimizer):
    """DEHB with the reference defaults.

    Args:
        problem: the task's problem (``min_epoch``..``max_epoch`` set the fidelity levels).
        seed: seed of every random choice.
        eta: halving rate, int >= 2 (default 3).
        mutation_factor: DE's ``F`` in (0, 2] (default 0.5).
        crossover_prob: DE's ``CR`` in [0, 1] (default 0.5).
        strategy: only ``"rand1_bin"`` (DEHB's default and the DPL paper's setting).
        resume: continue promoted trials (freeze-thaw) instead of retraining them.
    """

    name = "dehb"
    proposes_configs = True

    def __init__(self, problem: Problem, seed, eta: int = 3, mutation_factor: float = 0.5,
                 crossover_prob: float = 0.5, strategy: str = "rand1_bin", resume: bool = True):
        super().__init__(problem, seed)
        self.eta = check_int("DEHB", "eta", eta, 2)
        self.mutation_factor = check_float("DEHB", "mutation_factor", mutation_factor, 0.0, 2.0, closed="right")
        self.crossover_prob = check_float("DEHB", "crossover_prob", crossover_prob, 0.0, 1.0)
        self.strategy = check_choice("DEHB", "strategy", strategy, ("rand1_bin",))
        self.resume = bool(resume)
        self.codec = SpaceCodec(problem.space, "bins")
        self.d = self.codec.d
        self._cand_vectors = self.codec.encode(problem.candidates) if problem.is_tabular else None
        self.levels, self.brackets = dehb_brackets(problem.min_epoch, problem.max_epoch, self.eta)
        self.n_levels = len(self.levels)
        sizes = [0] * self.n_levels
        for b in self.brackets:
            for i, r in enumerate(b.rungs):
                k = self.n_levels - 1 - b.s + i
                sizes[k] = max(sizes[k], r.n)
        self.pop = [self._random_vectors(p) for p in sizes]
        self.fitness = [np.full(p, np.inf) for p in sizes]
        self.pop_trial = [np.full(p, -1, dtype=int) for p in sizes]
        self.parent_counter = [0] * self.n_levels
        self.promotion: list[list | None] = [None] * self.n_levels
        self.inc_score = np.inf
        self.inc_vector: np.ndarray | None = None
        self.iteration = -1
        self._active: list[_DEBracket] = []
        self._served: dict[int, int | None] = {}   # trial id -> candidate row served

    def params(self) -> dict:
        return {"eta": self.eta, "mutation_factor": self.mutation_factor, "crossover_prob": self.crossover_prob,
                "strategy": self.strategy, "resume": self.resume}

    # ------------------------------------------------------------------ populations
    def _random_vectors(self, n: int) -> np.ndarray:
        """``n`` random individuals: pool rows on tabular tasks, else uniform in the unit cube (categorical
        dimensions snapped to their bins' lower edges, as ``configspace_to_vector`` encodes a sampled config)."""
        if self._cand_vectors is not None:
            return self._cand_vectors[self.rng.integers(0, len(self._cand_vectors), size=n)].copy()
        v = self.rng.uniform(0.0, 1.0, size=(n, self.d))
        nc = self.codec.n_choices
        for j in np.flatnonzero(nc > 0):
            v[:, j] = np.floor(v[:, j] * nc[j]) / nc[j]
        return v

    def _sample_parents(self, population: np.ndarray, target: np.ndarray | None, size: int = 3) -> np.ndarray:
        """The reference's ``AsyncDE._sample_population``: drop the target once, top up randomly, draw ``size``."""
        if target is not None and len(population) > 1:
            for i, row in enumerate(population):
                if np.all(target == row):
                    population = np.concatenate((population[:i], population[i + 1:]))
                    break
        if len(population) < 3:
            population = np.concatenate((population, self._random_vectors(3 - len(population))))
        sel = self.rng.choice(np.arange(len(population)), size, replace=False)
        return population[sel]

    def _mutant(self, population: np.ndarray, target: np.ndarray) -> np.ndarray:
        r1, r2, r3 = self._sample_parents(population, target)
        return mutation_rand1(r1, r2, r3, self.mutation_factor)

    def _promotion_candidate(self, low: int, high: int, n_configs: int) -> tuple[np.ndarray, int]:
        ev = np.flatnonzero(self.fitness[low] != np.inf)
        order = ev[np.argsort(self.fitness[low][ev], kind="stable")]
        if not self.promotion[high]:
            cands = []
            for i in order:
                ind = self.pop[low][i]
                if np.any(np.all(ind == self.pop[high], axis=1)):
                    continue
                cands.append((ind.copy(), int(self.pop_trial[low][i])))
            self.promotion[high] = cands[:n_configs]
        if self.promotion[high]:
            return self.promotion[high].pop(0)
        i = order[0]
        return self.pop[low][i].copy(), int(self.pop_trial[low][i])

    # ------------------------------------------------------------------ ask/tell
    def _ask(self) -> Job | None:
        br = next((b for b in self._active if b.eligible()), None)
        if br is None:
            self.iteration += 1
            b = self.brackets[self.iteration % len(self.brackets)]
            br = _DEBracket(b, self.iteration, [self.n_levels - 1 - b.s + i for i in range(len(b.rungs))])
            self._active.append(br)
        r = br.rung
        k = br.levels[r]
        epoch = br.bracket.rungs[r].epoch
        n_configs = br.bracket.rungs[r].n
        parent = self.parent_counter[k]
        self.parent_counter[k] = (parent + 1) % len(self.pop[k])
        target = self.pop[k][parent]
        low = br.levels[max(r - 1, 0)]
        br.allocated[r] += 1
        if br.allocated[r] >= n_configs and r + 1 < len(br.bracket.rungs):
            br.rung += 1
        info = {"bracket": br.bracket.s, "bracket_run": br.bid, "rung": r, "level": k, "parent": parent}
        if self.iteration < self.n_levels and r > 0:
            vec, trial = self._promotion_candidate(low, k, n_configs)
            info["vector"] = vec
            info["promoted"] = True
            if trial >= 0 and self.resume and trial not in self.running:
                return Job(trial, epoch, info=info)
            cid = self._served.get(trial)
            if cid is not None:
                return Job(self.new_trial_id(), epoch, config_id=cid, info=info)
            return Job(self.new_trial_id(), epoch, config=self.codec.decode(vec), info=info)
        order = np.argsort(self.fitness[low], kind="stable")[:n_configs]
        mpop = self.pop[low][order]
        if len(mpop) < 3:
            glob = np.concatenate(self.pop)
            filler = np.array([self._mutant(glob, target) for _ in range(3 - len(mpop) + 1)])
            mpop = np.concatenate((mpop, filler))
        mutant = self._mutant(mpop, target)
        vec = boundary_fix(crossover_bin(target, mutant, self.crossover_prob, self.rng), self.rng)
        info["vector"] = vec
        info["promoted"] = False
        return Job(self.new_trial_id(), epoch, config=self.codec.decode(vec), info=info)

    def _tell(self, job: Job, obs: Observation) -> None:
        info = job.info
        br = next(b for b in self._active if b.bid == info["bracket_run"])
        br.completed[info["rung"]] += 1
        if br.done:
            self._active.remove(br)
        k, parent = info["level"], info["parent"]
        if obs.config_id is not None:
            self._served[job.trial_id] = int(obs.config_id)
        if self._cand_vectors is not None and obs.config_id is not None:
            vec = self._cand_vectors[int(obs.config_id)].copy()
        else:
            vec = np.asarray(info["vector"], dtype=float)
        fit = (1.0 if self.problem.minimize else -1.0) * obs.last
        if fit <= self.fitness[k][parent]:
            self.pop[k][parent] = vec
            self.fitness[k][parent] = fit
            self.pop_trial[k][parent] = job.trial_id
        if self.fitness[k][parent] < self.inc_score:
            self.inc_score = float(self.fitness[k][parent])
            self.inc_vector = self.pop[k][parent].copy()
