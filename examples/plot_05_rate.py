"""
The rate on a circle, and what stays free of the ambient dimension
==================================================================

IDM's W1 error to the population falls with ``n`` like ``n^(-2/(d+4))`` (the paper's bound), and the
distance of its samples to the manifold does not grow with the ambient dimension ``D``. A small version of
``inertial-diffusion reproduce`` (exact W1 between 800 samples and 800 population points; the full run uses 4000
and removes the estimator's floor).
"""

import numpy as np

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.metrics import wasserstein1
from inertial_diffusion.evaluation.plots import pyplot

ns = [100, 400, 1600]
plt = pyplot()
fig, ax = plt.subplots(figsize=(5, 3.5))
for D in (2, 50):
    circle = Sphere(intrinsic_dim=1, ambient_dim=D, random_state=0)
    population = circle.sample(800, random_state=99)
    w1 = []
    for n in ns:
        S = InertialDiffusion(intrinsic_dim=1, random_state=0).fit(circle.sample(n, random_state=n)).sample(800)
        w1.append(wasserstein1(S, population))
    print(f"D = {D:3d}: W1 {np.round(w1, 3).tolist()}")
    ax.loglog(ns, w1, "o-", label=f"IDM, D = {D}")
ax.loglog(ns, 0.6 * np.array(ns, float) ** (-2 / 5), "k:", label="n^(-2/5) (d = 1)")
ax.set_xlabel("n")
ax.set_ylabel("W1 to the population (with the estimator's floor)")
ax.legend(fontsize=7)
fig.tight_layout()
