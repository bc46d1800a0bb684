"""Shared pieces of the experiments: models at equal sigma, the W1 floor, timing, summaries.

Every experiment of :mod:`inertial_diffusion_studies` is a function
``run(preset, say, seed) -> Table``; the pieces here are what they share: the compared estimators at the
rule's bandwidth (:func:`models`), the W1 estimator's sampling floor and its quadrature correction
(:func:`w1_floor`, :func:`corrected_w1`, :func:`below_lower_bound`), and small bookkeeping helpers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from inertial_diffusion.estimators.baselines import AmbientKDE, SmoothedCFDM
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.evaluation.metrics import floor_corrected, wasserstein1

__all__ = ["Say", "Table", "models", "w1_floor", "corrected_w1", "timed", "mean_sd", "below_lower_bound",
           "sigma_in_data_units", "SEED_STRIDE", "IDM_STEPS"]

#: Added per unit of ``--seed`` to seeds built from fixed offsets, so that every draw follows ``--seed``
#: (0 leaves them as they were; larger than any offset + repetition + n used).
SEED_STRIDE = 1_000_003

#: The inertia steps measured side by side where an experiment runs IDM itself (rate, failure modes): row
#: label to ``inertia``. ``"IDM"`` keeps the name it had before the moment step, so that older CSV files stay
#: comparable; both steps run on the same data with the same seeds.
IDM_STEPS = {"IDM": "posterior_mean", "IDM (moment)": "moment"}

#: Progress callback of the experiments: called with one line of text per step (``print``, or a no-op).
Say = Callable[[str], None]


@dataclass
class Table:
    """Rows of one experiment (a CSV file), the seconds it took, and scalars the report needs
    besides the rows (``meta``: W1 floors, sizes), kept in ``run.json``.

    Parameters
    ----------
    name : str
        Table name; the CSV file is ``<name>.csv`` and the report looks tables up by it.
    rows : list of dict, optional
        One dict per CSV row, column name to value (numbers, strings, booleans); empty by default.
        Rows need not share their keys: the CSV's columns are the union, in first-seen order.
    seconds : float, optional
        Wall-clock seconds the experiment took (set by the runner; default 0.0).
    meta : dict, optional
        Scalars that are not rows, e.g. ``{"floor": F}``; JSON-serializable, saved in ``run.json``.

    Examples
    --------
    >>> t = Table("demo")
    >>> t.add(model="IDM", n=100, w1=0.25)
    >>> t.add(model="IDM", n=400, w1=0.125)
    >>> t.add(model="KDE", n=100, w1=0.5)
    >>> [r["w1"] for r in t.select(model="IDM")]
    [0.25, 0.125]
    >>> len(t.rows), t.select(model="KDE", n=400)
    (3, [])
    """

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, **row: Any) -> None:
        """Append one row, given as keyword arguments (column name = value).

        Parameters
        ----------
        **row : Any
            The row's columns, kept in the order given.
        """
        self.rows.append(row)

    def select(self, **match: Any) -> list[dict[str, Any]]:
        """The rows whose columns equal every given value, in table order.

        Parameters
        ----------
        **match : Any
            Column name = required value; a row without the column does not match (unless the value is
            ``None``). No arguments select every row.

        Returns
        -------
        list of dict
            The matching rows themselves (not copies).
        """
        return [r for r in self.rows if all(r.get(k) == v for k, v in match.items())]


def models(intrinsic_dim: float | None, seed: int, cfdm_steps: int, cfdm_noise: int,
           names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The compared models, all at the rule's sigma = n^(-1/(d+4)) (d given, or estimated when None).

    Every model uses the package's bandwidth rule in the same standardized units, so the comparison is at
    equal σ: only what each model does with σ differs (the empirical DM ignores it and returns training
    points).

    Parameters
    ----------
    intrinsic_dim : float or None
        Intrinsic dimension ``d`` passed to every smoothing model; None lets each estimate it at fit time.
        (:class:`~inertial_diffusion.EmpiricalDiffusion` takes none.)
    seed : int
        ``random_state`` of every model.
    cfdm_steps : int
        Euler steps of σ-CFDM (``n_steps``).
    cfdm_noise : int
        Noise perturbations per step of σ-CFDM (``n_noise``).
    names : tuple of str, optional
        Keep only these models (keys below); None (default) keeps all six.

    Returns
    -------
    dict of str to estimator
        Unfitted estimators by display name, in this order: ``"EmpiricalDiffusion"``,
        ``"IDM (posterior mean)"``, ``"IDM (paper form)"`` (``inertia="paper"``), ``"IDM (moment)"``
        (``inertia="moment"``), ``"ambient KDE"``, ``"σ-CFDM"``.

    See Also
    --------
    inertial_diffusion.InertialDiffusion, inertial_diffusion.estimators.baselines.AmbientKDE,
    inertial_diffusion.estimators.baselines.SmoothedCFDM

    Examples
    --------
    >>> list(models(2, seed=0, cfdm_steps=20, cfdm_noise=4))
    ['EmpiricalDiffusion', 'IDM (posterior mean)', 'IDM (paper form)', 'IDM (moment)', 'ambient KDE', 'σ-CFDM']
    >>> sorted(models(2, 0, 20, 4, names=("ambient KDE", "IDM (paper form)")))
    ['IDM (paper form)', 'ambient KDE']
    """
    every = {
        "EmpiricalDiffusion": lambda: EmpiricalDiffusion(random_state=seed),
        "IDM (posterior mean)": lambda: InertialDiffusion(intrinsic_dim=intrinsic_dim, random_state=seed),
        "IDM (paper form)": lambda: InertialDiffusion(intrinsic_dim=intrinsic_dim, inertia="paper", random_state=seed),
        "IDM (moment)": lambda: InertialDiffusion(intrinsic_dim=intrinsic_dim, inertia="moment", random_state=seed),
        "ambient KDE": lambda: AmbientKDE(intrinsic_dim=intrinsic_dim, random_state=seed),
        "σ-CFDM": lambda: SmoothedCFDM(intrinsic_dim=intrinsic_dim, n_steps=cfdm_steps, n_noise=cfdm_noise,
                                       random_state=seed),
    }
    return {k: f() for k, f in every.items() if names is None or k in names}


