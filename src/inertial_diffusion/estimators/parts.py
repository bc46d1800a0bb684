"""The query methods of a model of several separated parts: the mixture law that ``sample`` draws.

A model fitted with ``components="auto"`` that found several parts samples from part ``c`` with probability
``π_c = n_c / n``, each part a full model with its own standardization. At a time ``t`` its law is the mixture
:math:`p_t(x) = \\sum_c \\pi_c\\, p_t^c(x)` (each :math:`p_t^c` in data units), so the queries answer for that
mixture, not for an empirical model of all rows in one standardization:

* :math:`\\log p_t(x) = \\operatorname{LSE}_c(\\log \\pi_c + \\log p_t^c(x))`;
* the posterior over parts :math:`P(c \\mid x) \\propto \\pi_c\\, p_t^c(x)`;
* the posterior mean :math:`\\sum_c P(c \\mid x)\\, m_t^c(x)` and the score
  :math:`\\nabla\\log p_t = \\sum_c P(c \\mid x)\\, \\nabla\\log p_t^c`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp, softmax

__all__ = ["mixture_query"]


def mixture_query(parts: list[Any], sizes: list[int], x: Any, t: float, what: str) -> np.ndarray:
    """A query of the mixture of ``parts`` weighted by ``sizes`` (see the module docstring).

    Parameters
    ----------
    parts : list of fitted estimators
        The parts' models (each with ``log_density``, ``posterior_mean``, ``score_function``).
    sizes : list of int
        Training rows of each part (the mixture weights, normalized here).
    x : array-like of shape (m, D) or (D,)
        Queries in data units.
    t : float
        Diffusion time.
    what : {"log_density", "posterior_mean", "score_function"}
        The query.

    Returns
    -------
    ndarray
        ``(m,)`` for the log-density, ``(m, D)`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import EmpiricalDiffusion
    >>> rng = np.random.default_rng(0)
    >>> a = EmpiricalDiffusion().fit(rng.normal(size=(30, 1)))
    >>> b = EmpiricalDiffusion().fit(rng.normal(size=(30, 1)) + 50)
    >>> grid = np.linspace(-20.0, 80.0, 20001)[:, None]
    >>> density = np.exp(mixture_query([a, b], [1, 3], grid, 0.5, "log_density"))
    >>> total = density.sum() * (grid[1, 0] - grid[0, 0])
    >>> round(float(total), 4), round(float(density[grid[:, 0] > 25].sum() / density.sum()), 2)  # weights 1/4, 3/4
    (1.0, 0.75)
    """
    log_weights = np.log(np.asarray(sizes, dtype=float) / float(np.sum(sizes)))
    logp = np.stack([part.log_density(x, t) for part in parts], axis=1) + log_weights  # (m, C)
    if what == "log_density":
        return logsumexp(logp, axis=1)
    if what not in ("posterior_mean", "score_function"):
        raise ValueError(f"unknown query {what!r}")
    responsibility = softmax(logp, axis=1)  # P(c | x)
    values = np.stack([getattr(part, what)(x, t) for part in parts], axis=1)  # (m, C, D)
    return np.einsum("mc,mcd->md", responsibility, values)
