"""Tests aimed at five mutations that survived the suite before (engine issue): each fails on the mutated code.

1. the paper-form coefficient off by 10 %; 2. the pruned backend's neglected-mass bound replaced by zeros;
3. a wrong per-feature log|det| in ``log_density``; 4. the shuffle of the mixture of parts removed;
5. Heun's correction removed (Euler).
"""


import numpy as np
import torch

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.backends.local import LocalBackend
from inertial_diffusion.core.inertia import inertia_step
from inertial_diffusion.core.process import alpha, time_grid, variance
from inertial_diffusion.core.pruning import build_cluster_index, pruned_reduction
from inertial_diffusion.core.samplers import sample_heun, sample_one_shot
from inertial_diffusion.estimators.conditional import sample_mixture
from inertial_diffusion.evaluation.datasets import Sphere

CPU = torch.device("cpu")


def test_paper_form_is_the_printed_formula():
    """x = (z + h * score(z)) / alpha_h exactly, with the backend's own score (1e-12)."""
    data = torch.as_tensor(Sphere(2, 5, random_state=0).sample(200, random_state=1))
    backend = LocalBackend(data, CPU, 2**22)
    for h in (0.01, 0.2, 0.9):
        z = sample_one_shot(data, h, 50, torch.Generator().manual_seed(0))
        printed = (z + h * backend.score(z, h)) / alpha(h)
        assert (inertia_step(backend, z, h, "paper") - printed).abs().max() < 1e-10


def test_pruned_bound_covers_the_true_skipped_share():
    """The certificate is an upper bound on the mass the pruned backend skipped, computed densely, and it is
    positive where clusters were skipped (a bound of zeros would claim the pruning exact)."""
    g = np.random.default_rng(0)
    centres = 4 * g.standard_normal((8, 6))
    X = centres[g.integers(8, size=1200)] + 0.5 * g.standard_normal((1200, 6))
    data = torch.as_tensor((X - X.mean(0)) / np.sqrt(((X - X.mean(0)) ** 2).sum(1).mean()))
    index = build_cluster_index(data, n_clusters=8, random_state=0)
    t = 0.05
    z = sample_one_shot(data, t, 300, torch.Generator().manual_seed(1)) * 1.3  # some queries between clusters
    result = pruned_reduction(z, index, t, tol=1e-3, return_mask=True)
    a, v = alpha(t), variance(t)
    logits = -torch.cdist(z, a * index.data) ** 2 / (2 * v)
    w = torch.softmax(logits, dim=1)
    member = torch.repeat_interleave(torch.arange(index.n_clusters), index.sizes)
    skipped = (~result.kept)[:, member]
    true_share = (w * skipped).sum(1)
    assert skipped.any(1).float().mean() > 0.5  # pruning happened
    assert (result.bound >= true_share * (1 - 1e-9)).all()
    assert (result.bound[skipped.any(1)] > 0).all() and (result.bound <= 1e-3).all()


def test_per_feature_density_integrates_to_one_in_data_units():
    """log p in data units subtracts sum_j log scale_j: the density of per-feature standardized data integrates
    to 1 over a grid in data units (columns 1 and 1000 apart in scale)."""
    g = np.random.default_rng(0)
    X = np.column_stack([g.normal(0, 1.0, 40), g.normal(5, 1000.0, 40)])
    model = InertialDiffusion(standardize="per_feature", bandwidth=0.5, intrinsic_dim=2).fit(X)
    u = np.linspace(-8, 8, 321)
    w = np.linspace(5 - 8000, 5 + 8000, 321)
    U, W = np.meshgrid(u, w, indexing="ij")
    density = np.exp(model.log_density(np.column_stack([U.ravel(), W.ravel()]), 0.5))
    assert abs(density.sum() * (u[1] - u[0]) * (w[1] - w[0]) - 1) < 1e-3


def test_a_mixture_of_parts_is_drawn_in_random_order():
    from inertial_diffusion import EmpiricalDiffusion

    g = np.random.default_rng(0)
    near = EmpiricalDiffusion().fit(g.normal(size=(20, 1)))
    far = EmpiricalDiffusion().fit(g.normal(size=(20, 1)) + 100.0)
    S = sample_mixture([near, far], [1, 1], 1000, random_state=0)
    first = S[:100, 0] > 50  # the first hundred draws come from both parts, not all from the first
    assert 0.3 < first.mean() < 0.7


def test_heun_is_second_order():
    """Halving the steps divides Heun's error by about 4 (Euler's by about 2), against a 4096-step solution, on two
    training points (a nonlinear posterior mean)."""
    from inertial_diffusion.core.posterior import posterior_mean

    data = torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=torch.float64)
    den = lambda x, t: posterior_mean(x, data, t)  # noqa: E731
    x0 = torch.tensor([[0.3, 0.7], [-1.0, 2.0], [0.05, -0.4]], dtype=torch.float64)
    T, h = 2.0, 0.05
    reference = sample_heun(den, x0, time_grid(T, h, 4096))

    def error(n):
        return float((sample_heun(den, x0, time_grid(T, h, n)) - reference).abs().max())

    e1, e2 = error(16), error(32)
    assert e1 / e2 > 3.0, (e1, e2)
