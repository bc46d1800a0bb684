"""
A table in, a table out
=======================

A DataFrame with text, integer, boolean, date and missing values goes through ``fit`` and ``sample`` and comes
back with the same columns, dtypes and categories: integers stay integers in their range, categories come from
one posterior-drawn real row (so combinations stay possible), missing values appear at their rate.
"""

import numpy as np
import pandas as pd

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.plots import pyplot

rng = np.random.default_rng(0)
n = 400
sex = rng.choice(["f", "m"], n)
table = pd.DataFrame({
    "age": rng.integers(18, 80, n),
    "income": np.where(rng.random(n) < 0.15, np.nan, rng.lognormal(10, 0.4, n)),
    "sex": sex,
    "pregnant": np.where(sex == "m", False, rng.random(n) < 0.2),
    "city": pd.Categorical(rng.choice(["Lima", "Oslo", "Rome"], n, p=[0.2, 0.5, 0.3])),
    "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
})
model = InertialDiffusion(inertia="moment", standardize="per_feature", random_state=0).fit(table)
samples = model.sample(2000)
print(samples.head())
print((samples.dtypes == table.dtypes).all(), "dtypes kept;", int(((samples.sex == "m") & samples.pregnant).sum()),
      "pregnant men")
print("missing income:", round(samples.income.isna().mean(), 3), "training:", round(table.income.isna().mean(), 3))

plt = pyplot()
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].hist([table.age, samples.age], bins=20, density=True, label=["training", "samples"])
axes[0].set_xlabel("age")
axes[0].legend(fontsize=7)
pd.DataFrame({"training": table.city.value_counts(normalize=True),
              "samples": samples.city.value_counts(normalize=True)}).plot.bar(ax=axes[1])
axes[1].set_ylabel("share")
fig.tight_layout()
