"""Pure analysis functions over lcsim results (tables in, tidy DataFrames out); plotting functions take ``ax``."""
from . import agn_study, efficiency, iou, landscape, lc_prediction, ranking, regret, stats  # noqa: F401

__all__ = ["agn_study", "efficiency", "iou", "landscape", "lc_prediction", "ranking", "regret", "stats"]
