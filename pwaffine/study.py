"""The paper's maximum-likelihood study (appendix J.3.1), with exact likelihoods.

Random models ``f(z) = alpha_1 relu(beta_1 z + pi_1) + alpha_2 relu(beta_2 z + pi_2)``
(``m = n = 1``) with a ``J = 2`` or ``3`` component Gaussian-mixture prior.  For
each: population-NLL slices over every parameter, and a global search over all
parameters jointly whose minimisers are grouped by equivalence (``equivalence.py``).

Every choice the paper leaves open lives in :class:`StudySettings`.
"""

import csv
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from .conditions import is_injective, is_weakly_injective
from .likelihood import PopulationNLL
from .mixture import GaussianMixture
from .model import PushforwardModel
from .network import ReLUNetwork
from .surface import nll_surface

__all__ = [
    "StudySettings",
    "draw_model",
    "global_search",
    "misspecification",
    "paper_model",
    "paper_parameters",
    "paper_parameter_names",
    "run_study",
    "study_slices",
]


@dataclass(frozen=True)
class StudySettings:
    """Every setting of the study; the paper states none of these.

    Model draws (J.3.1, grids with zeros allowed)
        ``n_components`` drawn uniformly from ``(2, 3)``; mixture weights from
        the grid of step ``weight_step`` on the simplex; means from the grid
        ``mean_grid = (low, high, step)`` in each coordinate; alpha, beta and pi
        from ``network_grid``.  Every component has standard deviation
        ``component_std``; the noise is ``noise_std``; the output bias is 0.
        Steps are multiples of 0.04, the step of the slice grids, so the truth
        lies on every slice grid (as in the paper's exhaustive grid).
    Slices
        Every family parameter is varied alone with the others at the truth:
        alpha, beta, pi and the means over ``slice_range`` at ``slice_points``
        points (the paper's Figure 1: [-5, 5], 251 points, step 0.04); mixture
        weights over [0, 1] (step 0.02); component standard deviations and the
        noise over ``[0.02, 2.52]`` (step 0.02; the variance is what is set).
    Global search
        See :func:`global_search`.  Component standard deviations and the noise
        are known (held at the truth); the search covers weights, means,
        alpha, beta and pi jointly.
    Decisions
        Two minimisers are the same model when ``find_equivalence`` accepts
        them with ``atol = rtol = param_tol`` on the latent range within
        ``support_sd`` prior standard deviations (what a likelihood can see).
        A minimiser is global when its NLL is within ``value_tol`` nats of the
        best found: 100 times the quadrature error (< 1e-12) and the precision
        to which L-BFGS-B settles an O(1) NLL in double precision.
    """

    noise_std: float = 0.25
    component_std: float = 0.5
    n_components: tuple = (2, 3)
    weight_step: float = 0.1
    mean_grid: tuple = (-2.0, 2.0, 0.4)
    network_grid: tuple = (-2.0, 2.0, 0.2)
    slice_range: tuple = (-5.0, 5.0)
    slice_points: int = 251
    weight_slice_points: int = 51
    scale_slice_points: int = 126
    n_screen: int = 768
    n_best_starts: int = 10
    n_random_starts: int = 5
    search_mean_bound: float = 4.0
    search_slope_bound: float = 6.0
    optimizer_maxiter: int = 150
    polish_maxiter: int = 300
    polish_window: float = 1e-3
    search_panel_width: float = 1.5
    value_tol: float = 1e-10
    param_tol: float = 3e-2
    support_sd: float = 6.0

    def as_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def quick(cls):
        """A tiny configuration for smoke tests (coarse slices, few starts)."""
        return cls(slice_points=51, weight_slice_points=11, scale_slice_points=26, n_screen=32,
                   n_best_starts=2, n_random_starts=1, optimizer_maxiter=60, polish_maxiter=60)


