import math

import pytest
import torch

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.backends.knn import faiss_available, knn_posterior_mean, knn_search
from inertial_diffusion.core.posterior import posterior_mean
from inertial_diffusion.core.process import alpha, variance

BACKENDS = ["torch"] + (["faiss"] if faiss_available() else [])


def _setup(n=3000, dim=16, t=0.05, m=200, seed=0):
    data = torch.as_tensor(Sphere(2, dim, random_state=seed).sample(n, random_state=seed + 1))
    g = torch.Generator().manual_seed(seed)
    x = alpha(t) * data[torch.randint(n, (m,), generator=g)] + math.sqrt(variance(t)) * torch.randn(
        m, dim, generator=g, dtype=torch.float64)
    return data, x, t


@pytest.mark.parametrize("backend", BACKENDS)
def test_search_is_exact(backend):
    data, x, _ = _setup(n=500, m=40)
    idx = knn_search(x.float(), data.float(), 10, backend)
    ref = torch.cdist(x, data).topk(10, largest=False).indices
    assert torch.equal(idx.sort(dim=1).values, ref.sort(dim=1).values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_k_equal_n_is_the_exact_posterior(backend):
    data, x, t = _setup(n=400, m=30)
    res = knn_posterior_mean(x, data, t, k=400, backend=backend)
    torch.testing.assert_close(res.mean, posterior_mean(x, data, t), rtol=1e-10, atol=1e-12)
    assert torch.all(res.neglected_mass == 0)


@pytest.mark.parametrize("k", [5, 20, 80])
@pytest.mark.parametrize("t", [0.02, 0.1, 0.5])
def test_certified_bound_holds(k, t):
    data, x, _ = _setup(t=t)
    res = knn_posterior_mean(x, data, t, k=k, backend="torch")
    logits = -torch.cdist(x, alpha(t) * data, compute_mode="donot_use_mm_for_euclid_dist") ** 2 / (2 * variance(t))
    w = torch.softmax(logits, dim=1)
    kept = knn_search((x / alpha(t)).float(), data.float(), k, "torch")
    actual = 1 - torch.gather(w, 1, kept).sum(dim=1)
    assert torch.all(actual <= res.neglected_mass * (1 + 1e-9) + 1e-15)
    # and the mean's error is within the neglected mass times the data diameter
    err = (res.mean - posterior_mean(x, data, t)).norm(dim=1)
    assert torch.all(err <= 2 * res.neglected_mass * 2.0 + 1e-12)


def test_auto_grows_k_until_the_bound_is_met():
    data, x, t = _setup(t=0.1)
    res = knn_posterior_mean(x, data, t, k="auto", tol=1e-8, backend="torch", k_start=4)
    assert torch.all(res.neglected_mass <= 1e-8)
    assert res.k.min() >= 4 and res.k.max() <= data.shape[0]
    exact = posterior_mean(x, data, t)
    assert (res.mean - exact).norm(dim=1).max() <= 1e-7


def test_estimator_with_neighbors():
    import numpy as np

    from inertial_diffusion import InertialDiffusion

    X = Sphere(2, 10, random_state=0).sample(3000, random_state=1)
    exact = InertialDiffusion(random_state=0).fit(X)
    knn = InertialDiffusion(neighbors="auto", neighbor_tol=1e-9, random_state=0).fit(X)
    S_exact = exact.sample(300)
    S_knn, mass = knn.sample(300, return_neglected_mass=True)
    assert mass.shape == (300,) and mass.max() <= 1e-9
    assert abs(S_knn - S_exact).max() <= 1e-7 * exact.scale_  # same seed, same z; means agree to the bound
    fixed = InertialDiffusion(neighbors=3, random_state=0).fit(X)
    S3, mass3 = fixed.sample(300, return_neglected_mass=True)
    assert mass3.max() > 1e-9  # three neighbours cannot certify the same accuracy
    assert np.all(np.linalg.norm(S3 - S_exact, axis=1) <= 4 * mass3 * 2 * exact.scale_ + 1e-9)
    with pytest.raises(ValueError, match="neighbors"):
        InertialDiffusion(neighbors=0).fit(X)
    with pytest.raises(ValueError, match="neighbor_backend"):
        InertialDiffusion(neighbors=5, neighbor_backend="annoy").fit(X)
