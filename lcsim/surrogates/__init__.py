"""Learning-curve surrogates: the DPL ensemble (DPL eq. 3-6) and the per-curve / conditioned models of DPL Hypothesis 1.

Every Hypothesis-1 model shares :class:`~lcsim.surrogates.lc_models.LCModel`'s small interface
(``fit(configs_encoded, curves, budgets)`` / ``predict(which, budget) -> (mean, std)``);
:func:`~lcsim.surrogates.lc_models.lc_predictions` gives the per-configuration predictions from partial curves and
:func:`~lcsim.surrogates.lc_models.lc_prediction_study` DPL Fig. 2's correlations from them.
"""
from __future__ import annotations

from .dpl_ensemble import DPLEnsemble, power_law
from .lc_models import (
                        DPLLC,
                        GPLC,
                        LC_MODELS,
                        NNLC,
                        ConditionedNNLC,
                        LCModel,
                        PowerLawLC,
                        lc_prediction_study,
                        lc_predictions,
                        lc_targets,
)

__all__ = ["DPLEnsemble", "power_law", "LCModel", "PowerLawLC", "NNLC", "GPLC", "ConditionedNNLC", "DPLLC",
           "LC_MODELS", "lc_targets", "lc_predictions", "lc_prediction_study"]
