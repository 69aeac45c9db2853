"""AGN Table 2: BOHB with the Val objective or eq. 6 with normalized AGN (``alpha * AGN(theta_t) / t + loss``, see
``lcsim.proxy.agn_search``), minimum budget a quarter of the maximum, eta = 2, the black-box epoch budget; test
accuracy and loss of the incumbent after retraining, vs the paper's Default. Outputs and statistics as
``agn_table1`` (small scale: digits and breast_cancer, MLP 2x64, budgets 4 / 8 / 16 epochs (paper: 40 / 80 / 160),
512 epochs per search)."""
from __future__ import annotations

from ._agn import agn_scale
from .agn_table1 import table_main

NAME = "agn_table2"
CLAIM = ("AGN objectives do not help BOHB: with them BOHB rarely beats the Default and often does worse than with "
         "Val, since AGN's relation to generalization changes over training (AGN Table 2, observation 3).")


def main(ctx):
    return table_main(ctx, NAME, CLAIM, ("bohb",), agn_scale(ctx).bohb, "AGN Table 2")
