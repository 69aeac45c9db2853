"""Successive halving, Hyperband and ASHA against hand-worked rung tables and sequences."""
from __future__ import annotations

import numpy as np
import pytest

from lcsim.errors import InvalidParameterError
from lcsim.optimizers import Observation, Problem, make_optimizer
from lcsim.optimizers._brackets import hyperband_brackets, successive_halving_rungs
from lcsim.optimizers.asha import ASHA, asha_rungs
from lcsim.replay import Budget, problem_for, run


def table(brackets):
    return [(b.s, [(r.n, r.epoch) for r in b.rungs]) for b in brackets]


def test_hyperband_brackets_R81_eta3_li_et_al_table():
    # Li et al. 2017, Table 1 (R = 81, eta = 3)
    assert table(hyperband_brackets(1, 81, 3)) == [
        (4, [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)]),
        (3, [(34, 3), (11, 9), (3, 27), (1, 81)]),
        (2, [(15, 9), (5, 27), (1, 81)]),
        (1, [(8, 27), (2, 81)]),
        (0, [(5, 81)]),
    ]


def test_hyperband_brackets_lcbench_52_epochs():
    # s_max = floor(log3 52) = 3; r = 52 * 3^-s rounded: 52/27 = 1.93 -> 2, 52/9 = 5.78 -> 6, 52/3 = 17.3 -> 17
    # n = ceil(4 / (s + 1) * 3^s): 27, 12, 6, 4
    assert table(hyperband_brackets(1, 52, 3)) == [
        (3, [(27, 2), (9, 6), (3, 17), (1, 52)]),
        (2, [(12, 6), (4, 17), (1, 52)]),
        (1, [(6, 17), (2, 52)]),
        (0, [(4, 52)]),
    ]


def test_successive_halving_rungs():
    assert [(r.n, r.epoch) for r in successive_halving_rungs(9, 1, 9, 3)] == [(9, 1), (3, 3), (1, 9)]
    # floor(20/27) = 0 -> at least 1
    assert [(r.n, r.epoch) for r in successive_halving_rungs(20, 1, 27, 3)] == [(20, 1), (6, 3), (2, 9), (1, 27)]


def test_asha_rungs():
    assert asha_rungs(1, 81, 3) == [1, 3, 9, 27, 81]
    assert asha_rungs(1, 52, 3) == [1, 3, 9, 27, 52]
    assert asha_rungs(1, 52, 3, 1) == [3, 9, 27, 52]
    assert asha_rungs(2, 50, 2) == [2, 4, 8, 16, 32, 50]


def _drive(opt, value_of, n):
    """Ask/tell ``n`` times with one worker; the value of a trial comes from ``value_of[trial_id]``."""
    seq = []
    for _ in range(n):
        job = opt.ask()
        seq.append((job.trial_id, job.epoch))
        v = value_of[job.trial_id]
        opt.tell(job, Observation(job.trial_id, job.config_id, np.array([job.epoch]), np.array([v])))
    return seq


def test_asha_hand_worked_sequence(synth):
    # rungs 1, 3, 9 (eta 3); values per trial (any epoch): t0=5, t1=3, t2=8, t3=1, t4=7, t5=2
    # 1-3: rung 0 has < 3 results -> new t0, t1, t2 at epoch 1
    # 4: rung 0 top floor(3/3)=1 is t1 (3) -> promote t1 to 3
    # 5: rung 1 has 1 result (top 0); rung 0 top 1 = t1, already promoted -> new t3
    # 6: rung 0 = {5,3,8,1}: top 1 = t3 -> promote t3 to 3
    # 7: rung 1 = {3,1}: top 0; rung 0 top 1 = t3 (promoted) -> new t4
    # 8: rung 0 has 5 results: top 1 = t3 -> new t5
    # 9: rung 0 has 6: top 2 = t3, t5 -> promote t5 to 3
    # 10: rung 1 = {t1:3, t3:1, t5:2}: top 1 = t3 -> promote t3 to 9
    p = Problem(synth.space, 1, 9, candidates=synth.configs)
    opt = ASHA(p, 0, eta=3)
    seq = _drive(opt, {0: 5, 1: 3, 2: 8, 3: 1, 4: 7, 5: 2, 6: 9}, 11)
    assert seq == [(0, 1), (1, 1), (2, 1), (1, 3), (3, 1), (3, 3), (4, 1), (5, 1), (5, 3), (3, 9), (6, 1)]


def test_asha_maximize_promotes_highest():
    from lcsim.benchmarks.synthetic import synthetic_task

    t = synthetic_task(n_configs=8, n_epochs=9)
    p = Problem(t.space, 1, 9, minimize=False, candidates=t.configs)
    seq = _drive(ASHA(p, 0), {0: 0.5, 1: 0.9, 2: 0.1, 3: 0.3}, 4)
    assert seq[3] == (1, 3)


