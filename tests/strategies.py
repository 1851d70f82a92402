"""Hypothesis strategies for random networks, priors and models.

Random objects are built from a drawn seed and drawn architecture, so every
example is reproducible from its printed arguments.
"""

import numpy as np
from hypothesis import strategies as st

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork


@st.composite
def networks(draw, n_inputs=1, n_outputs=st.integers(1, 3), depth=st.integers(1, 3),
             width=st.integers(1, 8)):
    """Random (leaky) ReLU networks: depth = number of hidden layers + 1."""
    n_out = draw(n_outputs) if isinstance(n_outputs, st.SearchStrategy) else n_outputs
    n_layers = draw(depth)
    sizes = [n_inputs] + [draw(width) for _ in range(n_layers - 1)] + [n_out]
    slope = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return ReLUNetwork.random(sizes, negative_slope=slope, bias_scale=1.5, rng=rng)


@st.composite
def priors(draw, n_features=1, n_components=st.integers(1, 4)):
    """Random Gaussian mixtures; weights bounded away from zero."""
    J = draw(n_components)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.dirichlet(np.full(J, 2.0))
    means = rng.normal(0.0, 1.5, size=(J, n_features))
    A = rng.normal(size=(J, n_features, n_features))
    cov = A @ np.swapaxes(A, 1, 2) / n_features + 0.05 * np.eye(n_features)
    return GaussianMixture(weights, means, cov)


@st.composite
def models(draw, n_latent=1, noise=st.floats(0.01, 2.0), n_outputs=st.integers(1, 3)):
    """Random noisy pushforward models with noise_std drawn from ``noise``."""
    network = draw(networks(n_inputs=n_latent, n_outputs=n_outputs))
    prior = draw(priors(n_features=n_latent))
    return PushforwardModel(prior, network, draw(noise))
