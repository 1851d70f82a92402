"""Every level of the identifiability hierarchy (Theorem 3.5), checked with exact likelihoods.

* (a) (F2) => P(Z) identifiable up to an affine map: on random weakly injective
  models the Fisher null space has exactly the dimension of the family's
  continuous symmetries;
* (b) (F2) + (P2) => up to permutation, scaling and translation (``m = 2``);
* (d) (F3) => f identifiable up to an affine map: the affine map between two
  equivalent parameter sets is recovered and ``f' = f o h^-1`` checked;
* and the failures: without (F2) two priors that are not affinely equivalent
  give the same P(X) (their KL divergence vanishes) and the Fisher null space
  grows; without (P2) a rotation of the latent is invisible.

:func:`run_hierarchy` runs every case as an independent job on any executor;
:mod:`.hierarchy_report` writes ``hierarchy.csv``, ``.md``, ``.json`` and the
figure (``python -m pwaffine hierarchy --out DIR``).
"""

import dataclasses
import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from ..identifiability import check_p2, find_equivalence, is_injective, is_weakly_injective
from ..inference import PopulationNLL, fisher_information, predicted_null_dim
from ..model import GaussianMixture, PushforwardModel, ReLUNetwork
from .executors import run_jobs
from .random_models import random_identifiable_model_1d, random_identifiable_model_2d

__all__ = ["CSV_COLUMNS", "HierarchyCase", "HierarchyResult", "kl_divergence", "run_hierarchy"]

CSV_COLUMNS = ["case", "m", "n", "theorem_part", "weakly_injective", "injective", "p2",
               "predicted_null_dim", "measured_null_dim", "kl_between_alternatives",
               "affinely_equivalent"]


@dataclass(frozen=True)
class HierarchyCase:
    """One row of the report, with what is needed to draw and check it."""

    case: str
    m: int
    n: int
    theorem_part: str
    weakly_injective: object = ""
    injective: object = ""
    p2: object = ""
    predicted_null_dim: object = ""
    measured_null_dim: object = ""
    kl_between_alternatives: object = ""
    affinely_equivalent: object = ""
    notes: str = ""
    spectrum: np.ndarray = field(default=None, repr=False)
    extra: dict = field(default_factory=dict, repr=False)

    def row(self):
        out = {}
        for col in CSV_COLUMNS:
            value = getattr(self, col)
            out[col] = f"{value:.3g}" if isinstance(value, float) else value
        return out


def kl_divergence(model_a, model_b):
    """``KL(P_a(X) || P_b(X))`` in nats by exact quadrature over ``x`` (see :class:`PopulationNLL`)."""
    nll = PopulationNLL(model_a)
    return nll(model_b) - nll(model_a)


def _fisher_case(name, model, part, prior_family="full", p2=""):
    fi = fisher_information(model, prior_family=prior_family)
    pred, breakdown = predicted_null_dim(model, prior_family)
    return HierarchyCase(
        case=name, m=model.n_latent, n=model.n_features, theorem_part=part,
        weakly_injective=bool(is_weakly_injective(model.network)),
        injective=bool(is_injective(model.network)), p2=p2,
        predicted_null_dim=pred, measured_null_dim=fi.null_dim,
        notes=f"{len(fi.names)} free parameters; predicted {breakdown}; gap {fi.gap:.2g}",
        spectrum=np.sqrt(fi.eigenvalues / fi.eigenvalues[0]),
    )


def cases_latent_1d(rng, n_models=10, first_index=0):
    """Random weakly injective models (theorem part a; part d when injective)."""
    out = []
    for i in range(first_index, first_index + n_models):
        n = int(rng.choice([1, 2]))
        model = random_identifiable_model_1d(rng, n_features=n, n_hidden=int(rng.choice([2, 3])),
                                             n_components=int(rng.choice([2, 3])))
        part = "a, d" if is_injective(model.network) else "a"
        out.append(_fisher_case(f"random m=1 #{i}", model, part, p2="n/a (m=1)"))
    return out


