"""Ways of computing the posterior of the empirical diffusion model, all behind one contract
(:class:`inertial_diffusion.backends.base.PosteriorBackend`), chosen once at ``fit``."""
