"""Affine regions of networks with a 1-D input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import networks, priors

from pwaffine import IntervalRegions, ReLUNetwork


@settings(max_examples=100)
@given(networks(), st.integers(0, 2**32 - 1))
def test_regions_reproduce_forward(network, seed):
    rng = np.random.default_rng(seed)
    regions = network.affine_regions()
    bp = regions.breakpoints
    assert np.all(np.diff(bp) > 0)
    assert regions.n_regions == bp.size + 1
    z = [rng.normal(0, 5, 200)]
    # Points right next to every breakpoint, on both sides.
    for eps in (1e-9, 1e-6, 1e-3):
        z += [bp - eps * (1 + abs(bp)), bp + eps * (1 + abs(bp)), bp]
    Z = np.concatenate(z)[:, None]
    want = network.forward(Z)
    got = regions.evaluate(Z)
    scale = 1 + np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * scale * (1 + np.abs(Z).max()))


@settings(max_examples=100)
@given(networks())
def test_regions_are_maximal_and_kinks_are_real(network):
    regions = network.affine_regions()
    # Neighbours have different maps (else they would have been merged) ...
    for k in range(regions.n_regions - 1):
        assert not np.allclose(regions.linear[k], regions.linear[k + 1], rtol=1e-9, atol=1e-12)
    # ... and f is affine on each: its second difference vanishes inside each
    # region and not across a kink.
    for k in range(regions.n_regions):
        lo, hi = regions.lower[k], regions.upper[k]
        if lo == -np.inf and hi == np.inf:
            lo, hi = -10.0, 10.0
        lo = hi - 10 if lo == -np.inf else lo
        hi = lo + 10 if hi == np.inf else hi
        z = np.linspace(lo, hi, 7)[1:-1, None]
        fz = network.forward(z)
        second = fz[2:] - 2 * fz[1:-1] + fz[:-2]
        assert np.abs(second).max() <= 1e-9 * (1 + np.abs(fz).max())


def test_count_is_bounded_by_units():
    rng = np.random.default_rng(1)
    net = ReLUNetwork.random([1, 16, 16, 2], rng=rng)
    regions = net.affine_regions()
    # A 1-D input network with h_1 and h_2 units has at most
    # (h_1 + 1) * (h_2 + 1) pieces; random ones have far fewer.
    assert 2 <= regions.n_regions <= 17 * 17


def test_abs_network_and_locate_is_half_open():
    f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    regions = f.affine_regions()
    np.testing.assert_array_equal(regions.breakpoints, [0.0])
    np.testing.assert_array_equal(regions.linear[:, 0, 0], [-1.0, 1.0])
    np.testing.assert_array_equal(regions.locate([[-1e-300], [0.0], [5.0]]), [0, 1, 1])
    assert f.affine_regions() is regions  # cached


def test_dead_and_cancelling_units_are_merged():
    # Unit 2 has zero outgoing weight: its kink is not a kink of f.
    f = ReLUNetwork([[[1.0], [1.0]], [[1.0, 0.0]]], [[0.0, -1.0], [0.0]])
    assert f.affine_regions().n_regions == 2
    # relu(z) - relu(-z) = z: no kink at all.
    g = ReLUNetwork([[[1.0], [-1.0]], [[1.0, -1.0]]], [[0.0, 0.0], [0.0]])
    regions = g.affine_regions()
    assert regions.n_regions == 1
    assert regions.linear[0, 0, 0] == 1.0


def test_leaky_relu_regions():
    f = ReLUNetwork([[[2.0]], [[1.0]]], [[-1.0], [0.0]], negative_slope=0.1)
    regions = f.affine_regions()
    np.testing.assert_allclose(regions.breakpoints, [0.5])
    np.testing.assert_allclose(regions.linear[:, 0, 0], [0.2, 2.0])
    np.testing.assert_allclose(regions.offset[:, 0], [-0.1, -1.0])


def test_linear_network_has_one_region():
    f = ReLUNetwork([[[2.0], [3.0]]], [[1.0, 0.0]])
    regions = f.affine_regions()
    assert regions.n_regions == 1
    assert regions.lower[0] == -np.inf and regions.upper[0] == np.inf


@settings(max_examples=50)
@given(networks(), priors())
def test_prior_masses_sum_to_one(network, prior):
    log_mass = network.affine_regions().log_prior_masses(prior)
    assert np.exp(log_mass).sum() == pytest.approx(1.0, abs=1e-13)


def test_regions_plot_runs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ReLUNetwork.random([1, 6, 2], rng=0).affine_regions().plot(ax)
    assert len(ax.lines) >= 2
    plt.close(fig)


def test_unsupported_input_dimension():
    net = ReLUNetwork.random([3, 4, 2], rng=0)
    with pytest.raises(NotImplementedError, match=r"input dimensions \(1,"):
        net.affine_regions()


def test_interval_regions_repr():
    f = ReLUNetwork([[[1.0]], [[1.0]]], [[0.0], [0.0]])
    regions = f.affine_regions()
    assert isinstance(regions, IntervalRegions)
    assert repr(regions) == "IntervalRegions(n_regions=2, n_outputs=1)"
