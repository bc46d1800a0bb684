"""scikit-learn estimators that validate, standardize and delegate to the core through one backend."""
