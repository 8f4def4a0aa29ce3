"""DPT-TSE: a dual-path transformer extractor over a learned 1-D conv encoder, FiLM-conditioned.

The relative-cues paper's first single-stage baseline (IV-C, "DPT-based TSE", from the authors'
earlier text-guided TSE work; the remix paper, IV-B, conditions the same way).  Written for tse2:

    waveform (B, N) --Conv1d(1, E, L, stride L/2), ReLU--> (B, E, T)   learned encoder
      --GroupNorm, 1x1 Conv--> (B, D, T) --chunks of K frames, hop K/2--> (B, D, S, K)
      --n_blocks x [FiLM(prompt), intra-chunk transformer (over K), inter-chunk transformer (over S)]
      --overlap-add--> (B, D, T) --PReLU, 1x1 Conv, ReLU--> mask (B, E, T)
      --mask * encoded, ConvTranspose1d(E, 1, L, stride L/2)--> (B, N)

The transformers are PyTorch's ``nn.TransformerEncoderLayer`` (pre-norm, batch first, residuals
inside): one block is the standard intra-chunk / inter-chunk pair.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tse2.models.film import FiLM


class DPTExtractor(nn.Module):
    """Text-conditioned dual-path transformer extractor (one output).

    Args:
        cond_dim: size of the prompt embedding (the text encoder's output).
        enc_dim: E, filters of the learned encoder; kernel_size: L, its window in samples (stride L/2).
        feat_dim: D, channels inside the dual-path blocks; chunk_size: K frames per chunk (hop K/2).
        n_blocks: dual-path blocks, each preceded by FiLM; n_heads, ffn_dim, dropout: transformer settings.
    """

    def __init__(self, cond_dim: int = 128, enc_dim: int = 64, kernel_size: int = 16, feat_dim: int = 64,
                 chunk_size: int = 100, n_blocks: int = 4, n_heads: int = 4, ffn_dim: int = 256,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if kernel_size < 2 or kernel_size % 2:
            raise ValueError(f"kernel_size must be even and >= 2, got {kernel_size}")
        if chunk_size < 2 or feat_dim % n_heads:
            raise ValueError(f"need chunk_size >= 2 and feat_dim % n_heads == 0, got {chunk_size}, {feat_dim}, {n_heads}")
        self.cond_dim, self.kernel, self.stride, self.chunk = cond_dim, kernel_size, kernel_size // 2, chunk_size
        self.encoder = nn.Conv1d(1, enc_dim, kernel_size, stride=self.stride, bias=False)
        self.bottleneck = nn.Sequential(nn.GroupNorm(1, enc_dim), nn.Conv1d(enc_dim, feat_dim, 1))

        def layer() -> nn.TransformerEncoderLayer:
            return nn.TransformerEncoderLayer(feat_dim, n_heads, ffn_dim, dropout, batch_first=True, norm_first=True)

        self.film = nn.ModuleList(FiLM(cond_dim, feat_dim) for _ in range(n_blocks))
        self.intra = nn.ModuleList(layer() for _ in range(n_blocks))
        self.inter = nn.ModuleList(layer() for _ in range(n_blocks))
        self.mask = nn.Sequential(nn.PReLU(), nn.Conv1d(feat_dim, enc_dim, 1), nn.ReLU())
        self.decoder = nn.ConvTranspose1d(enc_dim, 1, kernel_size, stride=self.stride, bias=False)

    def _chunks(self, x: torch.Tensor):
        """(B, D, T) → (B, D, S, K) with hop K/2, plus what :meth:`_overlap_add` needs."""
        t = x.shape[-1]
        hop = self.chunk // 2
        n = max(1, math.ceil((t + hop - self.chunk) / hop) + 1)
        total = (n - 1) * hop + self.chunk
        x = F.pad(x, (hop, total - t - hop if total - t - hop >= 0 else 0))
        length = x.shape[-1]
        return x.unfold(-1, self.chunk, hop), (t, length, hop)

    def _overlap_add(self, x: torch.Tensor, info) -> torch.Tensor:
        t, length, hop = info
        b, d, s, k = x.shape
        y = F.fold(x.permute(0, 1, 3, 2).reshape(b, d * k, s), output_size=(1, length), kernel_size=(1, k),
                   stride=(1, hop))
        return y.view(b, d, length)[..., hop: hop + t]

    def forward(self, mixture: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.extract(mixture, cond)

    def extract(self, mixture: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """(B, N) mixture, (B, cond_dim) prompt embedding → (B, N) target estimate."""
        if mixture.dim() != 2:
            raise ValueError(f"expected a (batch, samples) waveform, got shape {tuple(mixture.shape)}")
        n = mixture.shape[-1]
        pad = (-(n - self.kernel)) % self.stride if n >= self.kernel else self.kernel - n
        std = mixture.std(dim=-1, keepdim=True).clamp_min(1e-8)
        enc = F.relu(self.encoder(F.pad(mixture / std, (0, pad))[:, None]))  # B, E, T
        x = self.bottleneck(enc)  # B, D, T
        x, info = self._chunks(x)  # B, D, S, K
        b, d, s, k = x.shape
        for film, intra, inter in zip(self.film, self.intra, self.inter):
            x = film(x, cond)
            # the layers carry their own residuals (pre-norm): y + attn(norm y), then + ffn(norm .)
            y = intra(x.permute(0, 2, 3, 1).reshape(b * s, k, d))  # within each chunk
            x = y.view(b, s, k, d).permute(0, 3, 1, 2)
            y = inter(x.permute(0, 3, 2, 1).reshape(b * k, s, d))  # across chunks
            x = y.view(b, k, s, d).permute(0, 3, 2, 1)
        mask = self.mask(self._overlap_add(x, info))  # B, E, T
        out = self.decoder(mask * enc)[:, 0, :n]
        return out * std
