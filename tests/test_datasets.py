"""The synthetic data sets: shapes, splits, seeds, and the geometry they promise."""

import numpy as np
import pytest

from pwaffine.datasets import parallelograms, pinwheel

GENERATORS = [pinwheel, parallelograms]


def _rotate(X, angle):
    """Turn the rows of ``X`` counter-clockwise by ``angle`` (scalar or per row)."""
    cos, sin = np.cos(angle), np.sin(angle)
    return np.column_stack([cos * X[:, 0] - sin * X[:, 1], sin * X[:, 0] + cos * X[:, 1]])


# ------------------------------------------------------------------ shared
@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n_samples, n_groups, counts", [
    (10, 3, [4, 3, 3]), (11, 3, [4, 4, 3]), (9, 3, [3, 3, 3]), (2, 3, [1, 1, 0]), (5, 1, [5]),
])
def test_shapes_and_even_split(make, n_samples, n_groups, counts):
    X, labels = make(n_samples, n_groups, rng=0)
    assert X.shape == (n_samples, 2) and X.dtype == np.float64
    assert labels.shape == (n_samples,) and labels.dtype.kind == "i"
    assert np.all(np.diff(labels) >= 0)
    assert np.bincount(labels, minlength=n_groups).tolist() == counts
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", GENERATORS)
def test_deterministic_per_seed(make):
    X1, l1 = make(50, rng=3)
    X2, l2 = make(50, rng=3)
    X3, _ = make(50, rng=np.random.default_rng(3))  # an int seed and its Generator agree
    X4, _ = make(50, rng=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(X1, X3)
    assert not np.allclose(X1, X4)


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_is_advanced(make):
    rng = np.random.default_rng(0)
    X1, _ = make(20, rng=rng)
    X2, _ = make(20, rng=rng)
    assert not np.allclose(X1, X2)


# ---------------------------------------------------------------- pinwheel
def test_pinwheel_follows_the_generator_exactly():
    """Without tangential noise a point at radius r of arm k sits at angle 2 pi k / K + rate e^r."""
    K, rate = 5, 0.4
    # radial_std 0.1: the starting abscissa 1 + 0.1 N(0, 1) is positive (a 10-sigma event
    # otherwise), so the radius of a point is that abscissa.
    X, labels = pinwheel(500, n_arms=K, radial_std=0.1, tangential_std=0.0, rate=rate, rng=1)
    radius = np.hypot(X[:, 0], X[:, 1])
    expected = radius[:, None] * np.column_stack(
        [np.cos(2 * np.pi * labels / K + rate * np.exp(radius)),
         np.sin(2 * np.pi * labels / K + rate * np.exp(radius))])
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12)


def test_pinwheel_straight_arms_without_rate():
    X, labels = pinwheel(300, n_arms=4, radial_std=0.2, tangential_std=0.0, rate=0.0, rng=2)
    back = _rotate(X, -2 * np.pi * labels / 4)  # every arm turned onto the positive x axis
    np.testing.assert_allclose(back[:, 1], 0.0, atol=1e-12)
    assert np.all(back[:, 0] > 0)


@pytest.mark.parametrize("n_arms", [3, 5])
def test_pinwheel_arms_are_rotations_of_each_other(n_arms):
    """Arm k turned back by 2 pi k / K has the law of arm 0: first and second moments agree.

    Tolerance: 5 standard errors of the difference of the two sample moments,
    the standard errors estimated from the samples themselves (a false alarm
    has probability about 6e-7 per moment).
    """
    X, labels = pinwheel(6000 * n_arms, n_arms=n_arms, rate=0.4, rng=5)
    back = _rotate(X, -2 * np.pi * labels / n_arms)

    def moments(P):  # per point: x, y, x^2, xy, y^2
        return np.column_stack([P, P[:, 0] ** 2, P[:, 0] * P[:, 1], P[:, 1] ** 2])

    ref = moments(back[labels == 0])
    for k in range(1, n_arms):
        arm = moments(back[labels == k])
        se = np.sqrt(ref.var(axis=0) / len(ref) + arm.var(axis=0) / len(arm))
        diff = np.abs(arm.mean(axis=0) - ref.mean(axis=0))
        assert np.all(diff <= 5 * se), (k, diff / se)
    # ...and the arms themselves (not turned back) differ: arm 1's mean is arm 0's turned.
    m0, m1 = X[labels == 0].mean(axis=0), X[labels == 1].mean(axis=0)
    assert np.linalg.norm(m1 - m0) > 0.5


def test_pinwheel_radial_and_tangential_spread():
    """With no bending, arm 0 is (1, 0) + N(0, diag(radial_std^2, tangential_std^2))."""
    X, _ = pinwheel(30000, n_arms=1, radial_std=0.3, tangential_std=0.05, rate=0.0, rng=6)
    # 30000 points: standard errors of the mean 0.0017 and 0.0003, of the sd about 0.4 %.
    np.testing.assert_allclose(X.mean(axis=0), [1.0, 0.0], atol=0.01)
    np.testing.assert_allclose(X.std(axis=0), [0.3, 0.05], rtol=0.03)


