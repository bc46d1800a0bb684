"""Public alias of :mod:`inertial_diffusion.evaluation.datasets` (manifolds with known distances, loaders)."""

from inertial_diffusion.evaluation.datasets import *  # noqa: F401,F403
from inertial_diffusion.evaluation.datasets import __all__  # noqa: F401
