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
    """A (ambient_dim, native_dim) matrix with orthonormal columns, uniform (Haar) in law.

    The QR factorization of a Gaussian matrix, with the signs of ``R``'s diagonal moved into ``Q`` (without
    that correction the law of ``Q`` is not Haar). Used to embed a manifold isometrically in R^D.

    Parameters
    ----------
    ambient_dim : int
        Number of rows, ``D``.
    native_dim : int
        Number of columns, ``k <= D``.
    random_state : None, int or numpy Generator, optional
        Seeds the Gaussian matrix.

    Returns
    -------
    ndarray of shape (ambient_dim, native_dim)
        ``Q`` with :math:`Q^\\top Q = I_k`.

    Raises
    ------
    ValueError
        ``native_dim > ambient_dim``.

    Examples
    --------
    >>> import numpy as np
    >>> Q = random_orthonormal(5, 2, random_state=0)
    >>> Q.shape, bool(np.allclose(Q.T @ Q, np.eye(2)))
    ((5, 2), True)
    """
    if native_dim > ambient_dim:
        raise ValueError(f"ambient_dim ({ambient_dim}) must be >= the manifold's native dimension "
                         f"({native_dim})")
    rng = np.random.default_rng(random_state)
    q, r = np.linalg.qr(rng.standard_normal((ambient_dim, native_dim)))
    return q * np.sign(np.diag(r))


@dataclass
class Manifold:
    """A manifold with a known population law and exact distance, isometrically embedded in R^D.

    Base class: a subclass defines ``_native_dim`` (the dimension ``k`` of its natural coordinates),
    ``_sample_native`` and ``_distance_native`` in R^k; this class embeds them by ``x -> x Q^T`` with the
    orthonormal ``Q = embedding``. A point's distance to the embedded manifold is the hypotenuse of its
    distance within the embedded k-plane and its distance to that plane, so it is exact in any D.

    Parameters
    ----------
    intrinsic_dim : int
        Dimension ``d`` of the manifold.
    ambient_dim : int
        Dimension ``D`` of the space it is embedded in (at least ``native_dim``).
    random_state : None, int or numpy Generator, default=0
        Seeds the embedding (not the samples: see :meth:`sample`).

    Attributes
    ----------
    native_dim : int
        ``k``, the dimension of the natural coordinates.
    embedding : ndarray of shape (ambient_dim, native_dim)
        ``Q``, with orthonormal columns (see :func:`random_orthonormal`).
    """

    intrinsic_dim: int
    ambient_dim: int
    random_state: int | np.random.Generator | None = 0
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
        """``n`` points from the population law.

        Parameters
        ----------
        n : int
            Number of points (0 gives an empty array).
        random_state : None, int or numpy Generator, optional
            Seeds the points (independently of the embedding's seed).

        Returns
        -------
        ndarray of shape (n, ambient_dim)
            The points, on the embedded manifold.

        Examples
        --------
        >>> sphere = Sphere(intrinsic_dim=2, ambient_dim=10)
        >>> X = sphere.sample(5, random_state=0)
        >>> X.shape, float(sphere.distance(X).max()) < 1e-12
        ((5, 10), True)
        """
        n = check_n_samples(n, "n")
        return self._sample_native(n, np.random.default_rng(random_state)) @ self.embedding.T

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Exact Euclidean distance of each row of ``X`` to the manifold.

        Parameters
        ----------
        X : array-like of shape (n, ambient_dim)
            Points in the ambient space.

        Returns
        -------
        ndarray of shape (n,)
            :math:`\\sqrt{\\delta^2 + \\rho^2}`, with :math:`\\delta` the distance of the projection onto the
            embedded k-plane to the manifold and :math:`\\rho` the distance to that plane.

        Examples
        --------
        >>> import numpy as np
        >>> sphere = Sphere(intrinsic_dim=1, ambient_dim=2)  # the unit circle, rotated
        >>> np.round(sphere.distance([[0.0, 0.0], [3.0, 0.0]]), 6)
        array([1., 2.])
        """
        X = np.asarray(X, dtype=np.float64)
        native = X @ self.embedding
        off = np.linalg.norm(X - native @ self.embedding.T, axis=1)
        return np.hypot(self._distance_native(native), off)


@dataclass
class Sphere(Manifold):
    """Round sphere S^d of radius ``radius`` in R^(d+1), uniform law, embedded in R^D.

    Parameters
    ----------
    intrinsic_dim : int
        ``d``; the sphere's natural coordinates are R^(d+1).
    ambient_dim : int
        ``D >= d + 1``.
    random_state : None, int or numpy Generator, default=0
        Seeds the embedding.
    radius : float, default=1.0
        Radius ``r``; the distance of a point ``p`` of the (d+1)-plane is :math:`||p| - r|`.

    Examples
    --------
    >>> sphere = Sphere(intrinsic_dim=2, ambient_dim=100, radius=2.0)
    >>> X = sphere.sample(1000, random_state=0)
    >>> X.shape, round(float(abs((X**2).sum(axis=1) - 4.0).max()), 9)
    ((1000, 100), 0.0)
    """

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
    of R^(2d); uniform law. Distance: :math:`\\sqrt{\\sum_k (|p_k| - r)^2}` over the d planes.

    Parameters
    ----------
    intrinsic_dim : int
        ``d``, the number of circles; the natural coordinates are R^(2d).
    ambient_dim : int
        ``D >= 2d``.
    random_state : None, int or numpy Generator, default=0
        Seeds the embedding.
    radius : float, default=1.0
        Radius ``r`` of every circle.
    """

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


