"""What reads samples: metrics, data sets with known manifolds, plots, the experiments and the demo."""
