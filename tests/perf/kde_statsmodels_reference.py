"""Record statsmodels' KDEMultivariate densities for lcsim's BOHB KDE test (run in the throwaway reference venv).

    /tmp/venv-ref/bin/python tests/perf/kde_statsmodels_reference.py tests/fixtures/bohb_kde_statsmodels.json

Fits ``KDEMultivariate(data, var_type, bw='normal_reference')`` exactly as HpBandSter's BOHB does (then clips the
bandwidths at 1e-3) on seeded data with continuous and unordered-categorical columns, and stores data, bandwidths,
query points and densities. ``tests/test_mf_baselines.py`` checks :class:`lcsim.optimizers.bohb.ProductKDE` against
them.
"""
import json
import sys

import numpy as np
import statsmodels
import statsmodels.api as sm

rng = np.random.default_rng(2024)
cases = []
for n, var_type in [(8, "cc"), (12, "ccu"), (20, "cucc"), (5, "c")]:
    cols = []
    for v in var_type:
        cols.append(rng.integers(0, 3, n).astype(float) if v == "u" else rng.random(n))
    data = np.column_stack(cols)
    kde = sm.nonparametric.KDEMultivariate(data=data, var_type=var_type, bw="normal_reference")
    kde.bw = np.clip(kde.bw, 1e-3, None)
    q = np.column_stack([rng.integers(0, 3, 6).astype(float) if v == "u" else rng.random(6) for v in var_type])
    cases.append({"var_type": var_type, "data": data.tolist(), "bw": kde.bw.tolist(), "query": q.tolist(),
                  "pdf": [float(kde.pdf(x)) for x in q]})
out = {"statsmodels": statsmodels.__version__, "numpy": np.__version__, "cases": cases}
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
print("wrote", sys.argv[1])
