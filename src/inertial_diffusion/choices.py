"""The names every choice-valued option accepts, in one light module (no imports): the estimators validate
against these and the command line offers them, so the two cannot drift, and ``inertial-diffusion --help``
needs neither torch nor scikit-learn to list them."""

__all__ = ["INERTIA_FORMS", "SAMPLERS", "DTYPES", "DIM_METHODS", "DEVICES", "STANDARDIZE_MODES", "COMPONENTS"]

#: forms of the inertia step (core.inertia)
INERTIA_FORMS = ("posterior_mean", "paper", "moment")
#: how z ~ p̂_h is drawn: exactly, or by simulating the reverse process (core.samplers)
SAMPLERS = ("one_shot", "sde", "sde_euler", "ode")
#: computation dtypes (backends.device.DTYPES keys)
DTYPES = ("float64", "float32", "tf32")
#: intrinsic-dimension estimators (core.bandwidth)
DIM_METHODS = ("scale", "twonn", "mle")
#: device names besides "cuda:N" (backends.device)
DEVICES = ("cpu", "cuda", "auto")
#: standardization modes (core.standardize); True/False are accepted as "global"/"none"
STANDARDIZE_MODES = ("global", "per_feature", "none")
#: separated components (estimators.inertial): found at the kernel's scale, or one model
COMPONENTS = ("auto", "none")
