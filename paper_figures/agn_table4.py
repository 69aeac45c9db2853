"""AGN Table 4 (appendix: Fashion-MNIST and SVHN, CMA-ES and PSO): Table 1's protocol on a second dataset
(small scale: breast_cancer, MLP 2x64; full: SVHN, ResNet-20). Outputs and statistics as ``agn_table1``."""
from __future__ import annotations

from ._agn import agn_scale
from .agn_table1 import METHODS, table_main

NAME = "agn_table4"
CLAIM = ("On further datasets, AGN objectives give equal or marginally better test accuracy than Val and can avoid "
         "overfitting the validation set, with results depending on alpha (AGN Table 4).")


def main(ctx):
    return table_main(ctx, NAME, CLAIM, METHODS, agn_scale(ctx).blackbox, "AGN Table 4")
