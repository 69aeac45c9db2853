"""LiveTask: on-demand training with freeze-thaw, served through the ask/tell interface."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lcsim.errors import BudgetError, InvalidParameterError
from lcsim.live import LiveTask, load_dataset
from lcsim.live.spaces import sample_configs
from lcsim.optimizers._base import Job
from lcsim.optimizers.random_search import RandomSearch

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris", seed=0)


def test_observe_resumes_and_charges_new_epochs_only(iris):
    live = LiveTask(iris, "mlp", seed=0, max_epoch=4)
    cfg = sample_configs(live.space, 1, 3).to_dict("records")[0]
    o1 = live.observe(Job(0, 2, config=cfg))
    assert o1.epochs.tolist() == [1, 2] and o1.cost > 0 and o1.metrics.shape == (2, len(live.metrics))
    o2 = live.observe(Job(0, 4, config=cfg))
    assert o2.epochs.tolist() == [3, 4] and live.trainers[0].epoch == 4
    o3 = live.observe(Job(0, 2, config=cfg))
    assert o3.epochs.tolist() == [2] and o3.cost == 0.0 and o3.values[0] == o1.values[1]
    # the same configuration in another trial gives the same curve (seed from the configuration)
    o4 = live.observe(Job(1, 4, config=cfg))
    np.testing.assert_array_equal(o4.values, np.concatenate([o1.values, o2.values]))
    with pytest.raises(InvalidParameterError, match="cannot continue"):
        live.observe(Job(0, 4, config=dict(cfg, units=cfg["units"] + 1)))
    with pytest.raises(BudgetError):
        live.train(0, cfg, 5)


def test_random_search_runs_live(iris):
    live = LiveTask(iris, "mlp", seed=1, max_epoch=3)
    opt = RandomSearch(live.problem(), seed=0)
    df = live.run(opt, 6)
    assert df.trial_id.nunique() == 2 and df.budget_used.iloc[-1] == 6
    assert {"m_sharpness", "m_agn_sum", "m_valid_auc"} <= set(df.columns)


def test_fghpo_live_flow(iris):
    live = LiveTask(iris, "mlp", seed=2, max_epoch=3)
    configs = sample_configs(live.space, 4, 5).to_dict("records")
    s = [live.train(i, c, 1)[-1]["sharpness"] for i, c in enumerate(configs)]
    keep = [i for i in np.argsort(s) if s[i] > 0][:2]
    final = {i: live.train(i, configs[i], 3) for i in keep}
    assert all(len(r) == 3 and live.trainers[i].epoch == 3 for i, r in final.items())
    assert all(live.trainers[i].epoch == 1 for i in range(4) if i not in keep)


def test_successive_halving_freeze_thaw_live(iris):
    """SH on a live task: promoted trials resume (each trial's trainer epochs equal its highest rung)."""
    from lcsim.optimizers.hyperband import SuccessiveHalving

    live = LiveTask(iris, "mlp", seed=3, max_epoch=4)
    opt = SuccessiveHalving(live.problem(), seed=0, eta=2, n_configs=4)
    df = live.run(opt, 8)  # one bracket: 4 x 1 + 2 x (2 - 1) + 1 x (4 - 2) epochs
    paid = df.groupby("trial_id").epoch.max()
    assert sorted(paid.tolist()) == [1, 1, 2, 4]  # 4 configs at epoch 1, 2 promoted to 2, 1 to 4
    assert all(live.trainers[t].epoch == e for t, e in paid.items())
    assert df.budget_used.iloc[-1] == 4 * 1 + 2 * 1 + 1 * 2  # resuming pays only the new epochs
