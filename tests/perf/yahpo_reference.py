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
sampler; all 24 are evaluated in one batched ``objective_function`` call, with input checking on.
"""
import hashlib
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
    import yahpo_gym
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
    res = bench.objective_function(configs)
    for cfg, r in zip(configs, res):
        cells.append({"task_id": cfg["OpenML_task_id"], "epoch": cfg["epoch"],
                      "config": {k: (v.item() if hasattr(v, "item") else v) for k, v in cfg.items()
                                 if k not in ("OpenML_task_id", "epoch")},
                      "outputs": {k: float(v) for k, v in r.items()}})
    model = Path(data_path) / "lcbench" / "model.onnx"
    doc = {"meta": {"yahpo_gym": yahpo_gym.__version__ if hasattr(yahpo_gym, "__version__") else "1.0.2",
                    "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                    "ConfigSpace": ConfigSpace.__version__,
                    "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
                    "script": "tests/perf/yahpo_reference.py"},
           "cells": cells}
    Path(out).write_text(json.dumps(doc, indent=1))
    print(f"wrote {len(cells)} cells to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