# ---------------------------------------------------------------- the family
def paper_model(weights, means, stds, alpha, beta, pi, noise_std):
    """The paper's model: a 1-D mixture prior and a two-unit ReLU network.

    Parameters
    ----------
    weights, means, stds : array-like of shape (J,)
        Mixture weights, means and standard deviations.
    alpha, beta, pi : array-like of shape (2,)
        ``f(z) = sum_i alpha_i relu(beta_i z + pi_i)``.
    noise_std : float

    Returns
    -------
    PushforwardModel
        Network ``ReLUNetwork([beta[:, None], alpha[None, :]], [pi, [0.0]])``.
    """
    prior = GaussianMixture.from_std(weights, np.asarray(means, float)[:, None],
                                     np.asarray(stds, float))
    net = ReLUNetwork([np.asarray(beta, float)[:, None], np.asarray(alpha, float)[None, :]],
                      [np.asarray(pi, float), np.zeros(1)])
    return PushforwardModel(prior, net, noise_std)


def paper_parameter_names(n_components):
    """Paper name -> model parameter name, e.g. ``beta1 -> network.weights[0][0,0]``."""
    names = {}
    for j in range(n_components):
        names[f"lambda{j + 1}"] = f"prior.weights[{j}]"
    for j in range(n_components):
        names[f"mu{j + 1}"] = f"prior.means[{j},0]"
    for j in range(n_components):
        names[f"var{j + 1}"] = f"prior.covariances[{j},0,0]"
    for i in range(2):
        names[f"alpha{i + 1}"] = f"network.weights[1][0,{i}]"
    for i in range(2):
        names[f"beta{i + 1}"] = f"network.weights[0][{i},0]"
    for i in range(2):
        names[f"pi{i + 1}"] = f"network.biases[0][{i}]"
    names["noise_std"] = "noise_std"
    return names


def paper_parameters(model):
    """The model's parameters under the paper's names (``sigma_j`` = component std)."""
    J = model.prior.n_components
    params = model.parameters()
    out = {}
    for short, name in paper_parameter_names(J).items():
        if short.startswith("var"):
            out["sigma" + short[3:]] = math.sqrt(params[name])
        else:
            out[short] = params[name]
    return out


def _grid(low, high, step):
    return np.round(np.arange(low, high + step / 2, step), 10) + 0.0  # no -0.0


def draw_model(rng, settings=StudySettings()):
    """Draw one random model as in J.3.1 (see :class:`StudySettings`)."""
    s = settings
    J = int(rng.choice(s.n_components))
    n_steps = int(round(1 / s.weight_step))
    # Uniform on the simplex grid: stars and bars.
    bars = np.sort(rng.choice(n_steps + J - 1, size=J - 1, replace=False))
    counts = np.diff(np.concatenate(([-1], bars, [n_steps + J - 1]))) - 1
    weights = counts / n_steps
    means = rng.choice(_grid(*s.mean_grid), size=J)
    net_grid = _grid(*s.network_grid)
    alpha, beta, pi = (rng.choice(net_grid, size=2) for _ in range(3))
    return paper_model(weights, means, np.full(J, s.component_std), alpha, beta, pi, s.noise_std)


def misspecification(model):
    """Degeneracies and assumption failures of a paper-family model, as short flags."""
    p = paper_parameters(model)
    J = model.prior.n_components
    flags = []
    lam = [p[f"lambda{j + 1}"] for j in range(J)]
    if any(v == 0 for v in lam):
        flags.append(f"zero weight (effective J={sum(v > 0 for v in lam)})")
    comps = {(p[f"mu{j + 1}"], p[f"sigma{j + 1}"]) for j in range(J) if lam[j] > 0}
    if len(comps) < sum(v > 0 for v in lam):
        flags.append("duplicate components")
    for i in (1, 2):
        if p[f"alpha{i}"] == 0:
            flags.append(f"dead unit {i} (alpha{i}=0)")
        elif p[f"beta{i}"] == 0:
            flags.append(f"constant unit {i} (beta{i}=0)")
    regions = model.network.affine_regions()
    constant = np.all(regions.linear == 0.0, axis=(1, 2))
    if constant.any():
        mass = float(np.exp(regions.log_prior_masses(model.prior))[constant].sum())
        if mass >= 0.1:
            flags.append(f"f constant on {100 * mass:.0f}% of the prior mass")
    if not is_weakly_injective(model.network):
        flags.append("not weakly injective (F2 fails)")
    elif not is_injective(model.network):
        flags.append("not injective (F3 fails)")
    return flags


