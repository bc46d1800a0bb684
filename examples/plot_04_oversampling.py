"""
Rebalancing a rare class
========================

:class:`~inertial_diffusion.InertialOversampler` follows imbalanced-learn's ``fit_resample`` contract: it draws
new rows of the rare class from an inertial diffusion model of that class (here with the moment step), usable in
an imbalanced-learn ``Pipeline``.
"""

import numpy as np

from inertial_diffusion import InertialOversampler
from inertial_diffusion.evaluation.plots import pyplot

rng = np.random.default_rng(0)
X = np.r_[rng.normal(size=(300, 2)), rng.normal(size=(30, 2)) * 0.4 + [2.5, 2.5]]
y = np.r_[np.zeros(300, int), np.ones(30, int)]
X_res, y_res = InertialOversampler(inertia="moment", random_state=0).fit_resample(X, y)
print(np.bincount(y), "->", np.bincount(y_res))
plt = pyplot()
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(*X_res[len(X):].T, s=6, c="tab:orange", label="new rows of class 1")
ax.scatter(*X[y == 0].T, s=4, c="lightgrey", label="class 0")
ax.scatter(*X[y == 1].T, s=12, c="tab:red", label="class 1 (30 rows)")
ax.legend(fontsize=7)
fig.tight_layout()
