"""What reads samples: metrics, data sets with known manifolds, plots and the demo.

The experiments of ``reproduce`` are a package of their own, ``inertial_diffusion_studies`` (``studies/``).
"""