# ---------------------------------------------------------------- slices
def study_slices(truth, settings=StudySettings(), objective=None):
    """Population-NLL slices over every family parameter.

    Returns
    -------
    dict
        paper name -> NLLSurface.
    """
    s = settings
    J = truth.prior.n_components
    wide = np.linspace(*s.slice_range, s.slice_points)
    unit = np.linspace(0.0, 1.0, s.weight_slice_points)
    std = np.linspace(0.02, 2.52, s.scale_slice_points)
    out = {}
    for short, name in paper_parameter_names(J).items():
        if short.startswith("lambda"):
            grid = unit
        elif short.startswith("var"):
            grid = std**2
        elif short == "noise_std":
            grid = std
        else:
            grid = wide
        out[short] = nll_surface(truth, name, grid, truth=truth)
    return out


# ---------------------------------------------------------------- search
class _SearchSpace:
    """Free parameters of the search with the continuous symmetries quotiented out.

    Vector ``v = (s_1..s_{J-1}, mu_1..mu_J, a_1, a_2, theta_1, theta_2)``: mixture
    weights by stick-breaking (``lambda_1 = s_1``, ``lambda_2 = (1 - s_1) s_2``,
    ...), the means, and each unit in polar form ``(beta_i, pi_i) =
    (cos theta_i, sin theta_i)``, ``alpha_i = a_i``.  Every unit equals
    ``a relu(cos(theta) z + sin(theta))`` for some ``(a, theta)`` after its positive
    rescaling, so every model of the family is equivalent to a point here.
    """

    def __init__(self, truth, settings):
        self.J = truth.prior.n_components
        self.stds = np.sqrt(truth.prior.covariances[:, 0, 0])
        self.noise = truth.noise_std
        m, a = settings.search_mean_bound, settings.search_slope_bound
        J = self.J
        self.bounds = ([(0.0, 1.0)] * (J - 1) + [(-m, m)] * J + [(-a, a)] * 2
                       + [(-math.pi, 3 * math.pi)] * 2)
        self.box = np.array([(0.0, 1.0)] * (J - 1) + [(-m, m)] * J + [(-a, a)] * 2
                            + [(0.0, 2 * math.pi)] * 2)

    @property
    def dim(self):
        return len(self.bounds)

    def weights(self, v):
        """Mixture weights from the sticks, and their Jacobian (J, J - 1)."""
        J = self.J
        s = v[:J - 1]
        w = np.empty(J)
        jac = np.zeros((J, J - 1))
        for j in range(J):
            rest = [1.0 - s[i] for i in range(min(j, J - 1))]
            last = j == J - 1
            w[j] = np.prod(rest) * (1.0 if last else s[j])
            if not last:
                jac[j, j] = np.prod(rest)
            for i in range(min(j, J - 1)):
                others = np.prod([rest[l] for l in range(len(rest)) if l != i])
                jac[j, i] = -others * (1.0 if last else s[j])
        return w, jac

    def model(self, v):
        J = self.J
        mu = v[J - 1:2 * J - 1]
        a = v[2 * J - 1:2 * J + 1]
        theta = v[2 * J + 1:2 * J + 3]
        return paper_model(self.weights(v)[0], mu, self.stds, a, np.cos(theta), np.sin(theta),
                           self.noise)

    def gradient(self, v, grad_params):
        """Chain rule from ``model.parameters()`` order to the search vector."""
        J = self.J
        g = grad_params
        theta = v[2 * J + 1:2 * J + 3]
        g_w = g[:J]
        g_mu = g[J:2 * J]
        g_beta = g[3 * J:3 * J + 2]
        g_pi = g[3 * J + 2:3 * J + 4]
        g_alpha = g[3 * J + 4:3 * J + 6]
        g_theta = -np.sin(theta) * g_beta + np.cos(theta) * g_pi
        return np.concatenate([self.weights(v)[1].T @ g_w, g_mu, g_alpha, g_theta])

    def point(self, model):
        """The search vector of a family model (units rescaled to polar form)."""
        p = paper_parameters(model)
        J = self.J
        lam = np.array([p[f"lambda{j + 1}"] for j in range(J)])
        sticks = []
        rest = 1.0
        for j in range(J - 1):
            sticks.append(lam[j] / rest if rest > 0 else 0.0)
            rest -= lam[j]
        mu = [p[f"mu{j + 1}"] for j in range(J)]
        a, theta = [], []
        for i in (1, 2):
            r = math.hypot(p[f"beta{i}"], p[f"pi{i}"])
            a.append(p[f"alpha{i}"] * r)
            theta.append(math.atan2(p[f"pi{i}"], p[f"beta{i}"]) % (2 * math.pi))
        return np.array(sticks + mu + a + theta)


