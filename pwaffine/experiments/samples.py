"""How many samples does the truth need?  The paper's open question, answered with exact fits.

For truths from two families, and each sample size ``N``, several data sets
are drawn and fitted by :class:`~pwaffine.ExactMLE` from blind starts only (the
truth is never a start).  Per fit:

* ``equivalent``: :func:`~pwaffine.find_equivalence` accepts the fit as the
  truth up to the family's symmetries, with ``atol = rtol = equivalence_tol``
  and functions compared where the prior has its mass (``support_sd``
  standard deviations), so the fraction shows how many samples that
  precision needs;
* ``kl``: ``KL(P_truth || P_fit)``, exactly, by quadrature over ``x``
  (:class:`~pwaffine.PopulationNLL`); at the truth's basin it falls like
  ``n_parameters / (2 N)``;
* ``prior_distance``: the paper's affine-invariant distance
  ``distAff,L2`` between the fitted and the true prior
  (:func:`~pwaffine.dist_aff_l2`): Theorem 3.5 (a) identifies ``P(Z)`` up to
  an affine map, so this parameter error falls like ``N^-1/2`` when the fit
  finds the truth's basin;
* ``beats_truth``: the fit's likelihood of the data is at least the truth's
  (it must be, for the maximum; a failure means the search missed it).

Families (:class:`SamplesSettings`): ``m = 1``, the paper's family (appendix
J.3.1) restricted to truths with no degeneracy and an injective ``f``; ``m =
2``, ``n = 2``, random models with two-unit leaky-ReLU networks, two
components and an injective ``f``.  As in the paper's study the noise is
known (fixed at the truth's); every other parameter is fitted.
"""

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..identifiability import dist_aff_l2, find_equivalence, is_injective
from ..inference import ExactMLE, PopulationNLL
from ..model import GaussianMixture, PushforwardModel, ReLUNetwork
from .executors import run_jobs
from .paper_family import StudySettings, draw_model, misspecification, model_args, paper_model
from .random_models import random_identifiable_model_2d

__all__ = ["SamplesResult", "SamplesSettings", "draw_truths", "fit_row", "run_samples"]


@dataclass(frozen=True)
class SamplesSettings:
    """Every setting of the finite-sample study.

    ``sample_sizes``, ``replicates_1d`` / ``replicates_2d`` data sets per truth and
    size (a 2-D fit costs ~20 times a 1-D one); truths per
    family (``truths_1d``, ``truths_2d``); the fits' ``n_init`` blind starts and
    ``max_iter`` L-BFGS iterations; the equivalence tolerance and the prior
    range (``support_sd`` standard deviations) on which functions are
    compared; the 2-D family's noise, hidden units and components.
    """

    sample_sizes: tuple = (100, 300, 1000, 3000, 10000)
    replicates_1d: int = 3
    replicates_2d: int = 2
    truths_1d: int = 2
    truths_2d: int = 1
    n_init: int = 4
    max_iter: int = 200
    equivalence_tol: float = 0.1
    support_sd: float = 4.0
    noise_2d: float = 0.2
    hidden_2d: int = 2
    components_2d: int = 2

    def as_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def quick(cls):
        """A tiny configuration for smoke tests."""
        return cls(sample_sizes=(100, 300), replicates_1d=1, replicates_2d=1, truths_1d=1,
                   truths_2d=1, n_init=2, max_iter=60)


def draw_truths(seed, settings=SamplesSettings()):
    """The study's truths: ``[(family, truth args), ...]`` with ``family`` "m=1" or "m=2"."""
    rng = np.random.default_rng(seed)
    truths = []
    study = StudySettings()
    while len([t for t in truths if t[0] == "m=1"]) < settings.truths_1d:
        model = draw_model(rng, study)
        flags = misspecification(model)
        if not flags and is_injective(model.network):
            truths.append(("m=1", model_args(model)))
    while len([t for t in truths if t[0] == "m=2"]) < settings.truths_2d:
        model = random_identifiable_model_2d(
            rng, n_features=2, n_hidden=settings.hidden_2d,
            n_components=settings.components_2d, p2=False, noise_std=settings.noise_2d)
        if is_injective(model.network):
            truths.append(("m=2", _model_arrays(model)))
    return truths