def w1_floor(intrinsic_dim: int, m: int, reps: int, seed: int = 0) -> float:
    """Mean exact W1 between two independent m-point samples of the uniform S^d: the estimator's floor.

    The floor does not depend on the ambient dimension (W1 is invariant under isometric embedding).
    It is what the plug-in W1 between ``m`` samples and ``m`` population points reads when the two laws
    agree; :func:`corrected_w1` removes it in quadrature. One reference sample (``random_state``
    ``10000 + seed``) is compared with ``reps`` fresh samples (``20000 + seed + k``, ``k < reps``).

    Parameters
    ----------
    intrinsic_dim : int
        ``d`` of the unit sphere S^d (drawn in R^(d+1)).
    m : int
        Points per sample; use the ``m`` of the W1 values it corrects (the floor shrinks with ``m``).
    reps : int
        Number of W1 values averaged.
    seed : int, default 0
        Offset of the samples' seeds.

    Returns
    -------
    float
        The floor ``F``, in the sphere's units (radius 1).

    See Also
    --------
    inertial_diffusion.evaluation.metrics.floor_corrected : The correction and its measured accuracy.

    Examples
    --------
    >>> F100, F400 = w1_floor(1, m=100, reps=2), w1_floor(1, m=400, reps=2)
    >>> 0 < F400 < F100 < 0.5
    True
    """
    sphere = Sphere(intrinsic_dim, intrinsic_dim + 1, random_state=0)
    ref = sphere.sample(m, random_state=10_000 + seed)
    return float(np.mean([wasserstein1(sphere.sample(m, random_state=20_000 + seed + k), ref) for k in range(reps)]))


