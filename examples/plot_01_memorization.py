"""
Memorization and its cure on a sphere
=====================================

The empirical diffusion model (the exact score of the training set) returns training points; IDM stops at
``h = sigma^2`` and takes one inertia step, so its samples are new points near the data manifold. Here: 800
points on the unit 2-sphere embedded in R^50, 400 samples of each model, their distance to the nearest training
point and to the sphere.
"""

import numpy as np

from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.metrics import nearest_distances
from inertial_diffusion.evaluation.plots import pyplot

sphere = Sphere(intrinsic_dim=2, ambient_dim=50, random_state=0)
X = sphere.sample(800, random_state=1)
models = {"empirical DM": EmpiricalDiffusion(random_state=0), "IDM (posterior mean)": InertialDiffusion(random_state=0),
          "IDM (moment)": InertialDiffusion(inertia="moment", random_state=0)}
plt = pyplot()
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for name, model in models.items():
    S = model.fit(X).sample(400)
    near = nearest_distances(S, X)
    print(f"{name:22s} copies {np.mean(near < 1e-6):5.1%}  median NN distance {np.median(near):.3f}  "
          f"mean distance to the sphere {sphere.distance(S).mean():.3f}")
    axes[0].hist(near, bins=np.linspace(0, 0.4, 41), histtype="step", label=name)
    axes[1].hist(np.linalg.norm(S @ sphere.embedding, axis=1), bins=np.linspace(0.6, 1.2, 41), histtype="step",
                 label=name)
axes[0].set_xlabel("distance to the nearest training point")
axes[1].set_xlabel("|x| in the sphere's R^3 (1 = on the sphere)")
axes[0].legend(fontsize=7)
fig.tight_layout()