@dataclass
class Minimizer:
    """One class of equivalent minimisers found by the search."""

    model: PushforwardModel
    nll: float
    n_runs: int
    at_bound: bool
    equivalent_to_truth: bool
    transformation: str
    found_blind: bool


@dataclass
class SearchResult:
    """Outcome of :func:`global_search`; ``minimizers`` sorted by NLL."""

    minimizers: list
    nll_truth: float
    n_evaluations: int
    value_tol: float
    seconds: float

    @property
    def nll_global_min(self):
        return min(self.minimizers[0].nll, self.nll_truth)

    @property
    def global_minimizers(self):
        """Classes within ``value_tol`` of the best NLL found."""
        return [m for m in self.minimizers if m.nll <= self.nll_global_min + self.value_tol]

    @property
    def unique_up_to_equivalence(self):
        """The truth's class is the only global one."""
        glob = self.global_minimizers
        return (self.nll_truth <= self.nll_global_min + self.value_tol and len(glob) == 1
                and glob[0].equivalent_to_truth)

    @property
    def found_by_blind_search(self):
        """A start other than the truth ended in the truth's class."""
        return any(m.equivalent_to_truth and m.found_blind for m in self.minimizers)

    @property
    def unique_among_weakly_injective(self):
        """Every global class whose network is weakly injective (F2) is the truth's."""
        return all(m.equivalent_to_truth for m in self.global_minimizers
                   if is_weakly_injective(m.model.network))

    @property
    def local_minima(self):
        """Non-global classes that are interior local minima (not at the search box)."""
        glob = self.global_minimizers
        return [m for m in self.minimizers if m not in glob and not m.at_bound]

    @property
    def kl_nearest_alternative(self):
        """Smallest NLL excess over the truth (= KL) among classes not equivalent to it."""
        others = [m.nll - self.nll_truth for m in self.minimizers if not m.equivalent_to_truth]
        return min(others) if others else float("inf")


