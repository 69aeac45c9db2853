"""One seeded script per figure/table of the three papers; run them with ``python -m paper_figures``."""

SCRIPTS = ("dpl_fig1", "dpl_fig2", "dpl_fig3", "dpl_fig4", "dpl_fig5", "dpl_fig6", "fghpo_fig1", "fghpo_fig2",
           "fghpo_fig3", "fghpo_fig5", "fghpo_corr", "fghpo_table1", "agn_fig1", "agn_fig2", "agn_fig3", "agn_fig4",
           "agn_table1", "agn_table2", "agn_table3", "agn_table4")