def corrected_w1(samples: np.ndarray, population: np.ndarray, floor: float) -> tuple[float, float]:
    """(raw plug-in W1, floor-corrected W1) of samples against population points.

    Parameters
    ----------
    samples : ndarray of shape (m, D)
        Generated samples.
    population : ndarray of shape (m, D)
        Fresh points of the true law (the same ``m`` as the floor's).
    floor : float
        The sampling floor ``F`` at this ``m``, from :func:`w1_floor`.

    Returns
    -------
    raw : float
        Exact (optimal-transport) W1 between the two point sets.
    corrected : float
        :math:`\\sqrt{\\max(W_1^2 - F^2, 0)}`, biased low near ``F`` (see :func:`below_lower_bound`).

    See Also
    --------
    inertial_diffusion.evaluation.metrics.wasserstein1, inertial_diffusion.evaluation.metrics.floor_corrected

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> population = rng.standard_normal((200, 2))
    >>> raw, w1 = corrected_w1(population + [0.5, 0.0], population, floor=0.3)
    >>> round(raw, 3), round(w1, 3)
    (0.5, 0.4)
    """
    raw = wasserstein1(samples, population)
    return raw, floor_corrected(raw, floor)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``fn()`` and measure its wall-clock time.

    Parameters
    ----------
    fn : callable
        Function of no arguments (typically ``lambda: model.fit(train).sample(m)``).

    Returns
    -------
    out : Any
        What ``fn`` returned.
    seconds : float
        Elapsed ``time.perf_counter()`` seconds.
    """
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0.0 for a single value).

    Parameters
    ----------
    values : array-like of float
        At least one value.

    Returns
    -------
    mean : float
    sd : float

    Examples
    --------
    >>> mean_sd([1.0, 2.0, 3.0]), mean_sd([5])
    ((2.0, 1.0), (5.0, 0.0))
    """
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def below_lower_bound(w1: float, lower_bound: float) -> bool:
    """True when a floor-corrected W1 lies below a strict lower bound of the true W1 (for samples
    against a law supported on M, :math:`W_1 \\ge E\\,\\mathrm{dist}(x, M)`): the quadrature correction
    removed too much there. Such values are flagged in the CSV files and the report, never used silently.

    Parameters
    ----------
    w1 : float
        Floor-corrected W1 (second value of :func:`corrected_w1`).
    lower_bound : float
        A lower bound of the true W1, here the samples' mean distance to the manifold.

    Returns
    -------
    bool
        ``w1 < lower_bound``.
    """
    return bool(w1 < lower_bound)


def sigma_in_data_units(model: Any) -> float:
    """A fitted model's σ in data units: ``bandwidth_`` times its (mean) scale, or the mean over its
    separated components when it found several (``components_``).

    ``bandwidth_`` is in standardized units; multiplying by the standardization scale makes σ comparable
    with distances measured in the data (the band widths, the copy tolerances of the experiments).

    Parameters
    ----------
    model : estimator
        A fitted :class:`~inertial_diffusion.InertialDiffusion` (``scale_``) or a fitted baseline
        (``standardizer_.scale``), with ``bandwidth_``.

    Returns
    -------
    float
        σ in data units; with separated components, the unweighted mean of the parts' σ.

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import InertialDiffusion
    >>> X = 10.0 * np.random.default_rng(0).standard_normal((300, 2))
    >>> model = InertialDiffusion(intrinsic_dim=2, components="none").fit(X)
    >>> bool(np.isclose(sigma_in_data_units(model), model.bandwidth_ * model.scale_))
    True
    """
    parts = getattr(model, "components_", None)
    if parts:
        return float(np.mean([p["bandwidth"] for p in parts]))
    scale = model.scale_ if hasattr(model, "scale_") else model.standardizer_.scale  # the baselines keep the map
    return float(model.bandwidth_ * np.mean(scale))
