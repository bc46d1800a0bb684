"""Random generators from a user's ``random_state``: randomness is always injected, never global."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["torch_generator"]


def torch_generator(random_state: Any, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from a user's ``random_state``.

    Lets every estimator accept the scikit-learn style ``random_state`` while the torch code draws from an
    explicit generator: same ``random_state``, same stream. A NumPy generator is advanced by the draw of
    the seed (so two calls with the same ``Generator`` object give different streams, as in scikit-learn).

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator, numpy.random.RandomState or torch.Generator
        None draws a fresh seed from the operating system; an int seeds deterministically; a NumPy
        generator provides a 63-bit (``Generator``) or 62-bit (``RandomState``) seed; a
        ``torch.Generator`` is returned as it is (its own device is kept, whatever ``device`` says).
    device : torch.device
        Device of the new generator.

    Returns
    -------
    torch.Generator
        A seeded generator.

    Examples
    --------
    >>> import torch
    >>> g1 = torch_generator(0, torch.device("cpu"))
    >>> g2 = torch_generator(0, torch.device("cpu"))
    >>> bool(torch.equal(torch.randn(3, generator=g1), torch.randn(3, generator=g2)))  # same seed, same stream
    True
    >>> torch_generator(g1, torch.device("cpu")) is g1
    True
    """
    if isinstance(random_state, torch.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(0, 2**31 - 1)) * 2**31 + int(random_state.randint(0, 2**31 - 1))
    else:
        seed = int(np.random.default_rng(random_state).integers(0, 2**63 - 1))
    return torch.Generator(device=device).manual_seed(seed)
