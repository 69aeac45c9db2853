"""Record reference outputs of yahpo-gym's LCBench surrogate for lcsim's cross-check test.

This script is NOT part of lcsim and is never imported by it: it runs in a throwaway environment holding the reference
library (yahpo-gym pins numpy<2 and ConfigSpace<=0.6.1, so it is never a dependency of lcsim). The JSON it writes,
``tests/fixtures/yahpo_lcbench_reference.json``, is what ``tests/test_yahpo.py`` compares lcsim's own onnxruntime
queries against.

Exact commands used (Python 3.11, offline data folder laid out as yahpo-gym expects)::

    /usr/bin/python3.11 -m venv /tmp/yahpo-venv
    /tmp/yahpo-venv/bin/pip install yahpo-gym onnxruntime      # got yahpo_gym 1.0.2, numpy 1.26.4,
                                                                # ConfigSpace 0.6.1, onnxruntime 1.32.0
    /tmp/yahpo-venv/bin/python tests/perf/yahpo_reference.py /work/shared/data/yahpo_data \
        tests/fixtures/yahpo_lcbench_reference.json

Cells: 24 (task, configuration, epoch) triples. Tasks and epochs are drawn with ``numpy.random.default_rng(20261122)``
(epochs 1 and 52 always included), configurations with yahpo-gym's own ``BenchmarkSet.get_opt_space(seed=...)``
sampler, with input checking on. Each cell holds two predictions of yahpo-gym:

* ``outputs``: all 24 cells in one batched ``objective_function`` call (one onnxruntime run of 24 rows);
* ``outputs_single_row``: one ``objective_function([cell])`` call per cell (one run of 1 row).

They differ: onnxruntime's float32 kernels accumulate in an order that depends on the batch size, so a row predicted
alone may differ from the same row predicted in the batch by a few float32 ulps of the network's output, which the
output transformations amplify (``meta["single_row_vs_batched_max_rel"]`` records the largest relative difference
per output). lcsim's test compares like with like (batched with ``outputs``, one row with ``outputs_single_row``).
"""
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np


def main(data_path: str, out: str) -> None:
    from yahpo_gym import local_config

    local_config.init_config()
    local_config.set_data_path(data_path)
    import ConfigSpace
    import onnxruntime
    from yahpo_gym import BenchmarkSet

    bench = BenchmarkSet("lcbench", check=True)
    instances = list(bench.instances)
    rng = np.random.default_rng(20261122)
    n = 24
    cells, configs = [], []
    for i in range(n):
        inst = instances[int(rng.integers(len(instances)))]
        bench.set_instance(inst)
        space = bench.get_opt_space(drop_fidelity_params=True, seed=int(rng.integers(2**31)))
        cfg = space.sample_configuration().get_dictionary()
        epoch = 1 if i == 0 else 52 if i == 1 else int(rng.integers(1, 53))
        cfg = dict(cfg, epoch=epoch, OpenML_task_id=inst)
        configs.append(cfg)
    bench.constants = {}
    res = bench.objective_function(configs)  # one batched call
    single = [bench.objective_function([cfg])[0] for cfg in configs]  # one call per row
    worst: dict[str, float] = {}
    for cfg, r, r1 in zip(configs, res, single):
        cells.append({"task_id": cfg["OpenML_task_id"], "epoch": cfg["epoch"],
                      "config": {k: (v.item() if hasattr(v, "item") else v) for k, v in cfg.items()
                                 if k not in ("OpenML_task_id", "epoch")},
                      "outputs": {k: float(v) for k, v in r.items()},
                      "outputs_single_row": {k: float(v) for k, v in r1.items()}})
        for k in r:
            worst[k] = max(worst.get(k, 0.0), abs(float(r1[k]) - float(r[k])) / abs(float(r[k])))
    model = Path(data_path) / "lcbench" / "model.onnx"
    doc = {"meta": {"yahpo_gym": importlib.metadata.version("yahpo-gym"),
                    "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                    "ConfigSpace": ConfigSpace.__version__,
                    "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
                    "script": "tests/perf/yahpo_reference.py",
                    "prediction": "outputs: one batched objective_function call over all cells; "
                                  "outputs_single_row: one objective_function call per cell",
                    "single_row_vs_batched_max_rel": worst},
           "cells": cells}
    Path(out).write_text(json.dumps(doc, indent=1))
    print(f"wrote {len(cells)} cells to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
