"""Manifolds with a known population law and exact distance, isometrically embedded in R^D.

Each manifold lives in its natural coordinates in R^k (k = ``native_dim``) and is placed in
R^D by ``x -> x Q^T`` with ``Q`` (D x k) having orthonormal columns drawn from ``random_state``:
distances, and so the manifold's geometry, do not depend on D.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inertial_diffusion.core.validation import check_n_samples, check_positive, check_positive_int

__all__ = ["Manifold", "Sphere", "Torus", "SwissRoll", "TrefoilKnot", "make_sphere", "make_torus",
           "make_swiss_roll", "make_trefoil", "random_orthonormal", "load_digits", "load_fashion_mnist",
           "FASHION_MNIST_DIR"]


def random_orthonormal(ambient_dim: int, native_dim: int, random_state=None) -> np.ndarray:
    """A (ambient_dim, native_dim) matrix with orthonormal columns, uniform (Haar) in law."""
    if native_dim > ambient_dim:
        raise ValueError(f"ambient_dim ({ambient_dim}) must be >= the manifold's native dimension "
                         f"({native_dim})")
    rng = np.random.default_rng(random_state)
    q, r = np.linalg.qr(rng.standard_normal((ambient_dim, native_dim)))
    return q * np.sign(np.diag(r))


@dataclass
class Manifold:
    """Base class: subclasses define ``native_dim``, ``_sample_native`` and ``_distance_native``."""

    intrinsic_dim: int
    ambient_dim: int
    random_state: int | None = 0
    embedding: np.ndarray = field(init=False, repr=False)

    native_dim: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        check_positive_int(self.intrinsic_dim, "intrinsic_dim")
        check_positive_int(self.ambient_dim, "ambient_dim")
        self.native_dim = self._native_dim()
        self.embedding = random_orthonormal(self.ambient_dim, self.native_dim, self.random_state)

    def _native_dim(self) -> int:
        raise NotImplementedError

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample(self, n: int, random_state=None) -> np.ndarray:
        """``n`` points from the population law, shape (n, ambient_dim)."""
        n = check_n_samples(n, "n")
        return self._sample_native(n, np.random.default_rng(random_state)) @ self.embedding.T

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Exact Euclidean distance of each row of ``X`` (n, ambient_dim) to the manifold."""
        X = np.asarray(X, dtype=np.float64)
        native = X @ self.embedding
        off = np.linalg.norm(X - native @ self.embedding.T, axis=1)
        return np.hypot(self._distance_native(native), off)


@dataclass
class Sphere(Manifold):
    """Round sphere S^d of radius ``radius`` in R^(d+1), uniform law."""

    radius: float = 1.0

    def _native_dim(self) -> int:
        check_positive(self.radius, "radius")
        return self.intrinsic_dim + 1

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        g = rng.standard_normal((n, self.native_dim))
        return self.radius * g / np.linalg.norm(g, axis=1, keepdims=True)

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        return np.abs(np.linalg.norm(X, axis=1) - self.radius)


@dataclass
class Torus(Manifold):
    """Flat (Clifford) torus T^d: a product of d circles of radius ``radius``, each in its own plane
    of R^(2d); uniform law. Distance: :math:`\\sqrt{\\sum_k (|p_k| - r)^2}` over the d planes."""

    radius: float = 1.0

    def _native_dim(self) -> int:
        check_positive(self.radius, "radius")
        return 2 * self.intrinsic_dim

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        angles = rng.uniform(0, 2 * np.pi, size=(n, self.intrinsic_dim))
        out = np.empty((n, 2 * self.intrinsic_dim))
        out[:, 0::2], out[:, 1::2] = self.radius * np.cos(angles), self.radius * np.sin(angles)
        return out

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        radii = np.hypot(X[:, 0::2], X[:, 1::2])
        return np.sqrt(np.sum((radii - self.radius) ** 2, axis=1))


