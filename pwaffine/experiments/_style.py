"""The look of pwaffine's figures, and the one way they are saved."""

import contextlib

__all__ = ["figure_style", "save_figure"]

#: matplotlib rc parameters of every figure.
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 150,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "lines.linewidth": 1.3,
    "pdf.fonttype": 42,
}


@contextlib.contextmanager
def figure_style():
    """Draw with the Agg backend and :data:`STYLE` (matplotlib is imported here, not at module level)."""
    import matplotlib

    matplotlib.use("Agg")
    with matplotlib.rc_context(STYLE):
        yield


def save_figure(fig, path, pdf=False):
    """Save ``fig`` as PNG (and PDF) without timestamps, so the same figure gives the same bytes."""
    fig.savefig(path.with_suffix(".png"), metadata={"Software": None})
    if pdf:
        fig.savefig(path.with_suffix(".pdf"), metadata={"CreationDate": None, "Producer": None})