def case_abs_counterexample(s=0.5, noise=0.2):
    """f(z) = |z| (not F2): two non-equivalent priors with the same P(X)."""
    absf = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    p1 = GaussianMixture.from_std([0.5, 0.5], [[1.0], [3.0]], [s, s])
    p2 = GaussianMixture.from_std([0.5, 0.5], [[1.0], [-3.0]], [s, s])
    a, b = PushforwardModel(p1, absf, noise), PushforwardModel(p2, absf, noise)
    kl = max(abs(kl_divergence(a, b)), abs(kl_divergence(b, a)))
    eq = find_equivalence(a, b, atol=1e-6, rtol=1e-6)
    case = HierarchyCase(
        case="counterexample |z|: components (1, 3) vs (1, -3)", m=1, n=1, theorem_part="a fails",
        weakly_injective=bool(is_weakly_injective(absf)), injective=False, p2="n/a (m=1)",
        kl_between_alternatives=kl, affinely_equivalent=eq is not None,
        notes="max of KL(a||b) and KL(b||a) by exact quadrature",
        extra={"models": (a, b)},
    )
    # The Fisher null space grows at a prior with a component centred on the fold:
    # moving that mean changes P(X) only at second order (N(mu) and N(-mu) fold alike).
    centred = PushforwardModel(GaussianMixture.from_std([0.5, 0.5], [[0.0], [2.0]], [s, s]),
                               absf, noise)
    grow = _fisher_case("|z| with a component centred on the fold", centred, "a fails")
    grow = dataclasses.replace(
        grow, notes=grow.notes + "; the extra null direction is the centred component's mean")
    return [case, grow]


def case_constant_where_mass(noise=0.2):
    """A unit constant where the prior has its mass: the prior is invisible."""
    f = ReLUNetwork([[[1.0]], [[2.0]]], [[-4.0], [0.0]])  # 2 relu(z - 4)
    p1 = GaussianMixture.from_std([1.0], [[0.0]], [0.5])
    p2 = GaussianMixture.from_std([0.6, 0.4], [[-0.5], [0.3]], [0.4, 0.3])
    a, b = PushforwardModel(p1, f, noise), PushforwardModel(p2, f, noise)
    kl = max(abs(kl_divergence(a, b)), abs(kl_divergence(b, a)))
    eq = find_equivalence(a, b, atol=1e-6, rtol=1e-6)
    return [HierarchyCase(
        case="counterexample: f = 2 relu(z - 4), prior mass below the kink", m=1, n=1,
        theorem_part="a fails (practically)", weakly_injective=bool(is_weakly_injective(f)),
        injective=False, p2="n/a (m=1)", kl_between_alternatives=kl,
        affinely_equivalent=eq is not None,
        notes="f is weakly injective, but constant on the prior's bulk (mass above the kink "
              "< 1e-15): the likelihood cannot see the prior",
        extra={"models": (a, b)},
    )]


def case_recover_affine_1d(rng):
    """Part (d): an injective f; recover h from two equivalent parameter sets."""
    prior = GaussianMixture.from_std([0.3, 0.7], [[-1.0], [1.0]], [0.5, 0.4])
    f = ReLUNetwork([[[1.0], [-0.7]], [[1.5, -0.8]]], [[0.2, 0.3], [0.1]], negative_slope=0.2)
    a = PushforwardModel(prior, f, 0.2)
    scale, shift = -1.7, 0.6
    W, B = [w.copy() for w in f.weights], [v.copy() for v in f.biases]
    B[0] = B[0] - W[0][:, 0] * shift / scale
    W[0] = W[0] / scale
    perm = [1, 0]
    t = np.array([2.0, 0.5])
    W[0], B[0] = W[0][perm] * t[:, None], B[0][perm] * t
    W[1] = W[1][:, perm] / t
    prior_b = GaussianMixture(prior.weights, scale * prior.means + shift,
                              scale**2 * prior.covariances)
    b = PushforwardModel(prior_b, ReLUNetwork(W, B, 0.2), 0.2)
    eq = find_equivalence(a, b)
    z = np.linspace(-6, 6, 2001)[:, None]
    err = float(np.abs(b.network.forward(eq.scale * z + eq.shift) - f.forward(z)).max())
    return [HierarchyCase(
        case="injective f: recover h, check f' = f o h^-1", m=1, n=1, theorem_part="d",
        weakly_injective=True, injective=bool(is_injective(f)), p2="n/a (m=1)",
        affinely_equivalent=True, kl_between_alternatives=abs(kl_divergence(a, b)),
        notes=f"recovered h(z) = {eq.scale:.12g} z + {eq.shift:.12g} (true {scale} z + {shift}); "
              f"max |f'(h(z)) - f(z)| on [-6, 6] = {err:.2g}",
    )]


