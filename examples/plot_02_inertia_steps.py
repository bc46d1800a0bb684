"""
The three inertia steps
=======================

From the same ``z ~ p_h`` the three steps give: the posterior mean ``m_h(z)`` (IDM's map: an average of
training points, which shrinks the data towards their local means), the paper's printed step, and the
moment-matched step, a draw of ``N(m_h(z), Cov_h(y | z))`` that keeps the data's covariance. On a 2-D Gaussian
at a large bandwidth the difference is plain: the posterior mean collapses, the moment step does not.
"""

import numpy as np

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.plots import pyplot

rng = np.random.default_rng(0)
X = rng.standard_normal((500, 2)) @ np.array([[2.0, 0.0], [1.2, 0.6]])
plt = pyplot()
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), sharex=True, sharey=True)
for ax, step in zip(axes, ("posterior_mean", "paper", "moment")):
    S = InertialDiffusion(inertia=step, bandwidth=0.6, random_state=0).fit(X).sample(1500)
    ax.scatter(*X.T, s=3, c="lightgrey", label="training")
    ax.scatter(*S.T, s=3, label="samples")
    kept = np.trace(np.cov(S.T)) / np.trace(np.cov(X.T))
    ax.set_title(f"{step}: variance kept {kept:.2f}", fontsize=9)
    print(f"{step:15s} variance kept {kept:.3f}")
axes[0].legend(fontsize=7, markerscale=3)
fig.tight_layout()