def global_search(truth, settings=StudySettings(), rng=None, equivalent=None):
    """Search all family parameters jointly for the population-NLL minimisers.

    Steps (see :class:`_SearchSpace` for the parametrisation, which removes the
    units' rescaling symmetry):

    1. screening: ``n_screen`` scrambled-Sobol points over the box (weights on
       the simplex, means in ``+-search_mean_bound``, ``a`` in
       ``+-search_slope_bound``, angles in ``[0, 2 pi)``), each evaluated;
    2. local refinement by L-BFGS-B (analytic gradients of the fixed-rule NLL,
       so value and gradient are one smooth function) from the
       ``n_best_starts`` best screened points and ``n_random_starts`` others
       drawn at random from the rest, ``optimizer_maxiter`` iterations each;
       runs that end within ``polish_window`` nats of the best and had not
       converged get ``polish_maxiter`` more;
    3. one more local refinement started at the truth (which the paper's grid
       contained), so its basin is always represented; whether a blind start
       reached it too is reported;
    4. the end points are re-evaluated with the adaptive quadrature and grouped
       into classes of equivalent models (``find_equivalence`` with tolerance
       ``param_tol`` on the prior's ``support_sd`` range).

    Parameters
    ----------
    truth : PushforwardModel of the paper's family
    settings : StudySettings
    rng : None, int or Generator
    equivalent : callable, optional
        ``equivalent(model_a, model_b) -> Equivalence or None``; defaults to
        :func:`pwaffine.equivalence.find_equivalence` as described.

    Returns
    -------
    SearchResult
    """
    if equivalent is None:
        from .equivalence import find_equivalence

        tol = settings.param_tol
        equivalent = lambda a, b: find_equivalence(  # noqa: E731
            a, b, atol=tol, rtol=tol, support_sd=settings.support_sd)
    rng = np.random.default_rng(rng)
    t0 = time.perf_counter()
    space = _SearchSpace(truth, settings)
    smooth = PopulationNLL(truth, adaptive=False, panel_width=settings.search_panel_width)
    exact = PopulationNLL(truth)
    count = [0]

    def objective(v):
        count[0] += 1
        value = smooth(space.model(v))
        return value if np.isfinite(value) else 1e10

    def objective_and_gradient(v):
        count[0] += 1
        value, grad = smooth.value_and_gradient(space.model(v))
        if not np.isfinite(value):
            return 1e10, np.zeros_like(v)
        return value, space.gradient(v, grad)

    sobol = stats.qmc.Sobol(space.dim, scramble=True, seed=rng)
    lo, hi = space.box[:, 0], space.box[:, 1]
    screen = lo + sobol.random(settings.n_screen) * (hi - lo)
    values = np.array([objective(v) for v in screen])
    order = np.argsort(values, kind="stable")
    best = order[:settings.n_best_starts]
    others = rng.choice(order[settings.n_best_starts:], size=settings.n_random_starts,
                        replace=False)
    starts = [(screen[i], False) for i in np.concatenate([best, others])]
    starts.append((space.point(truth), True))
    def descend(v0, maxiter):
        return optimize.minimize(objective_and_gradient, v0, method="L-BFGS-B", jac=True,
                                 bounds=space.bounds,
                                 options={"maxiter": maxiter, "ftol": 1e-16, "gtol": 1e-10,
                                          "maxcor": 20})

    runs = [(descend(v0, settings.optimizer_maxiter), from_truth) for v0, from_truth in starts]
    best_value = min(r.fun for r, _ in runs)
    ends = []
    for res, from_truth in runs:
        if res.fun <= best_value + settings.polish_window and res.nit >= settings.optimizer_maxiter:
            res = descend(res.x, settings.polish_maxiter)  # polish the near-optimal ones only
        model = space.model(res.x)
        ends.append((exact(model), model, _at_bound(res.x, space, settings), from_truth))
    ends.sort(key=lambda e: e[0])
    classes = []
    for nll, model, at_bound, from_truth in ends:
        for cls in classes:
            if abs(cls["nll"] - nll) <= 1e-6 and equivalent(cls["model"], model):
                cls["n_runs"] += 1
                cls["blind"] |= not from_truth
                break
        else:
            classes.append({"nll": nll, "model": model, "n_runs": 1, "at_bound": at_bound,
                            "blind": not from_truth})
    minimizers = []
    for cls in classes:
        eq = equivalent(truth, cls["model"])
        minimizers.append(Minimizer(
            model=cls["model"], nll=cls["nll"], n_runs=cls["n_runs"], at_bound=cls["at_bound"],
            equivalent_to_truth=eq is not None,
            transformation=eq.describe() if eq is not None else "", found_blind=cls["blind"],
        ))
    return SearchResult(minimizers=minimizers, nll_truth=exact(truth), n_evaluations=count[0],
                        value_tol=settings.value_tol, seconds=time.perf_counter() - t0)