def cases_latent_2d(rng, n_models=10, first_index=0):
    """Random weakly injective models with a 2-D latent and n = 2, half with (P2) priors (even indices).

    ``n = 2`` so that the Fisher information is a quadrature over ``x`` (with
    analytic scores), not a Monte Carlo average.
    """
    out = []
    for i in range(first_index, first_index + n_models):
        p2 = i % 2 == 0
        model = random_identifiable_model_2d(
            rng, n_features=2, n_hidden=int(rng.choice([2, 3])),
            n_components=int(rng.choice([2, 3])), p2=p2)
        verdict = check_p2(model.prior)
        family = "diagonal" if p2 else "full"
        injective = bool(is_injective(model.network)) if model.n_features == 2 else ""
        part = ("b" if verdict else "a") + (", d" if injective is True else "")
        fi = fisher_information(model, prior_family=family)
        pred, breakdown = predicted_null_dim(model, family)
        out.append(HierarchyCase(
            case=f"random m=2 #{i} ({'P2 prior' if p2 else 'full covariances'})", m=2,
            n=model.n_features, theorem_part=part,
            weakly_injective=bool(is_weakly_injective(model.network)), injective=injective,
            p2=bool(verdict), predicted_null_dim=pred, measured_null_dim=fi.null_dim,
            notes=f"{len(fi.names)} free parameters ({family} covariances); predicted "
                  f"{breakdown}; gap {fi.gap:.2g}; {fi.method}",
            spectrum=np.sqrt(fi.eigenvalues / fi.eigenvalues[0]),
        ))
    return out


def _transformed(model, M, b):
    """``(h#P, f o h^-1)`` for ``h(z) = M z + b`` (2-D latent)."""
    prior, net = model.prior, model.network
    new_prior = GaussianMixture(prior.weights, prior.means @ M.T + b,
                                np.einsum("ab,jbc,dc->jad", M, prior.covariances, M))
    Minv = np.linalg.inv(M)
    W = [w.copy() for w in net.weights]
    B = [v.copy() for v in net.biases]
    B[0] = B[0] - W[0] @ Minv @ b
    W[0] = W[0] @ Minv
    return PushforwardModel(new_prior, ReLUNetwork(W, B, net.negative_slope), model.noise_vector)


def case_rotation_without_p2(rng):
    """Without (P2) a rotation of the latent is invisible: only level (a) holds.

    Isotropic components (every variance ratio is 1, so (P2) fails): rotating
    the latent by any angle keeps the prior in the diagonal family and, with
    ``f o R^-1``, leaves ``P(X)`` unchanged, although no permutation, scaling
    or translation maps one latent model onto the other.  The Fisher
    information in the diagonal family has one extra null direction (the
    rotation generator).
    """
    prior = GaussianMixture([0.3, 0.3, 0.4], [[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0]],
                            [0.3 * np.eye(2), 0.2 * np.eye(2), 0.4 * np.eye(2)])
    net = ReLUNetwork([[[1.0, 0.3], [-0.2, 1.0], [0.7, -0.8]], rng.normal(0, 1, (2, 3))],
                      [[0.1, -0.2, 0.3], [0.0, 0.0]], negative_slope=0.2)
    a = PushforwardModel(prior, net, 0.2)
    angle = np.deg2rad(30.0)
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    b = _transformed(a, R, np.zeros(2))
    kl = max(abs(kl_divergence(a, b)), abs(kl_divergence(b, a)))
    # Is b's prior a permutation/scaling/translation of a's?  Means rotate by 30
    # degrees, so no coordinate permutation and scaling maps one set onto the other.
    perm_scale = _permutation_scaling_translation(a.prior, b.prior)
    fi = fisher_information(a, prior_family="diagonal")
    pred, breakdown = predicted_null_dim(a, "diagonal")
    p2 = check_p2(a.prior)
    return [HierarchyCase(
        case="no (P2): isotropic components, latent rotated by 30 degrees", m=2, n=2,
        theorem_part="b fails, a holds", weakly_injective=bool(is_weakly_injective(net)),
        injective=bool(is_injective(net)), p2=bool(p2), predicted_null_dim=pred,
        measured_null_dim=fi.null_dim, kl_between_alternatives=kl,
        affinely_equivalent=True,
        notes=f"equivalent by the rotation (an affine map), but by no permutation/scaling/"
              f"translation: {perm_scale}; KL by exact quadrature over x; predicted "
              f"{breakdown} for the (P2) family, the extra null direction is the rotation",
        spectrum=np.sqrt(fi.eigenvalues / fi.eigenvalues[0]),
    )]


def _permutation_scaling_translation(prior_a, prior_b, tol=1e-8):
    """Describe whether a coordinate permutation + scaling + translation maps prior_a to prior_b."""
    for perm in itertools.permutations(range(prior_a.n_features)):
        P = np.eye(prior_a.n_features)[list(perm)]
        for cperm in itertools.permutations(range(prior_a.n_components)):
            ma, mb = prior_a.means @ P.T, prior_b.means[list(cperm)]
            # Fit diagonal scale s and shift t: mb = s * ma + t, per coordinate.
            ok = True
            for d in range(prior_a.n_features):
                A = np.column_stack([ma[:, d], np.ones(len(ma))])
                coef, *_ = np.linalg.lstsq(A, mb[:, d], rcond=None)
                if np.abs(A @ coef - mb[:, d]).max() > tol:
                    ok = False
            if ok:
                return f"mapped by coordinate permutation {perm}"
    return "none exists (the component means are not related by one)"