def _check_fixed_dim(manifold: Manifold, fixed: int, what: str) -> None:
    """Refuse an ``intrinsic_dim`` other than the one the manifold has (it used to be overwritten silently)."""
    if manifold.intrinsic_dim != fixed:
        raise ValueError(f"{type(manifold).__name__} is {what}: intrinsic_dim must be {fixed}, "
                         f"got {manifold.intrinsic_dim!r}")


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
    spiral, by certified grid search and refinement, combined with the distance to [0, height] in y.

    Parameters
    ----------
    intrinsic_dim : int
        Must be 2 (the swiss roll is a surface); another value raises a ``ValueError``.
    ambient_dim : int
        ``D >= 3``.
    random_state : None, int or numpy Generator, default=0
        Seeds the embedding.
    height : float, default=21.0
        Extent of the flat direction ``y`` (scikit-learn's default).
    """

    height: float = 21.0

    def _native_dim(self) -> int:
        _check_fixed_dim(self, 2, "a surface")
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
    on [0, 2π) (uniform in parameter, not arc length).

    Parameters
    ----------
    intrinsic_dim : int
        Must be 1 (the knot is a curve); another value raises a ``ValueError``.
    ambient_dim : int
        ``D >= 3``.
    random_state : None, int or numpy Generator, default=0
        Seeds the embedding.
    """

    def _native_dim(self) -> int:
        _check_fixed_dim(self, 1, "a curve")
        return 3

    def _curve(self, t: np.ndarray) -> np.ndarray:
        return np.column_stack([np.sin(t) + 2 * np.sin(2 * t), np.cos(t) - 2 * np.cos(2 * t), -np.sin(3 * t)])

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._curve(rng.uniform(0, 2 * np.pi, size=n))

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        return self._curve_distance(X, 0.0, 2 * np.pi)


def make_torus(n: int, intrinsic_dim: int = 2, ambient_dim: int = 4, random_state=None,
               radius: float = 1.0) -> np.ndarray:
    """``n`` uniform points on the flat torus T^d randomly and isometrically embedded in R^D.

    Parameters
    ----------
    n : int
        Number of points.
    intrinsic_dim : int, default=2
        ``d``, the number of circles.
    ambient_dim : int, default=4
        ``D >= 2d``.
    random_state : None, int or numpy Generator, optional
        Seeds both the embedding and the points (one Generator, drawn from in that order).
    radius : float, default=1.0
        Radius of every circle.

    Returns
    -------
    ndarray of shape (n, ambient_dim)
        The points.

    See Also
    --------
    Torus : The manifold object, with its exact distance.

    Examples
    --------
    >>> import numpy as np
    >>> X = make_torus(100, intrinsic_dim=2, ambient_dim=10, random_state=0)
    >>> X.shape, round(float(np.linalg.norm(X, axis=1).max()), 6)  # sqrt(d) r from the centre
    ((100, 10), 1.414214)
    """
    rng = np.random.default_rng(random_state)
    return Torus(intrinsic_dim, ambient_dim, random_state=rng, radius=radius).sample(n, rng)


def make_swiss_roll(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """``n`` points of the swiss roll, randomly and isometrically embedded in R^D.

    Parameters
    ----------
    n : int
        Number of points.
    ambient_dim : int, default=3
        ``D >= 3``.
    random_state : None, int or numpy Generator, optional
        Seeds both the embedding and the points (one Generator, drawn from in that order).

    Returns
    -------
    ndarray of shape (n, ambient_dim)
        The points.

    See Also
    --------
    SwissRoll : The manifold object, with its exact distance.
    """
    rng = np.random.default_rng(random_state)
    return SwissRoll(2, ambient_dim, random_state=rng).sample(n, rng)


def make_trefoil(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """``n`` points of the trefoil knot (a closed curve), randomly and isometrically embedded in R^D.

    Parameters
    ----------
    n : int
        Number of points.
    ambient_dim : int, default=3
        ``D >= 3``.
    random_state : None, int or numpy Generator, optional
        Seeds both the embedding and the points (one Generator, drawn from in that order).

    Returns
    -------
    ndarray of shape (n, ambient_dim)
        The points.

    See Also
    --------
    TrefoilKnot : The manifold object, with its exact distance.
    """
    rng = np.random.default_rng(random_state)
    return TrefoilKnot(1, ambient_dim, random_state=rng).sample(n, rng)


#: Where Debian's ``dataset-fashion-mnist`` package puts its files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: (1797, 64) pixels scaled to [0, 1], and labels.

    Returns
    -------
    X : ndarray of shape (1797, 64)
        Pixel intensities (0..16 in the file) divided by 16, float64.
    y : ndarray of shape (1797,)
        Digit labels 0..9.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, float(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), 1.0, True)
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return bunch.data / 16.0, bunch.target


def load_fashion_mnist(split: str = "train", directory: str = FASHION_MNIST_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` files (IDX format, gzipped or not).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        The 60000 training images or the 10000 test images (files ``train-*`` or ``t10k-*``).
    directory : str, default=FASHION_MNIST_DIR
        Folder that holds the four IDX files.

    Returns
    -------
    X : ndarray of shape (N, 784)
        Pixels of the 28x28 images, scaled to [0, 1], float64.
    y : ndarray of shape (N,)
        Class labels 0..9, int64.

    Raises
    ------
    ValueError
        ``split`` is neither "train" nor "test".
    FileNotFoundError
        The files are absent; the message says how to install them.

    Examples
    --------
    >>> X, y = load_fashion_mnist("test")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
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

    Parameters
    ----------
    n : int
        Number of points.
    intrinsic_dim : int, default=2
        ``d``.
    ambient_dim : int, default=3
        ``D >= d + 1``.
    random_state : None, int or numpy Generator, optional
        Seeds both the embedding and the points (one Generator, drawn from in that order).
    radius : float, default=1.0
        Radius of the sphere.

    Returns
    -------
    ndarray of shape (n, ambient_dim)
        The points.

    See Also
    --------
    Sphere : The manifold object, with its exact distance.

    Examples
    --------
    >>> import numpy as np
    >>> X = make_sphere(200, intrinsic_dim=2, ambient_dim=50, random_state=0)
    >>> X.shape, bool(np.allclose(np.linalg.norm(X, axis=1), 1.0))
    ((200, 50), True)
    """
    rng = np.random.default_rng(random_state)
    manifold = Sphere(intrinsic_dim, ambient_dim, random_state=rng, radius=radius)
    return manifold.sample(n, rng)
