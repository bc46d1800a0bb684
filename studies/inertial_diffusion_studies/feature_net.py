"""A small seeded image classifier whose penultimate layer is the feature space of the image metrics.

Fréchet distance and improved precision/recall are computed on the features of a classifier trained
on real images (the role Inception plays in FID), here a 784-256-128-C multilayer perceptron trained
for a few epochs on the CPU: no pretrained weights, no downloads, same seed same network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["FeatureNet", "train_feature_net"]


@dataclass
class FeatureNet:
    """A trained classifier: ``features(X)`` (penultimate activations) and ``predict(X)`` (class labels).

    Built by :func:`train_feature_net`; inputs are rows of the same D features as the training rows (for
    images, flattened pixels), cast to float32.

    Parameters
    ----------
    body : torch.nn.Module
        The network up to the penultimate layer (its output is the feature vector).
    head : torch.nn.Module
        The last, linear layer: features to one logit per class.
    classes : ndarray of shape (C,)
        The class labels, sorted; logit ``k`` is ``classes[k]``.
    train_accuracy : float
        Accuracy on the training rows, in [0, 1].
    """

    body: nn.Module
    head: nn.Module
    classes: np.ndarray
    train_accuracy: float

    @torch.no_grad()
    def features(self, X: np.ndarray) -> np.ndarray:
        """Penultimate-layer activations: the feature space of the Fréchet distance and precision/recall.

        Parameters
        ----------
        X : array-like of shape (n, D)
            Rows to embed.

        Returns
        -------
        ndarray of shape (n, hidden[1])
            The features, float64.
        """
        self.body.eval()
        return self.body(torch.as_tensor(np.asarray(X), dtype=torch.float32)).double().numpy()

    @torch.no_grad()
    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most likely class of each row.

        Parameters
        ----------
        X : array-like of shape (n, D)
            Rows to classify.

        Returns
        -------
        ndarray of shape (n,)
            Labels from :attr:`classes`.
        """
        self.body.eval()
        self.head.eval()
        logits = self.head(self.body(torch.as_tensor(np.asarray(X), dtype=torch.float32)))
        return self.classes[logits.argmax(dim=1).numpy()]

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Share of rows whose predicted class is ``y``.

        Parameters
        ----------
        X : array-like of shape (n, D)
            Rows to classify.
        y : array-like of shape (n,)
            Their true labels.

        Returns
        -------
        float
            Accuracy in [0, 1].
        """
        return float(np.mean(self.predict(X) == np.asarray(y)))


def train_feature_net(X: np.ndarray, y: np.ndarray, *, hidden: tuple[int, int] = (256, 128), epochs: int = 5,
                      batch_size: int = 128, lr: float = 1e-3, seed: int = 0) -> FeatureNet:
    """Train the MLP ``D -> hidden[0] -> hidden[1] -> classes`` (ReLU, Adam, cross-entropy) on ``(X, y)``.

    Initialisation and batch order come from ``seed`` only (the global torch RNG is left untouched).

    Parameters
    ----------
    X : array-like of shape (n, D)
        Training rows (cast to float32; scale them as the rows to be embedded later).
    y : array-like of shape (n,)
        Their labels, any sortable type.
    hidden : tuple of (int, int), default (256, 128)
        Widths of the two hidden layers; the second is the feature dimension.
    epochs : int, default 5
        Passes over the data.
    batch_size : int, default 128
        Rows per Adam step (the last batch of an epoch may be smaller).
    lr : float, default 1e-3
        Adam's learning rate.
    seed : int, default 0
        Seed of the initialisation and of the batch order.

    Returns
    -------
    FeatureNet
        The trained network, with its training accuracy.

    Raises
    ------
    ValueError
        ``X`` is not 2-D or its row count differs from the number of labels.
    """
    X = np.asarray(X, dtype=np.float32)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if X.ndim != 2 or X.shape[0] != codes.shape[0]:
        raise ValueError(f"X must be (n, D) with one label per row, got X {X.shape} and {codes.shape[0]} labels")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        body = nn.Sequential(nn.Linear(X.shape[1], hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU())
        head = nn.Linear(hidden[1], len(classes))
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(codes)
    opt = torch.optim.Adam(list(body.parameters()) + list(head.parameters()), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss_fn(head(body(Xt[idx])), yt[idx]).backward()
            opt.step()
    net = FeatureNet(body, head, classes, 0.0)
    net.train_accuracy = net.accuracy(X, y)
    return net