def case_recover_affine_2d(rng):
    """Part (d) for a 2-D latent: injective f, recover h, check f' = f o h^-1 on a grid."""
    prior = GaussianMixture([0.3, 0.3, 0.4], [[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0]],
                            [np.diag([0.3, 0.1]), np.diag([0.1, 0.4]), np.diag([0.2, 0.2])])
    net = ReLUNetwork([[[1.0, 0.3], [-0.2, 1.0]], [[0.8, -0.5], [0.4, 1.1]]],
                      [[0.1, -0.2], [0.0, 0.0]], negative_slope=0.3)
    a = PushforwardModel(prior, net, 0.2)
    M = np.array([[1.3, -0.4], [0.6, 0.9]])
    shift = np.array([0.5, -1.0])
    b = _transformed(a, M, shift)
    eq = find_equivalence(a, b)
    M_hat, b_hat, err = eq.matrix, eq.offset, eq.verify(a, b)
    g = np.linspace(-4, 4, 81)
    Z = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    f_err = float(np.abs(b.network.forward(Z @ M_hat.T + b_hat) - net.forward(Z)).max())
    kl = max(abs(kl_divergence(a, b)), abs(kl_divergence(b, a)))
    return [HierarchyCase(
        case="injective f (m=2): recover h, check f' = f o h^-1", m=2, n=2, theorem_part="d",
        weakly_injective=True, injective=bool(is_injective(net)), p2=True,
        kl_between_alternatives=kl, affinely_equivalent=True,
        notes=f"find_equivalence recovered M = {np.array2string(M_hat, precision=10)}, b = "
              f"{np.array2string(b_hat, precision=10)} (independent verify(): {err:.2g}); "
              f"max |f'(h(z)) - f(z)| on [-4, 4]^2 = {f_err:.2g}",
    )]


_CASES = {
    "random m=1": lambda i, rng: cases_latent_1d(rng, 1, first_index=i),
    "random m=2": lambda i, rng: cases_latent_2d(rng, 1, first_index=i),
    "|z| counterexample": lambda i, rng: case_abs_counterexample(),
    "constant-unit counterexample": lambda i, rng: case_constant_where_mass(),
    "rotation without (P2)": lambda i, rng: case_rotation_without_p2(rng),
    "(d) for m=1": lambda i, rng: case_recover_affine_1d(rng),
    "(d) for m=2": lambda i, rng: case_recover_affine_2d(rng),
}


def _case_job(job):
    """One hierarchy job: ``(case kind, index, seed)`` -> list of HierarchyCase."""
    kind, index, seed = job
    return _CASES[kind](index, np.random.default_rng(seed))


@dataclass(frozen=True)
class HierarchyResult:
    """Outcome of :func:`run_hierarchy`: the cases in report order, the seed and the time."""

    cases: tuple
    seed: int
    seconds: float


def hierarchy_jobs(seed=0, n_models=10):
    """The jobs of :func:`run_hierarchy`: ``(case kind, index, seed)``, each with its own seed."""
    kinds = ([("random m=1", i) for i in range(n_models)]
             + [("random m=2", i) for i in range(n_models)]
             + [(kind, 0) for kind in list(_CASES)[2:]])
    seeds = np.random.SeedSequence(seed).spawn(len(kinds))
    return [(kind, i, int(s.generate_state(1)[0])) for (kind, i), s in zip(kinds, seeds)]


def run_hierarchy(seed=0, n_models=10, executor=None, on_result=None):
    """Every case of the report.

    Parameters
    ----------
    seed : int
        Each case gets its own child of ``SeedSequence(seed)``, so the result
        does not depend on the executor.
    n_models : int
        Random models per latent dimension.
    executor : concurrent.futures.Executor, optional
        One job per case; None runs them here.
    on_result : callable, optional
        ``on_result(index, cases)`` as each job finishes.

    Returns
    -------
    HierarchyResult
    """
    t0 = time.perf_counter()
    results = run_jobs(_case_job, hierarchy_jobs(seed, n_models), executor, on_result)
    return HierarchyResult(cases=tuple(itertools.chain.from_iterable(results)), seed=seed,
                           seconds=time.perf_counter() - t0)
