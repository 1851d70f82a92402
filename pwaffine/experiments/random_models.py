"""Random identifiable models: truths for the hierarchy and the finite-sample study.

Both draw until the network is weakly injective (condition (F2)), with unit
kinks placed where the prior has its mass, so that every parameter moves the
law of ``x``.
"""

import numpy as np

from ..identifiability import is_weakly_injective
from ..model import GaussianMixture, PushforwardModel, ReLUNetwork

__all__ = ["random_identifiable_model_1d", "random_identifiable_model_2d"]


def random_identifiable_model_1d(rng, n_features=1, n_hidden=2, n_components=2, noise_std=0.2):
    """A random weakly injective model with every kink inside the prior's bulk.

    Units ``relu(w_i (z - t_i))`` with knots ``t_i`` at random quantiles of the
    prior (so every parameter moves mass), random signs and output weights;
    redrawn until (F2) holds.
    """
    for _ in range(100):
        means = np.sort(rng.uniform(-1.5, 1.5, n_components))
        stds = rng.uniform(0.3, 0.6, n_components)
        weights = rng.dirichlet(np.full(n_components, 3.0))
        prior = GaussianMixture.from_std(weights, means[:, None], stds)
        knots = rng.uniform(-1.2, 1.2, n_hidden)
        w = rng.uniform(0.7, 1.5, n_hidden) * rng.choice([-1.0, 1.0], n_hidden)
        W2 = rng.normal(0.0, 1.0, (n_features, n_hidden))
        W2 += np.sign(W2) * 0.5
        net = ReLUNetwork([w[:, None], W2], [-w * knots, rng.normal(0, 0.3, n_features)])
        if is_weakly_injective(net):
            return PushforwardModel(prior, net, noise_std)
    raise RuntimeError("no weakly injective network drawn")  # pragma: no cover


def random_identifiable_model_2d(rng, n_features=2, n_hidden=3, n_components=3, p2=True,
                                 noise_std=0.2, negative_slope=0.2):
    """A random weakly injective model with a 2-D latent.

    Unit lines pass through the prior's bulk; the prior is either of the (P2)
    family (diagonal covariances with distinct variance ratios between
    components) or has full covariances.  Redrawn until (F2) has a witness.
    """
    for _ in range(100):
        J = n_components
        means = rng.uniform(-1.2, 1.2, (J, 2))
        if p2:
            variances = rng.uniform(0.1, 0.5, (J, 2))
            cov = np.zeros((J, 2, 2))
            cov[:, 0, 0], cov[:, 1, 1] = variances[:, 0], variances[:, 1]
        else:
            B = rng.normal(0.0, 0.5, (J, 2, 2))
            cov = B @ np.swapaxes(B, 1, 2) + 0.05 * np.eye(2)
        prior = GaussianMixture(rng.dirichlet(np.full(J, 3.0)), means, cov)
        angles = rng.uniform(0, 2 * np.pi, n_hidden)
        W1 = np.column_stack([np.cos(angles), np.sin(angles)]) * rng.uniform(0.7, 1.5, (n_hidden, 1))
        knots = rng.uniform(-1.0, 1.0, (n_hidden, 2))
        b1 = -np.einsum("ij,ij->i", W1, knots)
        W2 = rng.normal(0.0, 1.0, (n_features, n_hidden))
        net = ReLUNetwork([W1, W2], [b1, rng.normal(0, 0.3, n_features)],
                          negative_slope=negative_slope)
        if is_weakly_injective(net):
            return PushforwardModel(prior, net, noise_std)
    raise RuntimeError("no weakly injective network drawn")  # pragma: no cover
