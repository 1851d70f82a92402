"""VaDE (Jiang et al. 2017) in PyTorch, whose generative model is exactly a pwaffine model.

Requires the optional ``vae`` extra (``pip install pwaffine[vae]``, which
brings PyTorch); nothing else in pwaffine imports this module.

The model
---------
Variational deep embedding fits the deep latent-variable model of pwaffine,

.. math::

    z \\sim \\sum_j \\lambda_j N(\\mu_j, \\Sigma_j), \\qquad
    x = f(z) + \\varepsilon, \\quad \\varepsilon \\sim N(0, s^2 I_n),

with ``f`` a (leaky) ReLU multilayer perceptron with a linear output layer
and one noise standard deviation ``s`` shared by all coordinates, together
with an encoder ``q(z | x) = N(m(x), diag(v(x)))`` (an MLP of the same
widths, reversed).  The mixture weights are a softmax of free logits; the
covariances are diagonal (free log variances, ``covariance_type="diag"``) or
full (a lower Cholesky factor with a free strictly lower part and a log
diagonal, ``covariance_type="full"``).  :meth:`FittedVaDE.to_pushforward`
copies the fitted parameters into a :class:`~pwaffine.PushforwardModel`
(the decoder's ``torch.nn.Linear`` weights and biases become the
:class:`~pwaffine.ReLUNetwork`'s, unchanged), so the exact log-likelihood
``log p(x)`` of the very model that VaDE trained can be computed, and set
beside the bound VaDE optimises.

The bound
---------
For each point the evidence lower bound is

.. math::

    \\mathrm{ELBO}(x) = E_{q(z|x)}[\\log p(x | z) + \\log p(z)] + H[q(z | x)]
                      = \\log p(x) - KL(q(z | x) \\,\\|\\, p(z | x)) \\le \\log p(x),

estimated with ``n_mc`` reparameterised samples ``z = m(x) + sqrt(v(x)) e``,
``e ~ N(0, I)``, for the expectation, and the Gaussian entropy
``H = sum_d (1 + log(2 pi v_d)) / 2`` in closed form.  The estimate is
unbiased for every prior, diagonal or full.  VaDE's original bound instead
introduces the component ``c`` as a second latent with
``q(c | x) = p(c | z)`` and integrates the mixture term analytically
(diagonal covariances only); for any ``q(c | x)`` that bound is at most the
one above, since ``log p(z) >= sum_c q(c) log(p(z, c) / q(c))`` for every
``z`` (Jensen), with equality only when ``q(c)`` is exactly ``p(c | z)``.  The
marginal bound is thus the tighter of the two, and simpler.

Reproducibility
---------------
Training and evaluation run in float64 on the CPU (the networks are small;
the exported model is then exactly the trained one), single-threaded
(``torch.set_num_threads(1)``) with ``torch.use_deterministic_algorithms``,
both restored afterwards.  :func:`fit_vade` seeds PyTorch with
``torch.manual_seed(seed)`` inside ``torch.random.fork_rng`` (the caller's
global generator is left as it was) and draws the minibatch order and the
k-means start from ``numpy.random.default_rng(seed)``: a given seed gives
the same parameters, bit for bit, on a given machine and PyTorch version.
"""

import contextlib
import itertools
import math

import numpy as np
import torch
from torch import nn

from .._validation import check_array, check_int, check_samples, check_scalar
from ..model import GaussianMixture, PushforwardModel, ReLUNetwork

__all__ = ["FittedVaDE", "VaDE", "fit_vade"]

_LOG_2PI = math.log(2.0 * math.pi)
_COVARIANCE_TYPES = ("diag", "full")
_DTYPE = torch.float64
#: Evaluation handles at most this many (point, sample) pairs at once.
_EVAL_BLOCK = 1 << 16
#: Lloyd iterations of the k-means that initialises the prior.
_KMEANS_ITERATIONS = 25