def _model_arrays(model):
    prior, net = model.prior, model.network
    return {"weights": prior.weights.tolist(), "means": prior.means.tolist(),
            "covariances": prior.covariances.tolist(),
            "net_weights": [w.tolist() for w in net.weights],
            "net_biases": [b.tolist() for b in net.biases],
            "negative_slope": net.negative_slope, "noise_std": model.noise_std}


def _truth_model(family, args):
    if family == "m=1":
        return paper_model(**args)
    return PushforwardModel(GaussianMixture(args["weights"], args["means"], args["covariances"]),
                            ReLUNetwork(args["net_weights"], args["net_biases"],
                                        args["negative_slope"]), args["noise_std"])


def fit_row(job):
    """One fit of the study (module level, so that executors can pickle it)."""
    family, truth_index, truth_args, n_samples, replicate, seed, settings_dict = job
    settings = SamplesSettings(**settings_dict)
    t0 = time.perf_counter()
    truth = _truth_model(family, truth_args)
    data_seed, fit_seed = np.random.SeedSequence(seed).generate_state(2)
    X = truth.sample(n_samples, rng=int(data_seed))
    estimator = ExactMLE(n_components=truth.prior.n_components,
                         hidden_layer_sizes=truth.network.hidden_sizes,
                         negative_slope=truth.network.negative_slope, n_latent=truth.n_latent,
                         covariance_type="full", noise_std=truth.noise_std,
                         n_init=settings.n_init, max_iter=settings.max_iter,
                         random_state=int(fit_seed))
    fit = estimator.fit(X).model_
    tol = settings.equivalence_tol
    equivalent = find_equivalence(truth, fit, atol=tol, rtol=tol,
                                  support_sd=settings.support_sd) is not None
    nll = PopulationNLL(truth)
    kl = max(nll(fit) - nll(truth), 0.0)
    distance = float(dist_aff_l2(fit.prior, truth.prior, rng=0))
    return {
        "family": family, "truth": truth_index, "n_samples": n_samples, "replicate": replicate,
        "equivalent": equivalent, "kl": kl, "prior_distance": distance,
        "nll_fit_on_data": estimator.nll_, "nll_truth_on_data": -truth.score(X),
        "beats_truth": bool(estimator.nll_ <= -truth.score(X) + 1e-12),
        "converged": estimator.converged_, "seconds": round(time.perf_counter() - t0, 1),
    }


@dataclass(frozen=True)
class SamplesResult:
    """Outcome of :func:`run_samples`: one row per fit, the truths, settings, seed, time."""

    rows: tuple
    truths: tuple
    seed: int
    settings: SamplesSettings
    seconds: float


def samples_jobs(seed=0, settings=SamplesSettings()):
    """Every fit of the study as a job, each with its own seed (largest samples first)."""
    truths = draw_truths(seed, settings)
    replicates = {"m=1": settings.replicates_1d, "m=2": settings.replicates_2d}
    specs = [(family, index, args, n, r)
             for index, (family, args) in enumerate(truths)
             for n in settings.sample_sizes for r in range(replicates[family])]
    seeds = np.random.SeedSequence([seed, 1]).spawn(len(specs))
    jobs = [(*spec, int(s.generate_state(1)[0]), settings.as_dict())
            for spec, s in zip(specs, seeds)]
    # Long jobs first, so that a pool's last jobs are short.
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i][3], i))
    return truths, [jobs[i] for i in order]


def run_samples(seed=0, settings=SamplesSettings(), executor=None, on_result=None):
    """Run the finite-sample study.

    Parameters
    ----------
    seed : int
        Seeds the truths, every data set and every fit; the rows do not depend
        on the executor.
    settings : SamplesSettings
    executor : concurrent.futures.Executor, optional
    on_result : callable, optional
        ``on_result(index, row)`` as each fit finishes.

    Returns
    -------
    SamplesResult
        Rows sorted by family, truth, sample size and replicate.
    """
    t0 = time.perf_counter()
    truths, jobs = samples_jobs(seed, settings)
    rows = run_jobs(fit_row, jobs, executor, on_result)
    rows = sorted(rows, key=lambda r: (r["family"], r["truth"], r["n_samples"], r["replicate"]))
    return SamplesResult(rows=tuple(rows), truths=tuple(truths), seed=seed, settings=settings,
                         seconds=time.perf_counter() - t0)