def _at_bound(v, space, settings):
    J = space.J
    mu = v[J - 1:2 * J - 1]
    a = v[2 * J - 1:2 * J + 1]
    eps = 1e-6
    return bool(np.any(np.abs(mu) >= settings.search_mean_bound - eps)
                or np.any(np.abs(a) >= settings.search_slope_bound - eps))


# ---------------------------------------------------------------- the study
CSV_COLUMNS_HEAD = ["run", "n_components"]
CSV_COLUMNS_TAIL = [
    "alpha1", "alpha2", "beta1", "beta2", "pi1", "pi2", "noise_std", "nll_truth",
    "nll_global_min", "n_global_minimizers", "unique_up_to_equivalence",
    "unique_among_weakly_injective", "n_local_minima",
    "misspecification", "kl_nearest_alternative", "found_by_blind_search", "slices_min_at_truth",
    "slices_with_local_minima",
    "n_evaluations", "seconds",
]


def _csv_columns(max_j=3):
    cols = list(CSV_COLUMNS_HEAD)
    for name in ("lambda", "mu", "sigma"):
        cols += [f"{name}{j + 1}" for j in range(max_j)]
    return cols + CSV_COLUMNS_TAIL


def analyse_model(run, truth, settings=StudySettings(), seed=0):
    """Slices and global search for one model; returns (csv row, details dict)."""
    t0 = time.perf_counter()
    slices = study_slices(truth, settings)
    search = global_search(truth, settings, rng=np.random.default_rng(seed))
    glob = search.global_minimizers
    at_truth = 0
    with_local = 0
    for surf in slices.values():
        step = surf.grid_step[0]
        if (abs(surf.argmin[0] - surf.truth[0]) <= step
                and surf.min_value >= surf.nll_truth - settings.value_tol):
            at_truth += 1
        if any(not m["is_global"] for m in surf.local_minima):
            with_local += 1
    row = {"run": run, "n_components": truth.prior.n_components}
    row.update({k: _fmt(v) for k, v in paper_parameters(truth).items()})
    row.update({
        "nll_truth": _fmt(search.nll_truth),
        "nll_global_min": _fmt(search.nll_global_min),
        "n_global_minimizers": len(glob),
        "unique_up_to_equivalence": search.unique_up_to_equivalence,
        "unique_among_weakly_injective": search.unique_among_weakly_injective,
        "n_local_minima": len(search.local_minima),
        "misspecification": "; ".join(misspecification(truth)),
        "kl_nearest_alternative": _fmt(search.kl_nearest_alternative),
        "found_by_blind_search": search.found_by_blind_search,
        "slices_min_at_truth": f"{at_truth}/{len(slices)}",
        "slices_with_local_minima": with_local,
        "n_evaluations": search.n_evaluations,
        "seconds": round(time.perf_counter() - t0, 1),
    })
    details = {
        "run": run,
        "truth": paper_parameters(truth),
        "nll_truth": search.nll_truth,
        "minimizers": [
            {"nll": m.nll, "excess_over_truth": m.nll - search.nll_truth,
             "parameters": paper_parameters(m.model), "n_runs": m.n_runs,
             "at_search_bound": m.at_bound, "global": m in glob,
             "weakly_injective": bool(is_weakly_injective(m.model.network)),
             "equivalent_to_truth": m.equivalent_to_truth, "transformation": m.transformation,
             "reached_from_blind_start": m.found_blind}
            for m in search.minimizers
        ],
        "slices": {
            k: {"parameter": s.parameters[0], "truth": s.truth[0], "argmin": s.argmin[0],
                "nll_min": s.min_value, "nll_truth": s.nll_truth,
                "local_minima": [[m["location"][0], m["value"]] for m in s.local_minima
                                 if not m["is_global"]]}
            for k, s in slices.items()
        },
    }
    return row, details


def _fmt(v):
    if isinstance(v, float):
        return float(f"{v:.12g}")
    return v