# ====================================================================== checks
def _check_architecture(n_features, n_latent, n_components, hidden_layer_sizes, negative_slope,
                        covariance_type):
    """Validate the architecture by name; return the clean values."""
    n_features = check_int(n_features, "n_features", low=1)
    n_latent = check_int(n_latent, "n_latent", low=1)
    n_components = check_int(n_components, "n_components", low=1)
    if isinstance(hidden_layer_sizes, (str, bytes)) or not hasattr(hidden_layer_sizes, "__iter__"):
        raise ValueError(f"hidden_layer_sizes must be a sequence of positive integers; "
                         f"got {hidden_layer_sizes!r:.80}")
    hidden = tuple(check_int(h, "hidden_layer_sizes entries", low=1) for h in hidden_layer_sizes)
    negative_slope = check_scalar(negative_slope, "negative_slope", low=0.0)
    if not isinstance(covariance_type, str) or covariance_type not in _COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {_COVARIANCE_TYPES}; "
                         f"got {covariance_type!r:.80}")
    return n_features, n_latent, n_components, hidden, negative_slope, covariance_type


# ====================================================================== module
def _mlp(sizes, negative_slope):
    """Linear layers of the given widths, the activation after every layer but the last."""
    layers = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(d_in, d_out, dtype=_DTYPE))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU())
    return nn.Sequential(*layers)


