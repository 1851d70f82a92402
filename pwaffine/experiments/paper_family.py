"""The paper's model family (appendix J.3.1) and every setting the paper leaves open.

``f(z) = alpha_1 relu(beta_1 z + pi_1) + alpha_2 relu(beta_2 z + pi_2)`` (``m = n =
1``) with a ``J = 2`` or ``3`` component Gaussian-mixture prior, drawn from grids
with zeros allowed.  The paper states neither the noise level, nor the
component variances, nor the grids: pwaffine's choices live in
:class:`StudySettings` only, and every output file records them.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..identifiability import is_injective, is_weakly_injective
from ..model import GaussianMixture, PushforwardModel, ReLUNetwork

__all__ = ["StudySettings", "draw_model", "draw_models", "misspecification", "model_args",
           "paper_model", "paper_parameter_names", "paper_parameters"]


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
    n_screen: int = 2048
    n_best_starts: int = 40
    n_random_starts: int = 20
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
        return cls(slice_points=51, weight_slice_points=11, scale_slice_points=26, n_screen=64,
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


def draw_models(runs, seed, settings=StudySettings()):
    """The study's models, reproducibly: run ``r`` uses the ``r``-th draw of ``seed``."""
    rng = np.random.default_rng(seed)
    return [draw_model(rng, settings) for _ in range(runs)]


def model_args(model):
    """Keyword arguments of :func:`paper_model` that rebuild ``model`` (plain lists and floats)."""
    p = paper_parameters(model)
    J = model.prior.n_components
    return {
        "weights": [p[f"lambda{j + 1}"] for j in range(J)],
        "means": [p[f"mu{j + 1}"] for j in range(J)],
        "stds": [p[f"sigma{j + 1}"] for j in range(J)],
        "alpha": [p["alpha1"], p["alpha2"]], "beta": [p["beta1"], p["beta2"]],
        "pi": [p["pi1"], p["pi2"]], "noise_std": p["noise_std"],
    }


