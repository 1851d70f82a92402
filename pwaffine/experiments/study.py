"""The paper's maximum-likelihood study (appendix J.3.1), with exact likelihoods.

For each random model of the paper's family (:mod:`.paper_family`):
population-NLL slices over every parameter, and a global search over all
parameters jointly whose minimisers are grouped by equivalence
(:func:`~pwaffine.find_equivalence`).  :func:`run_study` runs the models as
independent jobs on any executor; :mod:`.study_report` writes the files.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from ..identifiability import find_equivalence, is_weakly_injective
from ..inference import PopulationNLL, nll_surface
from ..model import PushforwardModel
from .executors import run_jobs
from .paper_family import (
    StudySettings,
    draw_models,
    misspecification,
    model_args,
    paper_model,
    paper_parameter_names,
    paper_parameters,
)

__all__ = ["Minimizer", "SearchResult", "StudyResult", "analyse_model", "global_search",
           "run_study", "study_slices"]


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


@dataclass(frozen=True)
class Minimizer:
    """One class of equivalent minimisers found by the search."""

    model: PushforwardModel
    nll: float
    n_runs: int
    at_bound: bool
    equivalent_to_truth: bool
    transformation: str
    found_blind: bool


@dataclass(frozen=True)
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
        :func:`pwaffine.find_equivalence` as described.

    Returns
    -------
    SearchResult
    """
    if equivalent is None:
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


def _analyse_job(job):
    """One study job (module level, so that executors can pickle it).

    BLAS runs on one thread: the search's L-BFGS-B steps are tiny vector
    operations, which a multithreaded BLAS slows down ~100-fold.
    """
    run, truth_args, settings_dict, seed = job
    with threadpool_limits(limits=1, user_api="blas"):
        return analyse_model(run, paper_model(**truth_args), StudySettings(**settings_dict), seed)


@dataclass(frozen=True)
class StudyResult:
    """Outcome of :func:`run_study`.

    Attributes
    ----------
    rows : tuple of dict
        One CSV row per model, in run order.
    details : tuple of dict
        Per model: every minimiser with its parameters and the transformation
        to the truth, and every slice's minima.
    seed : int
    settings : StudySettings
    seconds : float
        Wall-clock time of the whole run.
    """

    rows: tuple
    details: tuple
    seed: int
    settings: StudySettings
    seconds: float


def run_study(runs=50, seed=0, settings=StudySettings(), executor=None, on_result=None):
    """Analyse ``runs`` random models of the paper's family.

    Parameters
    ----------
    runs : int
    seed : int
        Seeds the model draws (run ``r`` is the ``r``-th draw) and every
        search (run ``r`` gets the ``r``-th child of ``SeedSequence(seed)``),
        so the results do not depend on the executor or the order in which
        jobs finish.
    settings : StudySettings
    executor : concurrent.futures.Executor, optional
        Where the models are analysed (one job per model); None: here, one
        after the other.
    on_result : callable, optional
        ``on_result(run, (row, details))`` as each model finishes.

    Returns
    -------
    StudyResult
    """
    t0 = time.perf_counter()
    models = draw_models(runs, seed, settings)
    seeds = np.random.SeedSequence(seed).spawn(runs)
    jobs = [(r, model_args(m), settings.as_dict(), int(seeds[r].generate_state(1)[0]))
            for r, m in enumerate(models)]
    results = run_jobs(_analyse_job, jobs, executor, on_result)
    return StudyResult(rows=tuple(row for row, _ in results),
                       details=tuple(details for _, details in results), seed=seed,
                       settings=settings, seconds=time.perf_counter() - t0)