class VaDE(nn.Module):
    """Variational deep embedding with a Gaussian-mixture prior and a (leaky) ReLU decoder.

    The parameters are float64 and drawn from PyTorch's global generator
    (``nn.Linear``'s default initialisation; prior means standard normal,
    prior covariances the identity, equal weights, noise standard deviation 1).

    Parameters
    ----------
    n_features : int
        Observed dimension ``n``.
    n_latent : int
        Latent dimension ``m``.
    n_components : int
        Number of mixture components ``J``.
    hidden_layer_sizes : sequence of int
        Widths of the decoder's hidden layers (possibly none: an affine
        decoder); the encoder uses them in reverse order.
    negative_slope : float, default=0.0
        Slope of the activation for negative inputs (``0``: ReLU), in the
        decoder and the encoder alike.
    covariance_type : {"diag", "full"}, default="diag"
        Parametrisation of the prior's covariances.

    Attributes
    ----------
    encoder : torch.nn.Sequential
        ``x -> (m(x), log v(x))``, output of width ``2 * n_latent``.
    decoder : torch.nn.Sequential
        ``z -> f(z)``: ``Linear``, activation, ..., ``Linear``.
    prior_logits : torch.nn.Parameter of shape (n_components,)
        Mixture weights are ``softmax(prior_logits)``.
    prior_means : torch.nn.Parameter of shape (n_components, n_latent)
    prior_log_var : torch.nn.Parameter of shape (n_components, n_latent)
        ``covariance_type="diag"`` only: log variances.
    prior_cholesky_lower : torch.nn.Parameter of shape (n_components, n_latent, n_latent)
        ``covariance_type="full"`` only: its strictly lower triangle is that of
        the Cholesky factor (the rest is unused).
    prior_log_cholesky_diag : torch.nn.Parameter of shape (n_components, n_latent)
        ``covariance_type="full"`` only: log of the Cholesky factor's diagonal.
    log_noise_std : torch.nn.Parameter of shape ()
        ``log s``.
    """

    def __init__(self, n_features, n_latent, n_components, hidden_layer_sizes,
                 negative_slope=0.0, covariance_type="diag"):
        super().__init__()
        (n_features, n_latent, n_components, hidden, negative_slope,
         covariance_type) = _check_architecture(n_features, n_latent, n_components,
                                                hidden_layer_sizes, negative_slope,
                                                covariance_type)
        self.n_features, self.n_latent, self.n_components = n_features, n_latent, n_components
        self.hidden_layer_sizes, self.negative_slope = hidden, negative_slope
        self.covariance_type = covariance_type
        self.encoder = _mlp([n_features, *hidden[::-1], 2 * n_latent], negative_slope)
        self.decoder = _mlp([n_latent, *hidden, n_features], negative_slope)
        self.prior_logits = nn.Parameter(torch.zeros(n_components, dtype=_DTYPE))
        self.prior_means = nn.Parameter(torch.randn(n_components, n_latent, dtype=_DTYPE))
        if covariance_type == "diag":
            self.prior_log_var = nn.Parameter(torch.zeros(n_components, n_latent, dtype=_DTYPE))
        else:
            self.prior_cholesky_lower = nn.Parameter(
                torch.zeros(n_components, n_latent, n_latent, dtype=_DTYPE))
            self.prior_log_cholesky_diag = nn.Parameter(
                torch.zeros(n_components, n_latent, dtype=_DTYPE))
        self.log_noise_std = nn.Parameter(torch.zeros((), dtype=_DTYPE))

    def encode(self, x):
        """Parameters of ``q(z | x)``.

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_features)

        Returns
        -------
        mean : torch.Tensor of shape (..., n_latent)
        log_var : torch.Tensor of shape (..., n_latent)
        """
        out = self.encoder(x)
        return out[..., :self.n_latent], out[..., self.n_latent:]

    def decode(self, z):
        """The decoder ``f(z)``.

        Parameters
        ----------
        z : torch.Tensor of shape (..., n_latent)

        Returns
        -------
        torch.Tensor of shape (..., n_features)
        """
        return self.decoder(z)

    def prior_cholesky(self):
        """Lower Cholesky factors of the prior's covariances.

        Returns
        -------
        torch.Tensor of shape (n_components, n_latent, n_latent)
        """
        if self.covariance_type == "diag":
            return torch.diag_embed(torch.exp(0.5 * self.prior_log_var))
        return (torch.tril(self.prior_cholesky_lower, diagonal=-1)
                + torch.diag_embed(torch.exp(self.prior_log_cholesky_diag)))

    def prior_component_log_prob(self, z):
        """``log lambda_j + log N(z; mu_j, Sigma_j)``.

        Parameters
        ----------
        z : torch.Tensor of shape (..., n_latent)

        Returns
        -------
        torch.Tensor of shape (..., n_components)
        """
        log_weights = torch.log_softmax(self.prior_logits, dim=0)
        diff = z.unsqueeze(-2) - self.prior_means  # (..., J, m)
        if self.covariance_type == "diag":
            maha = (diff**2 * torch.exp(-self.prior_log_var)).sum(-1)
            log_det = self.prior_log_var.sum(-1)
        else:
            white = torch.linalg.solve_triangular(self.prior_cholesky(), diff.unsqueeze(-1),
                                                  upper=False).squeeze(-1)
            maha = (white**2).sum(-1)
            log_det = 2.0 * self.prior_log_cholesky_diag.sum(-1)
        return log_weights - 0.5 * (self.n_latent * _LOG_2PI + log_det + maha)

    def prior_log_prob(self, z):
        """``log p(z)``, shape ``(...)`` for ``z`` of shape ``(..., n_latent)``."""
        return torch.logsumexp(self.prior_component_log_prob(z), dim=-1)

    def log_likelihood(self, x, z):
        """``log p(x | z) = log N(x; f(z), s^2 I)``.

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_features)
        z : torch.Tensor of shape (..., n_latent)
            Broadcast against ``x`` (e.g. ``(n_mc, n_samples, n_latent)``
            against ``(n_samples, n_features)``).

        Returns
        -------
        torch.Tensor of the broadcast shape, without the last axis
        """
        log_s = self.log_noise_std
        resid = (x - self.decode(z)) * torch.exp(-log_s)
        return -0.5 * (resid**2).sum(-1) - self.n_features * (log_s + 0.5 * _LOG_2PI)

    def elbo(self, x, n_mc=1, generator=None):
        """Unbiased estimate of each point's evidence lower bound.

        ``mean_s [log p(x | z_s) + log p(z_s)] + H[q(z | x)]`` with
        ``z_s = m(x) + sqrt(v(x)) e_s`` and ``e_s ~ N(0, I)`` (see the module
        docstring); differentiable in every parameter.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)
        n_mc : int, default=1
            Monte Carlo samples per point.
        generator : torch.Generator, optional
            Source of ``e``; PyTorch's global generator if omitted.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
        """
        mean, log_var = self.encode(x)
        eps = torch.randn((n_mc,) + tuple(mean.shape), generator=generator, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * log_var) * eps  # (n_mc, n_samples, n_latent)
        expected = (self.log_likelihood(x, z) + self.prior_log_prob(z)).mean(0)
        entropy = 0.5 * (log_var + 1.0 + _LOG_2PI).sum(-1)
        return expected + entropy

    forward = elbo


