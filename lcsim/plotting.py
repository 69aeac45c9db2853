"""One look per HPO method in every figure lcsim draws, and legends that stay off the data.

:data:`METHOD_STYLES` gives every registered method (``lcsim.optimizers.METHODS``) its own colour, line style and
marker, so a method looks the same in the CLI's ``regret.png``, the DPL figures and the critical-difference
diagrams, whatever other methods share the figure (matplotlib's colour cycle would colour by position: the 11th
line repeats the 1st). Colours come from the Okabe-Ito and Paul Tol colour-blind-safe palettes plus a few
high-contrast extras, all distinct; the line style says the family (solid: model-based multi-fidelity, dashed:
random search and bandits, dash-dot: black-box optimizers) and the marker tells lines apart where colours are hard
to separate (print, colour-vision deficiencies).

Labels that are not registered names get a deterministic fallback from a CRC-32 of the label: a colour outside the
table, a dotted line and a thin marker (``1``-``4``). A labelled variant of a registered method (``hb2=hyperband`` on
the command line puts ``hb2`` in the results) passes its ``base`` and keeps the base's colour, dotted, with a thin
marker. Line styles are matplotlib's named ones, so a drawn line reads back its style with ``get_linestyle()``. This
module imports matplotlib only inside functions, so importing it costs nothing.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

from lcsim.errors import check_choice, unknown_name

__all__ = ["METHOD_STYLES", "method_style", "method_styles", "method_colors", "legend_outside"]

_MF, _BANDIT, _BLACKBOX = "-", "--", "-."

# name -> (colour, line style, marker); colours pairwise distinct, markers pairwise distinct
METHOD_STYLES: dict[str, dict[str, str]] = {
    name: {"color": color, "linestyle": ls, "marker": marker}
    for name, (color, ls, marker) in {
        # model-based multi-fidelity
        "dpl": ("#D55E00", _MF, "o"),           # Okabe-Ito vermillion
        "dyhpo": ("#0072B2", _MF, "s"),         # Okabe-Ito blue
        "fghpo": ("#009E73", _MF, "^"),         # Okabe-Ito bluish green
        "bohb": ("#E69F00", _MF, "v"),          # Okabe-Ito orange
        "dehb": ("#CC79A7", _MF, "D"),          # Okabe-Ito reddish purple
        "smac": ("#332288", _MF, "P"),          # Tol indigo
        "boca": ("#8C564B", _MF, "X"),          # brown
        # random search and bandits
        "random_search": ("#000000", _BANDIT, "x"),
        "successive_halving": ("#56B4E9", _BANDIT, "<"),  # Okabe-Ito sky blue
        "hyperband": ("#882255", _BANDIT, ">"),  # Tol wine
        "asha": ("#999933", _BANDIT, "d"),      # Tol olive
        # black-box optimizers (full-budget evaluations)
        "tpe": ("#AA4499", _BLACKBOX, "*"),     # Tol purple
        "cmaes": ("#E6194B", _BLACKBOX, "p"),   # red
        "pso": ("#44AA99", _BLACKBOX, "h"),     # Tol teal
        "turbo": ("#800000", _BLACKBOX, "H"),   # maroon
        "hebo": ("#F032E6", _BLACKBOX, "8"),    # magenta
        "optuna": ("#7F7F7F", _BLACKBOX, "+"),  # grey
    }.items()
}

# fallbacks: colours and markers outside the table, and line styles the table does not use
_FALLBACK_COLORS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#17BECF", "#BCBD22", "#E377C2")
_FALLBACK_MARKERS = ("1", "2", "3", "4")


def _derived(label: str, base: str | None, probe: int) -> dict:
    """The ``probe``-th candidate style of a label outside the table (``probe`` > 0 resolves collisions)."""
    h = zlib.crc32(label.encode("utf-8")) + probe
    if base is None:
        color = _FALLBACK_COLORS[h % len(_FALLBACK_COLORS)]
        marker = _FALLBACK_MARKERS[(h // len(_FALLBACK_COLORS)) % len(_FALLBACK_MARKERS)]
        return {"color": color, "linestyle": ":", "marker": marker}
    if base not in METHOD_STYLES:
        raise unknown_name("method", base, METHOD_STYLES)
    return {**METHOD_STYLES[base], "linestyle": ":", "marker": _FALLBACK_MARKERS[h % len(_FALLBACK_MARKERS)]}


def _n_candidates(base: str | None) -> int:
    return len(_FALLBACK_COLORS) * len(_FALLBACK_MARKERS) if base is None else len(_FALLBACK_MARKERS)


def _is_table(label: str, base: str | None) -> bool:
    return label in METHOD_STYLES and base in (None, label)


def method_style(name: str, base: str | None = None) -> dict:
    """Line2D properties (``color``, ``linestyle``, ``marker``) of method ``name``.

    Args:
        name: a registered method name (its fixed style) or any other label (a deterministic fallback).
        base: the registered method a labelled variant runs (``hb2`` with base ``hyperband``): the variant keeps
            the base's colour, dotted (a line style the table does not use), with a marker the table does not use.

    Returns:
        a new dict, safe to modify.
    """
    name = str(name)
    if _is_table(name, base):
        return dict(METHOD_STYLES[name])
    return _derived(name, base, 0)


def method_styles(labels: Iterable[str], bases: Mapping[str, str] | None = None) -> dict[str, dict]:
    """Styles of all the lines of one figure: :func:`method_style` of each label, with collisions resolved.

    Registered methods always get their table style. Two fallback or variant labels whose hashes pick the same
    style take the next free candidate, in sorted label order, so every label of the figure looks different
    (while candidates last: 32 fallbacks, 4 variants per base).

    Args:
        labels: the method labels drawn in the figure.
        bases: label -> registered method name, for labelled variants (labels absent from it have no base).
    """
    bases = bases or {}
    labels = sorted({str(lab) for lab in labels})
    out = {lab: dict(METHOD_STYLES[lab]) for lab in labels if _is_table(lab, bases.get(lab))}
    used = {_key(s) for s in out.values()}
    for lab in labels:
        if lab in out:
            continue
        base = bases.get(lab)
        for probe in range(_n_candidates(base)):
            style = _derived(lab, base, probe)
            if _key(style) not in used:
                break
        else:  # every candidate taken: keep the hash's own choice
            style = _derived(lab, base, 0)
        out[lab] = style
        used.add(_key(style))
    return out


def method_colors(labels: Iterable[str], bases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Label -> colour of :func:`method_styles` (for drawings that take colours only, such as CD diagrams)."""
    return {lab: s["color"] for lab, s in method_styles(labels, bases).items()}