def test_asha_without_resume_retrains_under_new_trial(synth):
    p = Problem(synth.space, 1, 9, candidates=synth.configs)
    opt = ASHA(p, 0, resume=False)
    jobs = []
    for v in (5, 3, 8):
        j = opt.ask()
        jobs.append(j)
        opt.tell(j, Observation(j.trial_id, j.config_id, np.array([1]), np.array([float(v)])))
    j = opt.ask()
    assert j.trial_id == 3 and j.epoch == 3 and j.config_id == jobs[1].config_id


def test_asha_parameter_validation(synth):
    p = problem_for(synth)
    with pytest.raises(InvalidParameterError, match="'eta' parameter of ASHA must be an int in \\[2, inf\\)"):
        ASHA(p, 0, eta=1)
    with pytest.raises(InvalidParameterError, match="min_early_stopping_rate"):
        ASHA(p, 0, min_early_stopping_rate=5)


def test_successive_halving_promotes_the_best_on_replay(synth):
    # synth has 9 epochs: SH with eta 3 runs 9 configs at 1, the best 3 to 3, the best 1 to 9
    res = run(synth, make_optimizer("successive_halving", problem_for(synth), 4), Budget(9 + 6 + 6))
    t = res.table
    served = synth.served_objective()[:, 0, :]
    rung0 = t[t["epoch"] == 1]
    assert len(rung0) == 9
    best3 = rung0.sort_values(["objective", "trial_id"])["trial_id"].head(3).tolist()
    assert sorted(t[t["epoch"] == 3]["trial_id"]) == sorted(best3)
    r1 = t[t["epoch"] == 3].sort_values(["objective", "trial_id"])
    assert t[t["epoch"] == 9]["trial_id"].tolist() == [r1["trial_id"].iloc[0]]
    # freeze-thaw: promoted trials paid epochs 2..3 and 4..9 only, 21 epochs in all
    assert len(t) == 21
    cid = int(t[t["epoch"] == 9]["config_id"].iloc[0])
    assert t[t["epoch"] == 9]["objective"].iloc[0] == served[cid, 8]


def test_hyperband_parallel_brackets_do_not_block(synth, record_asks):
    """With 16 workers a bracket waiting for its rung lets the next bracket start. Hand-computed for 1..9 epochs,
    eta = 3 (Li et al. Algorithm 1): brackets s = 2 (9 @ 1 -> 3 @ 3 -> 1 @ 9), s = 1 (ceil(3/2 * 3) = 5 @ 3 -> 1 @ 9),
    s = 0 (3 @ 9). At time 0 the 16 workers take the 9 rung-0 jobs of s = 2, the 5 of s = 1 and 2 of s = 0; the
    first finished job frees a worker for the third of s = 0. A blocking bracket (waiting for its rung before the
    next one opens) fails it."""
    opt = make_optimizer("hyperband", problem_for(synth, 16), 0)
    jobs = record_asks(opt)
    res = run(synth, opt, Budget(60), n_workers=16)
    asked = [(j.trial_id, j.config_id, j.epoch, j.info["bracket"], j.info["rung"]) for j in jobs]
    assert [a[2:] for a in asked[:17]] == [(1, 2, 0)] * 9 + [(3, 1, 0)] * 5 + [(9, 0, 0)] * 3
    t = res.table
    replica = int(t["replica"].iloc[0])
    first = t.groupby("trial_id").first()
    for tid, cfg, *_ in asked[:16]:  # started at time 0: their first epoch ends at its own cost
        assert first.loc[tid, "sim_time"] == pytest.approx(float(synth.epoch_cost[cfg, replica, 0]))
    assert set(t["worker"]) == set(range(16))


def _naive_asha_sequence(values, rungs, eta, n):
    """Li et al. 2020 Algorithm 2 written literally (sort every rung on every call), one worker."""
    results = [dict() for _ in rungs]
    promoted = [set() for _ in rungs]
    seq, next_tid = [], 0
    for _ in range(n):
        job = None
        for k in range(len(rungs) - 2, -1, -1):
            top = sorted(results[k].items(), key=lambda kv: (kv[1], kv[0]))[:len(results[k]) // eta]
            cand = [t for t, _ in top if t not in promoted[k]]
            if cand:
                promoted[k].add(cand[0])
                job = (cand[0], k + 1)
                break
        if job is None:
            job = (next_tid, 0)
            next_tid += 1
        tid, k = job
        seq.append((tid, rungs[k]))
        results[k][tid] = values[tid][k]
    return seq


@pytest.mark.parametrize("eta", [2, 3, 4])
def test_asha_matches_literal_algorithm_2(synth, eta):
    rng = np.random.default_rng(eta)
    values = rng.random((400, 8)).round(2)  # rounding makes ties, broken by trial id in both
    p = Problem(synth.space, 1, 27, candidates=synth.configs)
    opt = ASHA(p, 0, eta=eta)
    seq = []
    for _ in range(300):
        job = opt.ask()
        seq.append((job.trial_id, job.epoch))
        k = opt.rungs.index(job.epoch)
        opt.tell(job, Observation(job.trial_id, job.config_id, np.array([job.epoch]),
                                  np.array([values[job.trial_id][k]])))
    assert seq == _naive_asha_sequence(values, opt.rungs, eta, 300)