# ----------------------------------------------------------- parallelograms
def _shape_coordinates(X, labels, centres, edges):
    """``(u, v)`` with ``X = c + u e1 + v e2`` for each point's own shape."""
    return np.stack([np.linalg.solve(edges[s].T, X[i] - centres[s]) for i, s in enumerate(labels)])


def _distance_to_shape(x, centre, edge):
    """Euclidean distance from ``x`` to the filled parallelogram (0 inside)."""
    u, v = np.linalg.solve(edge.T, x - centre)
    if abs(u) <= 0.5 and abs(v) <= 0.5:
        return 0.0
    e1, e2 = edge
    corners = [centre + a * e1 + b * e2 for a, b in ((-.5, -.5), (.5, -.5), (.5, .5), (-.5, .5))]
    best = np.inf
    for p, q in zip(corners, corners[1:] + corners[:1]):
        t = np.clip(np.dot(x - p, q - p) / np.dot(q - p, q - p), 0.0, 1.0)
        best = min(best, np.linalg.norm(x - (p + t * (q - p))))
    return best


def test_parallelogram_points_without_noise_are_uniform_inside():
    X, labels, centres, edges = parallelograms(6000, n_shapes=3, noise_std=0.0, rng=7,
                                               return_shapes=True)
    uv = _shape_coordinates(X, labels, centres, edges)
    assert np.all(np.abs(uv) <= 0.5 + 1e-12)
    # U[-1/2, 1/2]: mean 0, variance 1/12; 2000 points per shape give standard errors
    # 0.0065 (mean) and 0.0015 (variance): 5 standard errors below.
    for s in range(3):
        np.testing.assert_allclose(uv[labels == s].mean(axis=0), 0.0, atol=0.033)
        np.testing.assert_allclose(uv[labels == s].var(axis=0), 1 / 12, atol=0.0075)


def test_parallelogram_points_lie_within_noise_of_their_shape():
    noise_std = 0.05
    X, labels, centres, edges = parallelograms(900, noise_std=noise_std, rng=8,
                                               return_shapes=True)
    dist = np.array([_distance_to_shape(x, centres[s], edges[s]) for x, s in zip(X, labels)])
    # The distance is at most |eps|, and P(|eps| > 6 sigma) = exp(-18) = 1.5e-8 in 2-D.
    assert dist.max() <= 6 * noise_std
    assert np.mean(dist == 0.0) > 0.5  # most points are inside their own shape


def test_parallelogram_noise_is_isotropic_gaussian_added_last():
    clean, _ = parallelograms(20000, noise_std=0.0, rng=9)
    noisy, _ = parallelograms(20000, noise_std=0.1, rng=9)
    eps = noisy - clean  # the documented draw order: noise last, independent of noise_std
    # 20000 draws: standard errors 0.0007 (mean) and 0.0005 (sd); 5 of them below.
    np.testing.assert_allclose(eps.mean(axis=0), 0.0, atol=0.0036)
    np.testing.assert_allclose(eps.std(axis=0), 0.1, atol=0.0025)
    assert abs(np.corrcoef(eps.T)[0, 1]) < 0.036


def test_parallelograms_are_never_degenerate():
    for seed in range(40):
        _, _, centres, edges = parallelograms(5, n_shapes=5, rng=seed, return_shapes=True)
        assert np.all(np.abs(centres) <= 1.5)
        lengths = np.linalg.norm(edges, axis=2)
        assert np.all((lengths >= 0.4) & (lengths <= 1.2))
        e1, e2 = edges[:, 0], edges[:, 1]
        sin_angle = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) / lengths.prod(axis=1)
        assert np.all(sin_angle >= np.sin(np.pi / 6) - 1e-12)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10", None])
def test_bad_n_samples(make, bad):
    with pytest.raises(ValueError, match="n_samples"):
        make(bad)


@pytest.mark.parametrize("kwargs, name", [
    ({"n_arms": 0}, "n_arms"),
    ({"n_arms": 1.0}, "n_arms"),
    ({"radial_std": -0.1}, "radial_std"),
    ({"radial_std": np.nan}, "radial_std"),
    ({"tangential_std": -1}, "tangential_std"),
    ({"tangential_std": "0.1"}, "tangential_std"),
    ({"rate": np.inf}, "rate"),
    ({"rate": [0.1, 0.2]}, "rate"),
    ({"rng": "seed"}, "rng"),
    ({"rng": 1.5}, "rng"),
])
def test_pinwheel_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pinwheel(10, **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    ({"n_shapes": 0}, "n_shapes"),
    ({"n_shapes": None}, "n_shapes"),
    ({"noise_std": -0.01}, "noise_std"),
    ({"noise_std": np.inf}, "noise_std"),
    ({"rng": "seed"}, "rng"),
    ({"return_shapes": "yes"}, "return_shapes"),
])
def test_parallelograms_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        parallelograms(10, **kwargs)
