"""Random generators from a user's ``random_state``: randomness is always injected, never global."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["torch_generator"]


def torch_generator(random_state: Any, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from ``random_state`` (None, int or numpy Generator)."""
    if isinstance(random_state, torch.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(0, 2**31 - 1)) * 2**31 + int(random_state.randint(0, 2**31 - 1))
    else:
        seed = int(np.random.default_rng(random_state).integers(0, 2**63 - 1))
    return torch.Generator(device=device).manual_seed(seed)
