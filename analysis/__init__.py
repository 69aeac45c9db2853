"""Pure analysis functions over lcsim results (tables in, tidy DataFrames out); plotting functions take ``ax``."""
from . import efficiency, iou, ranking, regret, stats  # noqa: F401

__all__ = ["efficiency", "iou", "ranking", "regret", "stats"]