class _ParametricCurveDistance:
    """Distance to a curve c(t), t in [lo, hi]: a dense grid search, then a bounded scalar refinement
    around the best grid point. The global minimum is bracketed when the grid (20001 points) is finer
    than the curve's features: the swiss roll's arms are 2π apart and the trefoil's strands far
    apart on that scale. Accurate to ~1e-8 absolute (the squared distance is flat at its minimum;
    tested against points built at known distances)."""

    def _curve(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _curve_distance(self, P: np.ndarray, lo: float, hi: float, grid: int = 20001) -> np.ndarray:
        from scipy.optimize import minimize_scalar

        ts = np.linspace(lo, hi, grid)
        C = self._curve(ts)
        step = ts[1] - ts[0]
        out = np.empty(len(P))
        for i, p in enumerate(P):
            j = int(np.argmin(np.sum((C - p) ** 2, axis=1)))
            a, b = max(lo, ts[j] - step), min(hi, ts[j] + step)
            res = minimize_scalar(lambda t: float(np.sum((self._curve(np.array([t]))[0] - p) ** 2)),
                                  bounds=(a, b), method="bounded", options={"xatol": 1e-12})
            out[i] = np.sqrt(min(res.fun, np.sum((C[j] - p) ** 2)))
        return out


@dataclass
class SwissRoll(Manifold, _ParametricCurveDistance):
    """Swiss roll (as scikit-learn's ``make_swiss_roll``): ``(t cos t, y, t sin t)``, t uniform on
    [1.5π, 4.5π], y uniform on [0, ``height``]. Distance: the distance in the (x, z) plane to the
    spiral, by certified grid search and refinement, combined with the distance to [0, height] in y."""

    height: float = 21.0

    def __post_init__(self) -> None:
        self.intrinsic_dim = 2
        super().__post_init__()

    def _native_dim(self) -> int:
        return 3

    def _curve(self, t: np.ndarray) -> np.ndarray:
        return np.column_stack([t * np.cos(t), t * np.sin(t)])

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, size=n)
        y = rng.uniform(0, self.height, size=n)
        return np.column_stack([t * np.cos(t), y, t * np.sin(t)])

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        planar = self._curve_distance(X[:, [0, 2]], 1.5 * np.pi, 4.5 * np.pi)
        dy = np.maximum(0.0, np.maximum(-X[:, 1], X[:, 1] - self.height))
        return np.hypot(planar, dy)


@dataclass
class TrefoilKnot(Manifold, _ParametricCurveDistance):
    """A closed curve: the trefoil knot ``(sin t + 2 sin 2t, cos t − 2 cos 2t, −sin 3t)``, t uniform
    on [0, 2π) (uniform in parameter, not arc length)."""

    def __post_init__(self) -> None:
        self.intrinsic_dim = 1
        super().__post_init__()

    def _native_dim(self) -> int:
        return 3

    def _curve(self, t: np.ndarray) -> np.ndarray:
        return np.column_stack([np.sin(t) + 2 * np.sin(2 * t), np.cos(t) - 2 * np.cos(2 * t), -np.sin(3 * t)])

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._curve(rng.uniform(0, 2 * np.pi, size=n))

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        return self._curve_distance(X, 0.0, 2 * np.pi)


def make_torus(n: int, intrinsic_dim: int = 2, ambient_dim: int = 4, random_state=None,
               radius: float = 1.0) -> np.ndarray:
    """``n`` uniform points on the flat torus T^d randomly and isometrically embedded in R^D."""
    rng = np.random.default_rng(random_state)
    return Torus(intrinsic_dim, ambient_dim, random_state=rng, radius=radius).sample(n, rng)


def make_swiss_roll(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """``n`` points of the swiss roll, randomly and isometrically embedded in R^D."""
    rng = np.random.default_rng(random_state)
    return SwissRoll(2, ambient_dim, random_state=rng).sample(n, rng)


def make_trefoil(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """``n`` points of the trefoil knot (a closed curve), randomly and isometrically embedded in R^D."""
    rng = np.random.default_rng(random_state)
    return TrefoilKnot(1, ambient_dim, random_state=rng).sample(n, rng)


#: Where Debian's ``dataset-fashion-mnist`` package puts its files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: (1797, 64) pixels scaled to [0, 1], and labels."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return bunch.data / 16.0, bunch.target


def load_fashion_mnist(split: str = "train", directory: str = FASHION_MNIST_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` files: ((N, 784) in [0, 1], labels).

    Raises ``FileNotFoundError`` saying how to install the package when the files are absent.
    """
    import gzip
    from pathlib import Path

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    folder = Path(directory)
    files = {}
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        candidates = [folder / f"{prefix}-{kind}{ext}" for ext in (".gz", "")]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise FileNotFoundError(f"Fashion-MNIST files not found in {folder} (looked for {candidates[0].name}); "
                                    "install them with: apt-get install dataset-fashion-mnist")
        files[kind] = found[0]
    read = lambda p: (gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")).read()  # noqa: E731
    images = np.frombuffer(read(files["images-idx3-ubyte"]), dtype=np.uint8, offset=16)
    labels = np.frombuffer(read(files["labels-idx1-ubyte"]), dtype=np.uint8, offset=8)
    return images.reshape(len(labels), 784).astype(np.float64) / 255.0, labels.astype(np.int64)


def make_sphere(n: int, intrinsic_dim: int = 2, ambient_dim: int = 3, random_state=None,
                radius: float = 1.0) -> np.ndarray:
    """``n`` uniform points on S^d (radius ``radius``) randomly and isometrically embedded in R^D.

    The embedding and the points both come from ``random_state``.
    """
    rng = np.random.default_rng(random_state)
    manifold = Sphere(intrinsic_dim, ambient_dim, random_state=rng, radius=radius)
    return manifold.sample(n, rng)
