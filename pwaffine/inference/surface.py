"""Negative log-likelihood surfaces over one or two named parameters."""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .._validation import check_array
from ..model import PushforwardModel
from .likelihood import PopulationNLL, sample_nll

__all__ = ["NLLSurface", "nll_surface"]

#: Two NLL values closer than this (nats) count as equal when looking for
#: local minima, so flat stretches (a parameter that does not matter, such as
#: the mean of a component of weight 0) do not produce spurious minima.
FLAT_TOL = 1e-9


@dataclass(frozen=True)
class NLLSurface:
    """A negative log-likelihood surface and its minima.

    Attributes
    ----------
    parameters : tuple of str
        The varied parameters (one or two names from ``model.parameters()``).
    grids : tuple of ndarray
        Grid of each parameter.
    values : ndarray of shape (len(grids[0]),) or (len(grids[0]), len(grids[1]))
        NLL in nats; ``inf`` at grid points where the model is undefined
        (listed in ``invalid``).
    truth : tuple of float
        The base model's values of the parameters.
    argmin : tuple of float
        Global minimiser: the best grid point refined by a bounded optimiser.
    min_value : float
        NLL at ``argmin``.
    local_minima : list of dict
        Every local minimum of the grid (interior, strictly lower than its
        neighbours by more than ``FLAT_TOL``), refined: ``{"location": tuple,
        "value": float, "is_global": bool}``, sorted by value.
    kind : str
        ``"population"`` or ``"sample"``.
    nll_truth : float
        NLL of the base model.
    invalid : ndarray of bool
        Grid points where the parameters did not define a valid model.
    """

    parameters: tuple
    grids: tuple
    values: np.ndarray
    truth: tuple
    argmin: tuple
    min_value: float
    local_minima: list
    kind: str
    nll_truth: float
    invalid: np.ndarray = field(repr=False)

    @property
    def grid_step(self):
        """Grid spacing of each parameter (the mean step)."""
        return tuple(float(np.mean(np.diff(g))) if g.size > 1 else 0.0 for g in self.grids)

    def plot(self, ax=None, label=None, show_truth=True, **kwargs):
        """Draw the surface in the style of the paper's Figure 1.

        1-D: the NLL curve, a vertical line at the truth (dashed) and at the
        minimiser (solid), a horizontal line at the minimum, other local minima
        marked.  2-D: filled contours with the truth, the minimiser and the
        local minima marked.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        label : str or tuple of str, optional
            Axis label(s) for the parameter(s); defaults to the names.
        show_truth : bool, default=True
        **kwargs
            Passed to ``ax.plot`` (1-D) or ``ax.contourf`` (2-D).

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            ax = plt.gca()
        labels = label if label is not None else self.parameters
        if isinstance(labels, str):
            labels = (labels,)
        others = [m for m in self.local_minima if not m["is_global"]]
        if len(self.parameters) == 1:
            ok = np.isfinite(self.values)
            ax.plot(self.grids[0][ok], self.values[ok], color=kwargs.pop("color", "C0"), lw=1.4,
                    **kwargs)
            ax.axhline(self.min_value, color="0.3", lw=0.6)
            ax.axvline(self.argmin[0], color="0.3", lw=0.6, label="minimiser")
            if show_truth:
                ax.axvline(self.truth[0], color="C3", lw=1.0, ls="--", label="truth")
            if others:
                ax.plot([m["location"][0] for m in others], [m["value"] for m in others], "o",
                        ms=5, mfc="none", color="C1", label="other local minima")
            ax.set_xlabel(labels[0])
            ax.set_ylabel("NLL")
            return ax
        X, Y = np.meshgrid(self.grids[0], self.grids[1], indexing="ij")
        vals = np.where(np.isfinite(self.values), self.values, np.nan)
        ax.contourf(X, Y, vals, levels=kwargs.pop("levels", 30), **kwargs)
        ax.plot(*self.argmin, "k+", ms=10, label="minimiser")
        if show_truth:
            ax.plot(*self.truth, "x", color="C3", ms=8, label="truth")
        for m in others:
            ax.plot(*m["location"], "o", mfc="none", color="w", ms=6)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        return ax


def nll_surface(model, parameters, grids, truth=None, X=None, refine=True):
    """Negative log-likelihood over a grid of one or two named parameters.

    All other parameters are held at ``model``'s values.  The objective is the
    population NLL against ``truth`` (default: ``model`` itself), or, if ``X``
    is given, the mean NLL of the sample ``X``.

    Parameters
    ----------
    model : PushforwardModel
        Base model; its parameter names are listed by ``model.parameters()``.
    parameters : str or sequence of 1 or 2 str
    grids : array-like or sequence of array-like
        One increasing 1-D grid per parameter.
    truth : PushforwardModel, optional
        Data-generating model of the population NLL (not with ``X``).
    X : array-like of shape (n_samples, n_features), optional
        Sample for the sample NLL (not with ``truth``).
    refine : bool, default=True
        Refine every grid local minimum with a bounded optimiser (Brent in 1-D,
        Nelder-Mead in 2-D) inside its neighbouring grid cells.

    Returns
    -------
    NLLSurface

    Notes
    -----
    Grid points where the parameters do not define a valid model (for
    example a variance <= 0) get ``inf`` and are flagged in
    ``NLLSurface.invalid``; points where the model is degenerate but valid
    (a vanishing mixture weight, a unit with zero weights) are evaluated
    normally.  No value is ever NaN.
    """
    if not isinstance(model, PushforwardModel):
        raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
    names = (parameters,) if isinstance(parameters, str) else tuple(parameters)
    if len(names) not in (1, 2):
        raise ValueError(f"parameters must name one or two parameters; got {names}")
    known = model.parameters()
    for name in names:
        if name not in known:
            raise ValueError(f"unknown parameter {name!r}; model.parameters() lists the names")
    if len(names) == 1 and not (isinstance(grids, (list, tuple)) and len(grids) == 1):
        grids = (grids,)
    if len(grids) != len(names):
        raise ValueError(f"grids must give one grid per parameter ({len(names)}); got {len(grids)}")
    grids = tuple(check_array(g, f"grids[{i}]", ndim=1) for i, g in enumerate(grids))
    for i, g in enumerate(grids):
        if g.size < 3 or np.any(np.diff(g) <= 0):
            raise ValueError(f"grids[{i}] must be strictly increasing with at least 3 points")
    if X is not None and truth is not None:
        raise ValueError("give either truth (population NLL) or X (sample NLL), not both")
    if X is not None:
        kind = "sample"
        objective = lambda m: sample_nll(m, X)  # noqa: E731
    else:
        kind = "population"
        objective = PopulationNLL(model if truth is None else truth)

    def nll_at(point):
        try:
            candidate = model.with_parameters(dict(zip(names, point)))
        except ValueError:
            return np.inf
        return objective(candidate)

    shape = tuple(g.size for g in grids)
    values = np.empty(shape)
    for idx in np.ndindex(*shape):
        values[idx] = nll_at([g[i] for g, i in zip(grids, idx)])
    invalid = ~np.isfinite(values)
    minima = _grid_local_minima(values)
    local = []
    for idx in minima:
        loc, val = tuple(g[i] for g, i in zip(grids, idx)), values[idx]
        if refine:
            loc, val = _refine(nll_at, grids, idx, loc, val)
        local.append({"location": tuple(float(v) for v in loc), "value": float(val)})
    best_idx = np.unravel_index(np.argmin(values), shape)
    best = (tuple(float(g[i]) for g, i in zip(grids, best_idx)), float(values[best_idx]))
    for m in local:
        if m["value"] < best[1]:
            best = (m["location"], m["value"])
    for m in local:
        m["is_global"] = bool(np.allclose(m["location"], best[0]) and m["value"] <= best[1] + FLAT_TOL)
    local.sort(key=lambda m: m["value"])
    base = tuple(known[name] for name in names)
    return NLLSurface(
        parameters=names, grids=grids, values=values, truth=base, argmin=best[0],
        min_value=best[1], local_minima=local, kind=kind, nll_truth=float(nll_at(base)),
        invalid=invalid,
    )


def _grid_local_minima(values):
    """Indices of interior grid points lower than all neighbours by > FLAT_TOL.

    In 1-D a flat run of equal values (within FLAT_TOL) lower than both
    neighbours of the run counts once, at its middle.
    """
    if values.ndim == 1:
        out = []
        n = values.size
        i = 0
        while i < n:
            j = i
            while j + 1 < n and (values[j + 1] == values[i]
                                 or abs(values[j + 1] - values[i]) <= FLAT_TOL):
                j += 1
            if i > 0 and j < n - 1 and np.isfinite(values[i]):
                if values[i - 1] > values[i] + FLAT_TOL and values[j + 1] > values[i] + FLAT_TOL:
                    out.append(((i + j) // 2,))
            i = j + 1
        return out
    out = []
    n0, n1 = values.shape
    for a in range(1, n0 - 1):
        for b in range(1, n1 - 1):
            v = values[a, b]
            block = values[a - 1:a + 2, b - 1:b + 2].copy()
            block[1, 1] = np.inf
            if np.isfinite(v) and np.all(block > v + FLAT_TOL):
                out.append((a, b))
    return out


def _refine(nll_at, grids, idx, loc, val):
    """Minimise inside the grid cells around ``idx``; keep the grid point if not better."""
    bounds = [(g[max(i - 1, 0)], g[min(i + 1, g.size - 1)]) for g, i in zip(grids, idx)]
    if len(grids) == 1:
        res = optimize.minimize_scalar(lambda t: nll_at([t]), bounds=bounds[0], method="bounded",
                                       options={"xatol": 1e-10})
        cand = ((float(res.x),), float(res.fun))
    else:
        res = optimize.minimize(lambda p: nll_at(p), np.array(loc), method="Nelder-Mead",
                                bounds=bounds, options={"xatol": 1e-9, "fatol": 1e-13,
                                                        "maxfev": 2000})
        cand = (tuple(float(v) for v in res.x), float(res.fun))
    return cand if cand[1] < val else (loc, val)