def _worker(args):
    run, truth_params, settings_dict, seed = args
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    settings = StudySettings(**settings_dict)
    truth = paper_model(**truth_params)
    return analyse_model(run, truth, settings, seed)


def draw_models(runs, seed, settings=StudySettings()):
    """The study's models, reproducibly: run ``r`` uses the ``r``-th draw of ``seed``."""
    rng = np.random.default_rng(seed)
    return [draw_model(rng, settings) for _ in range(runs)]


def _model_args(model):
    p = paper_parameters(model)
    J = model.prior.n_components
    return {
        "weights": [p[f"lambda{j + 1}"] for j in range(J)],
        "means": [p[f"mu{j + 1}"] for j in range(J)],
        "stds": [p[f"sigma{j + 1}"] for j in range(J)],
        "alpha": [p["alpha1"], p["alpha2"]], "beta": [p["beta1"], p["beta2"]],
        "pi": [p["pi1"], p["pi2"]], "noise_std": p["noise_std"],
    }


def run_study(runs=50, seed=0, out="study", settings=StudySettings(), workers=None,
              log=sys.stderr):
    """Run the study and write ``out/study.csv``, ``out/study.md`` and ``out/runs/*.json``.

    Parameters
    ----------
    runs : int
    seed : int
        Seeds the model draws and every search.
    out : path
    settings : StudySettings
    workers : int, optional
        Processes (default: number of CPUs); each runs numba single-threaded.
    log : file
        Progress lines go here (stderr).

    Returns
    -------
    list of dict
        The CSV rows.
    """
    import multiprocessing as mp

    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    models = draw_models(runs, seed, settings)
    seeds = np.random.SeedSequence(seed).spawn(runs)
    jobs = [(r, _model_args(m), settings.as_dict(), seeds[r].generate_state(1)[0])
            for r, m in enumerate(models)]
    workers = workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    rows = [None] * runs
    print(f"pwaffine study: {runs} models, seed {seed}, {workers} workers", file=log, flush=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        for done, (row, details) in enumerate(pool.imap_unordered(_worker, jobs), 1):
            rows[row["run"]] = row
            (out / "runs" / f"run_{row['run']:03d}.json").write_text(json.dumps(details, indent=1))
            print(f"[{done:3d}/{runs}] run {row['run']:3d}: J={row['n_components']} "
                  f"unique={row['unique_up_to_equivalence']} local={row['n_local_minima']} "
                  f"({row['seconds']} s, {time.perf_counter() - t0:.0f} s elapsed)",
                  file=log, flush=True)
    elapsed = time.perf_counter() - t0
    _write_csv(out / "study.csv", rows)
    _write_markdown(out / "study.md", rows, settings, seed, elapsed, workers)
    print(f"wrote {out / 'study.csv'} and {out / 'study.md'} ({elapsed:.0f} s)", file=log,
          flush=True)
    return rows


def _init_worker():
    os.environ["NUMBA_NUM_THREADS"] = "1"
    import numba

    numba.set_num_threads(1)


def _write_csv(path, rows):
    cols = _csv_columns()
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def _write_markdown(path, rows, settings, seed, elapsed, workers):
    n = len(rows)
    unique = sum(bool(r["unique_up_to_equivalence"]) for r in rows)
    unique_f2 = sum(bool(r["unique_among_weakly_injective"]) for r in rows)
    truth_min = sum(float(r["nll_truth"]) <= float(r["nll_global_min"]) + settings.value_tol
                    for r in rows)
    blind = sum(bool(r["found_by_blind_search"]) for r in rows)
    with_local = sum(r["n_local_minima"] > 0 for r in rows)
    slice_local = sum(r["slices_with_local_minima"] > 0 for r in rows)
    clean = [r for r in rows
             if all("F3" in f for f in r["misspecification"].split("; ") if f)]
    clean_unique = sum(bool(r["unique_up_to_equivalence"]) for r in clean)
    clean_f2 = sum(bool(r["unique_among_weakly_injective"]) for r in clean)
    kls = np.array([float(r["kl_nearest_alternative"]) for r in rows])
    finite = kls[np.isfinite(kls)]
    flags = {}
    for r in rows:
        for flag in filter(None, (f.strip() for f in r["misspecification"].split(";"))):
            key = flag.split(" (")[0] if not flag.startswith("zero weight") else "zero weight"
            if flag.startswith("f constant on"):
                key = "f constant on >= 10% of the prior mass"
            flags[key] = flags.get(key, 0) + 1
    lines = [
        "# pwaffine study: is the truth the unique global NLL minimiser?",
        "",
        f"{n} random models of the paper's family (appendix J.3.1), seed {seed}; exact "
        f"population NLL; {elapsed:.0f} s on {workers} processes.",
        "",
        "| quantity | models |",
        "|---|---|",
        f"| models | {n} |",
        f"| truth attains the lowest NLL found (within {settings.value_tol:g} nats) | {truth_min} |",
        f"| truth is the unique global minimiser up to equivalence | {unique} |",
        f"| ... among minimisers whose network is weakly injective (F2) | {unique_f2} |",
        f"| truth's class also reached from a blind start | {blind} |",
        f"| other (non-global) local minima found by the search | {with_local} |",
        f"| a one-parameter slice with another local minimum | {slice_local} |",
        "",
        f"Among the {len(clean)} models with no degeneracy (no flag but the failure of (F3), "
        f"which Theorem 3.5(a) does not need) the truth is the unique global minimiser in "
        f"{clean_unique}, and unique among weakly injective minimisers in {clean_f2}.",
        "",
        "KL divergence (NLL excess over the truth) of the nearest minimiser *not* equivalent "
        "to the truth: "
        + (f"min {finite.min():.3g}, median {np.median(finite):.3g}, max {finite.max():.3g} nats "
           f"over the {finite.size} models where one was found." if finite.size else "none found."),
        "",
        "Degeneracies and assumption failures among the models (a model can have several):",
        "",
        "| flag | models |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(flags.items())] or ["| none | 0 |"]
    lines += ["", "## Models where the truth is not the unique global minimiser", ""]
    bad = [r for r in rows if not r["unique_up_to_equivalence"]]
    if not bad:
        lines.append("None.")
    else:
        lines += ["| run | global classes | unique among F2 minimisers | KL nearest alternative "
                  "| misspecification of the truth |", "|---|---|---|---|---|"]
        lines += [f"| {r['run']} | {r['n_global_minimizers']} | {r['unique_among_weakly_injective']} "
                  f"| {float(r['kl_nearest_alternative']):.3g} | {r['misspecification'] or 'none'} |"
                  for r in bad]
        lines += ["", "Every minimiser, its parameters and the transformation to the truth are in "
                  "`runs/run_NNN.json`."]
    lines += [
        "", "## Definitions", "",
        "- *equivalent*: `find_equivalence` finds an affine map h of the latent with "
        "prior' = h#prior and f' = f o h^-1 on the latent range within "
        f"{settings.support_sd:g} prior standard deviations (tolerance {settings.param_tol:g}), "
        "after dropping zero-weight components, merging identical ones, and dropping dead or "
        "constant units;",
        f"- *global minimiser*: NLL within {settings.value_tol:g} nats of the best found;",
        "- *unique among F2 minimisers*: every global minimiser whose network is weakly "
        "injective (condition F2 of the theorem, checked exactly) is equivalent to the truth; "
        "the theorem's identifiability is within that class, and the search space is not "
        "restricted to it;",
        "- *kl_nearest_alternative*: NLL excess over the truth of the best minimiser class not "
        "equivalent to the truth (inf if the search found none);",
        "- the search: " + " ".join(global_search.__doc__.split("Parameters")[0].split())
        .replace("Search all family parameters jointly for the population-NLL minimisers. ", ""),
        "", "## Settings", "", "```json", json.dumps(settings.as_dict(), indent=1), "```", "",
    ]
    Path(path).write_text("\n".join(lines))
