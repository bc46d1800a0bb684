"""The mathematics as pure functions, with no estimator state: the OU process, the streaming posterior,
samplers, the inertia step, standardization, the bandwidth rule and the intrinsic dimension."""
