"""scikit-learn conformance: every generator passes ``check_estimator`` (no declared xfails needed)."""

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from inertial_diffusion import AmbientKDE, EmpiricalDiffusion, InertialDiffusion, SmoothedCFDM
from inertial_diffusion.estimators.oversampling import InertialOversampler

ESTIMATORS = [InertialDiffusion(bandwidth=0.5), EmpiricalDiffusion(), AmbientKDE(bandwidth=0.5),
              SmoothedCFDM(bandwidth=0.5, n_steps=3, n_noise=1)]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # isolated-point warnings on the checks' tiny data
        check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS + [InertialOversampler()], ids=lambda e: type(e).__name__)
def test_init_is_keyword_only_and_params_round_trip(estimator):
    """Explicit keyword-only ``__init__`` (scikit-learn convention): a positional argument is an error."""
    params = estimator.get_params()
    assert type(estimator)(**params).get_params() == params
    with pytest.raises(TypeError):
        type(estimator)(0.5)


def test_shared_parameter_docs_are_one_text():
    """A shared parameter is documented once and substituted: every estimator shows the same lines."""
    from inertial_diffusion.estimators._base import PARAMETER_DOCS

    for cls in (InertialDiffusion, EmpiricalDiffusion, SmoothedCFDM):
        for name in ("standardize", "dtype", "max_memory", "random_state"):
            assert PARAMETER_DOCS[name] in cls.__doc__, (cls.__name__, name)
    assert "As in" not in InertialDiffusion.__doc__ + AmbientKDE.__doc__ + SmoothedCFDM.__doc__


def _imblearn_checks():
    try:
        from imblearn.utils.estimator_checks import _yield_all_checks
    except ImportError:  # pragma: no cover - imbalanced-learn is a test dependency
        return []
    from inertial_diffusion import InertialOversampler

    est = InertialOversampler(random_state=0)
    return [(getattr(c, "func", c).__name__, c) for c in _yield_all_checks(est)]


@pytest.mark.parametrize("name,check", _imblearn_checks(), ids=lambda v: v if isinstance(v, str) else "")
def test_imbalanced_learn_checks_pass_on_the_oversampler(name, check):
    """imbalanced-learn's own estimator checks (as scikit-learn's are run above): sparse input and pandas sparse
    columns are densified for the model and given back sparse; feature names; an already balanced y draws nothing."""
    from inertial_diffusion import InertialOversampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check("InertialOversampler", InertialOversampler(random_state=0))
