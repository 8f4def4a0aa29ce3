"""Feature-wise linear modulation (FiLM) by a prompt embedding, as the remix paper conditions its
extractor (Listen, Chat, and Remix, IV-B): γ and β come from two 2-layer MLPs of the embedding and
are constant over time; ``γ ⊙ x + β`` is applied before each block of the extractor."""

from __future__ import annotations

import torch
import torch.nn as nn


class FiLM(nn.Module):
    """``x`` (B, C, ...) or (B, ..., C) modulated per channel by ``cond`` (B, cond_dim).

    Args:
        cond_dim: size of the condition (the text encoder's output).
        channels: C, the channels modulated.
        hidden: hidden size of both MLPs (default: ``channels``).
    The last layers start at γ = 1, β = 0, so an untrained FiLM passes ``x`` through unchanged.
    """

    def __init__(self, cond_dim: int, channels: int, hidden: int = 0) -> None:
        super().__init__()
        if cond_dim < 1 or channels < 1:
            raise ValueError(f"FiLM needs cond_dim >= 1 and channels >= 1, got {cond_dim}, {channels}")
        hidden = hidden or channels
        self.gamma = nn.Sequential(nn.Linear(cond_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.beta = nn.Sequential(nn.Linear(cond_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        nn.init.zeros_(self.gamma[-1].weight)
        nn.init.ones_(self.gamma[-1].bias)
        nn.init.zeros_(self.beta[-1].weight)
        nn.init.zeros_(self.beta[-1].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, channel_dim: int = 1) -> torch.Tensor:
        if cond.dim() != 2 or cond.shape[0] != x.shape[0]:
            raise ValueError(f"FiLM condition must be (batch, cond_dim) with batch {x.shape[0]}, got {tuple(cond.shape)}")
        shape = [x.shape[0]] + [1] * (x.dim() - 1)
        shape[channel_dim] = x.shape[channel_dim]
        g, b = self.gamma(cond).view(shape), self.beta(cond).view(shape)
        return g * x + b
