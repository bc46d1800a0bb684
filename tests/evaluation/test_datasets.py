import numpy as np
import pytest

from inertial_diffusion.evaluation.datasets import (Sphere, SwissRoll, Torus, TrefoilKnot, load_digits,
                                                    load_fashion_mnist,
                                                    make_sphere, make_swiss_roll, make_torus, make_trefoil)


@pytest.mark.parametrize("manifold", [Sphere(2, 30, random_state=0), Torus(2, 9, random_state=1),
                                      SwissRoll(2, 12, random_state=2), TrefoilKnot(1, 5, random_state=3)])
def test_population_samples_lie_on_the_manifold(manifold):
    X = manifold.sample(200, random_state=4)
    assert X.shape == (200, manifold.ambient_dim)
    assert manifold.distance(X).max() < 1e-7  # curve distances are refined to ~1e-8 by a bounded search


def _off(manifold, native_points, offset_native, normal_dist, rng):
    """Points built at a known distance: a native offset along the normal, plus an offset orthogonal
    to the embedding span."""
    Q = manifold.embedding
    ortho = rng.standard_normal((len(native_points), manifold.ambient_dim))
    ortho -= (ortho @ Q) @ Q.T
    ortho *= (normal_dist / np.linalg.norm(ortho, axis=1))[:, None]
    return (native_points + offset_native) @ Q.T + ortho


def test_constructed_points_have_their_distance():
    rng = np.random.default_rng(0)
    eps = 0.05  # off the embedding span
    sphere = Sphere(2, 10, random_state=0)
    u = sphere._sample_native(50, rng)
    d = rng.uniform(0.01, 0.4, size=50)
    P = _off(sphere, u, d[:, None] * u, eps, rng)
    np.testing.assert_allclose(sphere.distance(P), np.hypot(d, eps), rtol=1e-10)

    torus = Torus(2, 8, random_state=1)
    t = torus._sample_native(50, rng)
    dr = rng.uniform(-0.3, 0.3, size=(50, 2))
    offset = np.repeat(dr, 2, axis=1) * t  # radial offsets in each plane (radius 1)
    np.testing.assert_allclose(torus.distance(_off(torus, t, offset, eps, rng)),
                               np.sqrt(np.sum(dr**2, axis=1) + eps**2), rtol=1e-10)

    roll = SwissRoll(2, 6, random_state=2)
    ts = rng.uniform(1.7 * np.pi, 4.3 * np.pi, size=30)
    y = rng.uniform(0, 21, size=30)
    tangent = np.column_stack([np.cos(ts) - ts * np.sin(ts), np.sin(ts) + ts * np.cos(ts)])
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.linalg.norm(tangent, axis=1)[:, None]
    delta = rng.uniform(0.05, 1.0, size=30)  # well inside half the arm spacing (pi)
    base = np.column_stack([ts * np.cos(ts), y, ts * np.sin(ts)])
    off = np.column_stack([normal[:, 0] * delta, np.zeros(30), normal[:, 1] * delta])
    np.testing.assert_allclose(roll.distance(_off(roll, base, off, eps, rng)), np.hypot(delta, eps), rtol=1e-6)
    above = base + np.array([0, 21.0, 0]) * 0 + np.column_stack([np.zeros(30), 21.0 - y + 0.5, np.zeros(30)])
    np.testing.assert_allclose(roll.distance(above @ roll.embedding.T), 0.5, rtol=1e-9)

    knot = TrefoilKnot(1, 4, random_state=3)
    tk = rng.uniform(0, 2 * np.pi, size=30)
    c = knot._curve(tk)
    dc = np.column_stack([np.cos(tk) + 4 * np.cos(2 * tk), -np.sin(tk) + 4 * np.sin(2 * tk), -3 * np.cos(3 * tk)])
    n1 = np.cross(dc, rng.standard_normal((30, 3)))
    n1 /= np.linalg.norm(n1, axis=1)[:, None]
    delta = rng.uniform(0.01, 0.1, size=30)
    np.testing.assert_allclose(knot.distance(_off(knot, c, delta[:, None] * n1, eps, rng)), np.hypot(delta, eps),
                               rtol=1e-6)


def test_make_functions_and_embedding_isometry():
    for X, D in [(make_sphere(100, 2, 7, random_state=0), 7), (make_torus(100, 2, 6, random_state=0), 6),
                 (make_swiss_roll(100, 5, random_state=0), 5), (make_trefoil(100, 4, random_state=0), 4)]:
        assert X.shape == (100, D)
    a = Sphere(2, 3, random_state=0).sample(50, random_state=1)
    b = Sphere(2, 300, random_state=5).sample(50, random_state=1)
    np.testing.assert_allclose(np.linalg.norm(a[:, None] - a[None], axis=2),
                               np.linalg.norm(b[:, None] - b[None], axis=2), atol=1e-12)


def test_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.min() == 0 and X.max() == 1 and set(y) == set(range(10))


def test_fashion_mnist_missing_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(directory=str(tmp_path))


def test_fashion_mnist_reads_idx_files(tmp_path):
    import gzip
    images = np.arange(3 * 784, dtype=np.uint32).astype(np.uint8).reshape(3, 784)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(np.array([2051, 3, 28, 28], dtype=">i4").tobytes() + images.tobytes())
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(np.array([2049, 3], dtype=">i4").tobytes() + bytes([4, 0, 9]))
    X, y = load_fashion_mnist("test", directory=str(tmp_path))
    np.testing.assert_allclose(X * 255, images)
    assert y.tolist() == [4, 0, 9]


@pytest.mark.skipif(not __import__("os").path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_debian_package():
    X, y = load_fashion_mnist("test")
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10)) and np.all(np.bincount(y) == 1000)
    assert list(y[:5]) == [9, 2, 1, 1, 6]  # the published first test labels: boot, pullover, trouser x2, shirt


def test_fixed_dimension_manifolds_refuse_another_intrinsic_dim():
    """SwissRoll (a surface) and TrefoilKnot (a curve) used to overwrite any intrinsic_dim with 2 and 1: asking
    for SwissRoll(3, ...) silently gave a surface. The matching value still works, positionally or by keyword."""
    assert SwissRoll(2, 3, random_state=0).intrinsic_dim == 2
    assert TrefoilKnot(intrinsic_dim=1, ambient_dim=4).intrinsic_dim == 1
    for cls, fixed, wrong in ((SwissRoll, 2, (1, 3)), (TrefoilKnot, 1, (2, 3))):
        for d in wrong:
            with pytest.raises(ValueError, match=fr"{cls.__name__} is a .*intrinsic_dim must be {fixed}, got {d}"):
                cls(d, 5, random_state=0)
    with pytest.raises(TypeError, match="intrinsic_dim"):  # the type check of every manifold comes first
        SwissRoll("2", 3)
