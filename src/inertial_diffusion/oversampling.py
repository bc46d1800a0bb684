"""Public alias of :mod:`inertial_diffusion.estimators.oversampling` (``InertialOversampler``)."""

from inertial_diffusion.estimators.oversampling import *  # noqa: F401,F403
from inertial_diffusion.estimators.oversampling import __all__  # noqa: F401