def _key(style: dict) -> tuple:
    return style["color"].lower(), style["linestyle"], style["marker"]


def legend_outside(ax, *, handles_from=None, where: str = "right", fontsize: str = "small", title: str | None = None):
    """Draw the legend of ``ax`` outside its data area, so it never covers a curve.

    ``where="right"``: to the right of the axes, top-aligned; ``"below"``: under the x-axis labels, in up to 4
    columns. Both leave the figure's bounding box, so save with ``bbox_inches="tight"`` or lay the figure out
    with ``tight_layout``/``layout="constrained"`` (both count the legend).

    Args:
        ax: the axes to attach the legend to (for several panels, the right-most or lowest one).
        handles_from: axes whose labelled artists the legend lists (default ``[ax]``); a label seen twice is
            listed once, so panels drawn in the same styles share one legend.
        where: ``"right"`` or ``"below"``.
        fontsize: matplotlib font size of the entries.
        title: the legend's title (e.g. the column a pandas bar plot splits by).

    Returns:
        the Legend, or None when no artist has a label.
    """
    check_choice("legend_outside", "where", where, ("right", "below"))
    handles, labels = [], []
    for a in handles_from if handles_from is not None else [ax]:
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if not handles:
        return None
    if where == "right":
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                         fontsize=fontsize, title=title, title_fontsize=fontsize)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, _below_xaxis(ax)),
                     borderaxespad=0.0, ncol=min(4, len(handles)), fontsize=fontsize, title=title,
                     title_fontsize=fontsize)


def _below_xaxis(ax) -> float:
    """Axes-fraction y just under the x axis' tick and axis labels (drawn once to measure them)."""
    canvas = ax.figure.canvas
    get_renderer = getattr(canvas, "get_renderer", None)
    if get_renderer is None:  # a canvas without its own renderer: a margin that clears one line of ticks + label
        return -0.25
    box = ax.xaxis.get_tightbbox(get_renderer())
    if box is None:
        return -0.02
    return float(ax.transAxes.inverted().transform((0.0, box.y0))[1]) - 0.02
