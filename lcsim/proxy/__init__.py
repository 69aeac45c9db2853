"""The proxy-based HPO methods: FGHPO (flatness-guided HPO) and AGN-objective search, with their protocols.

* :class:`lcsim.optimizers.fghpo.FGHPO` (registry name ``fghpo``): Algorithm 1 of the FGHPO paper on the ask/tell
  interface; runs replayed (tasks that store ``sharpness`` per epoch) and live (:class:`lcsim.live.LiveTask`).
* Baselines (registry names ``random_search``, ``tpe``, ``turbo``, ``cmaes``, ``pso``; ``bohb`` from the baselines
  branch): full-fidelity black-box methods through :class:`lcsim.optimizers.blackbox.BlackBox`.
* :mod:`lcsim.proxy.protocol`: FGHPO section 4 protocol (R repeats, medians, Mann-Whitney U + Benjamini-Hochberg,
  wins/ties/losses of Table 2, runtimes), replayed or live.
* :mod:`lcsim.proxy.agn_search`: AGN paper eq. 6 objectives in CMA-ES / PSO with the appendix A.1 round structure,
  search on a 20 % subset, retraining on the full set, 3 repeats; in BOHB / random search through
  :class:`lcsim.proxy.agn_task.AGNObjectiveTask` (eq. 6 served per epoch, AGN normalized by the epoch count).
* :mod:`lcsim.proxy.spaces`: FGHPO Table 3 spaces, a Bayesmark-like MLP space, the AGN section 4.1 space.
* :mod:`lcsim.proxy.tasks`: record a replayable task with proxy metrics by live training.

Example (replayed)::

    from lcsim.proxy.tasks import record_task
    from analysis.stats import wins_ties_losses
    from lcsim.proxy.protocol import run_replayed
    task = record_task("wine", n_configs=60, epochs=10)
    res = run_replayed({"wine": task}, ["fghpo", "random_search", "tpe"], repeats=5,
                       params={"fghpo": {"n_probe": 20, "n_full": 5}})
    print(wins_ties_losses(res))

Command line: ``python -m lcsim.proxy fghpo --scale small`` and ``python -m lcsim.proxy agn --scale small``.
"""