# ===================================================================== fitting
@contextlib.contextmanager
def _reproducible_torch():
    """Single-threaded, deterministic PyTorch for the duration; the settings restored after."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.set_num_threads(threads)


def _batches(n_samples, batch_size, rng):
    """Index arrays of the minibatches of one epoch, in a random order."""
    order = torch.from_numpy(rng.permutation(n_samples))
    return torch.split(order, batch_size)


def _pretrain(module, X, n_epochs, batch_size, lr, rng):
    """Autoencoder epochs (squared error of ``f(m(x))``); the mean loss of each epoch."""
    params = list(module.encoder.parameters()) + list(module.decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=lr)
    history = []
    for _ in range(n_epochs):
        total = 0.0
        for idx in _batches(X.shape[0], batch_size, rng):
            x = X[idx]
            loss = ((module.decode(module.encode(x)[0]) - x) ** 2).sum(-1)
            optimizer.zero_grad()
            loss.mean().backward()
            optimizer.step()
            total += float(loss.detach().sum())
        history.append(total / X.shape[0])
    return np.array(history)


def _kmeans(P, k, rng):
    """k-means++ start and Lloyd iterations; ``(centres (k, d), assignment (n,))``."""
    n = P.shape[0]
    centres = [P[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((P[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centres.append(P[rng.choice(n, p=d2 / total)] if total > 0 else P[rng.integers(n)])
    centres = np.array(centres)
    for _ in range(_KMEANS_ITERATIONS):
        assign = np.argmin(((P[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if np.any(assign == j):  # an empty cluster keeps its centre
                centres[j] = P[assign == j].mean(axis=0)
    assign = np.argmin(((P[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    return centres, assign


@torch.no_grad()
def _init_prior_and_noise(module, X, rng):
    """Moment-match the prior to a k-means clustering of the encoder's means; set the noise.

    With ``w_j`` the per-coordinate variance of the encoder means in cluster
    ``j`` and ``v0`` one hundredth of their average, the encoder's posterior
    variances are reset to the constant ``v0`` (the log-variance rows of its
    last layer get zero weights and bias ``log v0``), and component ``j`` gets
    the weight ``(n_j + 1) / (n + J)`` of its cluster (never zero), its mean,
    and the variance ``w_j + v0`` (the moments of the aggregate posterior),
    floored at ``1e-6`` times the largest.  The noise standard deviation
    becomes the root mean square residual of ``x - f(m(x))``, floored at
    ``1e-3`` times the data's standard deviation.
    """
    mean = module.encode(X)[0]
    M = mean.numpy()
    J, m = module.n_components, module.n_latent
    centres, assign = _kmeans(M, J, rng)
    counts = np.bincount(assign, minlength=J)
    within = np.array([M[assign == j].var(axis=0) if counts[j] else np.zeros(m)
                       for j in range(J)])
    v0 = max(1e-2 * float(within.mean()), 1e-300)
    var = within + v0
    var = np.maximum(var, 1e-6 * var.max())
    last = module.encoder[-1]
    last.weight[m:].zero_()
    last.bias[m:].fill_(math.log(v0))
    module.prior_logits.copy_(torch.from_numpy(np.log((counts + 1.0) / (len(M) + J))))
    module.prior_means.copy_(torch.from_numpy(centres))
    if module.covariance_type == "diag":
        module.prior_log_var.copy_(torch.from_numpy(np.log(var)))
    else:
        module.prior_cholesky_lower.zero_()
        module.prior_log_cholesky_diag.copy_(torch.from_numpy(0.5 * np.log(var)))
    rms = float(torch.sqrt(((X - module.decode(mean)) ** 2).mean()))
    module.log_noise_std.fill_(math.log(max(rms, 1e-3 * float(X.std()), 1e-300)))


def _train(module, X, n_epochs, batch_size, lr, n_mc, rng):
    """Adam on the negative mean ELBO; the mean training ELBO of each epoch."""
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    history = []
    for epoch in range(n_epochs):
        total = 0.0
        for idx in _batches(X.shape[0], batch_size, rng):
            elbo = module.elbo(X[idx], n_mc=n_mc)
            loss = -elbo.mean()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the ELBO became {-float(loss.detach())} in epoch "
                                         f"{epoch}; try a smaller lr or rescale X")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(elbo.detach().sum())
        history.append(total / X.shape[0])
    return np.array(history)


def fit_vade(X, n_latent, n_components, hidden_layer_sizes, negative_slope=0.0,
             covariance_type="diag", n_epochs=100, batch_size=100, lr=1e-3, n_mc=1, seed=0,
             n_pretrain_epochs=10):
    """Fit a VaDE to data by maximising its ELBO.

    Three stages: ``n_pretrain_epochs`` epochs of the encoder's means and the
    decoder as a plain autoencoder (squared error); the prior moment-matched
    to a k-means clustering of the encoded data and the noise set from the
    autoencoder's residual (see Notes); ``n_epochs`` epochs of Adam on the
    negative ELBO of every parameter together.  Each epoch visits the points
    once, in minibatches of a fresh random order.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        At least ``n_components`` points.  Used as given (not standardised):
        the fitted model is a model of ``X`` in its own units.
    n_latent : int
        Latent dimension ``m``, ``>= 1``.  :meth:`FittedVaDE.to_pushforward`
        needs ``m <= 2`` (the latent dimensions pwaffine's exact density
        supports).
    n_components : int
        Number of mixture components ``J``, ``>= 1``.
    hidden_layer_sizes : sequence of int
        Widths of the decoder's hidden layers; the encoder's are reversed.
    negative_slope : float, default=0.0
        Activation slope for negative inputs; ``0`` gives ReLU.
    covariance_type : {"diag", "full"}, default="diag"
    n_epochs : int, default=100
        Epochs of ELBO training, ``>= 0``.
    batch_size : int, default=100
        Minibatch size, ``>= 1`` (at most ``n_samples`` is used).
    lr : float, default=1e-3
        Adam's learning rate (both stages), ``> 0``.
    n_mc : int, default=1
        Monte Carlo samples per point in the training ELBO, ``>= 1``.
    seed : int, default=0
        Seeds PyTorch (parameter initialisation, Monte Carlo draws) and numpy
        (minibatch order, k-means start), ``>= 0``.
    n_pretrain_epochs : int, default=10
        Autoencoder epochs before the prior is initialised, ``>= 0``.

    Returns
    -------
    FittedVaDE

    Raises
    ------
    ValueError
        For malformed input, named.
    FloatingPointError
        If the ELBO becomes NaN or infinite during training.

    Notes
    -----
    VaDE's own pretraining (a stacked autoencoder, then a GMM fitted to the
    codes) is simplified to a few autoencoder epochs and k-means with
    moment matching; the encoder's posterior variances start small (a
    hundredth of the clusters' spread) and are included in the clusters'
    moments, so that the prior starts near the aggregate posterior.  Runs
    single-threaded and deterministic, in float64 (module docstring).

    Examples
    --------
    >>> from pwaffine.datasets import pinwheel
    >>> from pwaffine.experiments.vade import fit_vade
    >>> X, _ = pinwheel(200, rng=0)
    >>> fit = fit_vade(X, n_latent=2, n_components=3, hidden_layer_sizes=(8,),
    ...                n_epochs=5, batch_size=50, lr=1e-2, seed=0)
    >>> model = fit.to_pushforward()
    >>> model.n_latent, model.network.hidden_sizes
    (2, (8,))
    >>> bool(model.score(X) >= fit.elbo(X))  # the exact log-likelihood exceeds the bound
    True
    """
    X = check_array(X, "X", ndim=2)
    (n_features, n_latent, n_components, hidden, negative_slope,
     covariance_type) = _check_architecture(X.shape[1], n_latent, n_components,
                                            hidden_layer_sizes, negative_slope, covariance_type)
    if X.shape[0] < n_components:
        raise ValueError(f"X must have at least n_components={n_components} rows; "
                         f"got {X.shape[0]}")
    n_epochs = check_int(n_epochs, "n_epochs", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    n_mc = check_int(n_mc, "n_mc", low=1)
    seed = check_int(seed, "seed", low=0)
    n_pretrain_epochs = check_int(n_pretrain_epochs, "n_pretrain_epochs", low=0)
    settings = dict(n_latent=n_latent, n_components=n_components, hidden_layer_sizes=hidden,
                    negative_slope=negative_slope, covariance_type=covariance_type,
                    n_epochs=n_epochs, batch_size=batch_size, lr=lr, n_mc=n_mc, seed=seed,
                    n_pretrain_epochs=n_pretrain_epochs)
    X_t = torch.from_numpy(X)
    rng = np.random.default_rng(seed)
    with _reproducible_torch(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = VaDE(n_features, n_latent, n_components, hidden, negative_slope, covariance_type)
        pretrain_history = _pretrain(module, X_t, n_pretrain_epochs, batch_size, lr, rng)
        _init_prior_and_noise(module, X_t, rng)
        history = _train(module, X_t, n_epochs, batch_size, lr, n_mc, rng)
    module.eval()
    return FittedVaDE(module, settings, history, pretrain_history)


class FittedVaDE:
    """A fitted :class:`VaDE`, with a numpy interface; returned by :func:`fit_vade`.

    Attributes
    ----------
    module : VaDE
        The trained network (float64).
    settings : dict
        The arguments of :func:`fit_vade`, validated.
    elbo_history : ndarray of shape (n_epochs,)
        Mean training ELBO of each epoch (nats per point; a running estimate
        over the epoch's minibatches, with ``n_mc`` samples).
    pretrain_history : ndarray of shape (n_pretrain_epochs,)
        Mean squared reconstruction error of each autoencoder epoch.
    """

    def __init__(self, module, settings, elbo_history, pretrain_history):
        self.module = module
        self.settings = settings
        self.elbo_history = elbo_history
        self.pretrain_history = pretrain_history

    @property
    def n_features(self):
        return self.module.n_features

    @property
    def n_latent(self):
        return self.module.n_latent

    def __repr__(self):
        s = self.settings
        return (f"FittedVaDE(n_latent={s['n_latent']}, n_components={s['n_components']}, "
                f"hidden_layer_sizes={s['hidden_layer_sizes']}, "
                f"covariance_type={s['covariance_type']!r}, seed={s['seed']})")

    def elbo_samples(self, X, n_mc=1000, seed=0):
        """ELBO of each point, in nats (float64).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_mc : int, default=1000
            Monte Carlo samples per point, ``>= 1``.
        seed : int, default=0
            Seed of a private ``torch.Generator`` for the samples (PyTorch's
            global generator is not touched), ``>= 0``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Unbiased estimates of ``ELBO(x) <= log p(x)``; the points are
            processed in blocks of fixed size, so the result depends only on
            ``X``, ``n_mc`` and ``seed``.
        """
        X = check_samples(X, self.n_features, "X")
        n_mc = check_int(n_mc, "n_mc", low=1)
        seed = check_int(seed, "seed", low=0)
        generator = torch.Generator().manual_seed(seed)
        block = max(1, _EVAL_BLOCK // n_mc)
        out = np.empty(X.shape[0])
        with _reproducible_torch(), torch.no_grad():
            for start in range(0, X.shape[0], block):
                x = torch.from_numpy(X[start:start + block])
                out[start:start + block] = self.module.elbo(x, n_mc, generator).numpy()
        return out

    def elbo(self, X, n_mc=1000, seed=0):
        """Mean ELBO per point, in nats: ``mean(elbo_samples(X, n_mc, seed))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            At least one point.
        n_mc : int, default=1000
        seed : int, default=0

        Returns
        -------
        float
        """
        values = self.elbo_samples(X, n_mc=n_mc, seed=seed)
        if values.size == 0:
            raise ValueError("X must contain at least one sample")
        return float(values.mean())

    def encode(self, X):
        """Posterior means ``m(x)`` of ``z``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_latent)
        """
        X = check_samples(X, self.n_features, "X")
        with _reproducible_torch(), torch.no_grad():
            return self.module.encode(torch.from_numpy(X))[0].numpy().copy()

    def to_pushforward(self):
        """The generative model as a :class:`~pwaffine.PushforwardModel`, in float64.

        Mixture weights ``softmax(prior_logits)``, means, covariances
        ``L L^T`` from the Cholesky factors; the decoder's ``Linear`` layers'
        ``weight`` and ``bias`` as the network's weights and biases (the same
        layout), the same ``negative_slope``; noise ``exp(log_noise_std)``.

        Returns
        -------
        PushforwardModel

        Raises
        ------
        NotImplementedError
            If pwaffine's exact density does not support the latent dimension
            (``n_latent > 2``).
        """
        m = self.module
        with torch.no_grad():
            weights = torch.softmax(m.prior_logits, dim=0).numpy().copy()
            means = m.prior_means.detach().numpy().copy()
            chol = m.prior_cholesky()
            covariances = (chol @ chol.transpose(-1, -2)).numpy().copy()
            layers = [layer for layer in m.decoder if isinstance(layer, nn.Linear)]
            net_weights = [layer.weight.detach().to(_DTYPE).numpy().copy() for layer in layers]
            net_biases = [layer.bias.detach().to(_DTYPE).numpy().copy() for layer in layers]
            noise_std = float(torch.exp(m.log_noise_std))
        prior = GaussianMixture(weights, means, covariances)
        network = ReLUNetwork(net_weights, net_biases, negative_slope=m.negative_slope)
        return PushforwardModel(prior, network, noise_std)
