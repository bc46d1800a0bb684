"""inertial-diffusion: new samples from a finite data set, with no training.

Implements the inertial diffusion model (IDM) of Lyu, Nguyen, Qian & Tong, "Resolving Memorization
in Empirical Diffusion Model for Manifold Data in High-Dimensional Spaces" (arXiv 2505.02508),
with the empirical diffusion model beside it as the memorizing baseline.

Convention: forward OU process dX = -X dt + dW, alpha_t = e^{-t}, v_t = (1 - e^{-2t})/2, and IDM stops at
h = sigma^2. The paper's full text is not available to us: this convention is our inference. Under it the
printed inertia step is a full Tweedie step to first order in h, but only the posterior-mean form of it is free of
the ambient dimension D (the printed form drifts off the manifold as D grows; under dX = -X dt + sqrt(2) dW it is
a half step and lands far off the data).

Layout: ``core`` (the mathematics, pure functions), ``backends`` (one posterior contract: local, pruned,
Dask), ``estimators`` (scikit-learn objects that validate, standardize and delegate), ``evaluation``
(metrics, data sets, plots, the demo), ``io`` and ``cli``; the experiments of ``reproduce`` are the separate
package ``inertial_diffusion_studies``. Public names are imported lazily, so that
``inertial-diffusion --help`` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> defining module (imported on first access)
_PUBLIC = {
    "InertialDiffusion": "inertial_diffusion.estimators.inertial",
    "EmpiricalDiffusion": "inertial_diffusion.estimators.empirical",
    "AmbientKDE": "inertial_diffusion.estimators.baselines",
    "SmoothedCFDM": "inertial_diffusion.estimators.baselines",
    "InertialOversampler": "inertial_diffusion.estimators.oversampling",
    "estimate_intrinsic_dim": "inertial_diffusion.core.bandwidth",
    "bandwidth_rule": "inertial_diffusion.core.bandwidth",
}

__all__ = list(_PUBLIC)
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover  (for type checkers and IDEs)
    from inertial_diffusion.core.bandwidth import bandwidth_rule, estimate_intrinsic_dim  # noqa: F401
    from inertial_diffusion.estimators.baselines import AmbientKDE, SmoothedCFDM  # noqa: F401
    from inertial_diffusion.estimators.empirical import EmpiricalDiffusion  # noqa: F401
    from inertial_diffusion.estimators.inertial import InertialDiffusion  # noqa: F401
    from inertial_diffusion.estimators.oversampling import InertialOversampler  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'inertial_diffusion' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
