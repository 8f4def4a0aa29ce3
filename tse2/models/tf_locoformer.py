"""TF-Locoformer: a time-frequency transformer with local modelling by convolution.

Written for tse2 from the TF-Locoformer paper (Saijo et al., 2024: "TF-Locoformer: Transformer with
local modeling by convolution for speech separation and enhancement"); MERL's public code was
read for facts only.  One file, top to bottom:

    waveform (B, N) --RMS norm, STFT--> (B, 2, T, F) real/imag
      --Conv2d 3x3--> (B, D, T, F)
      --n_layers x [frequency path, then time path], each path a macaron block:
            x + 0.5 ConvSwiGLU(Norm x)  ->  x + MHSA_RoPE(Norm x)  ->  x + 0.5 ConvSwiGLU(Norm x)
      --ConvTranspose2d 3x3--> (B, 2 * num_spk, T, F) complex spectra --iSTFT--> num_spk waveforms

- Norm is RMSGroupNorm: the channels are split into groups, each scaled by its RMS.
- ConvSwiGLU is the "local modelling" FFN: a 1-D convolution (kernel K, stride S) along the
  sequence to 2H channels, a SwiGLU gate to H, and a transposed convolution back to D.
- MHSA uses rotary position embeddings (RoPE) on queries and keys.

Paper configuration (16 kHz): 6 layers, D = 128, 4 heads, H = 384, K = 4, S = 1, STFT 256/128.
As an ESPnet separator it takes the waveform (use ``encoder: same`` and ``decoder: same``) and
returns waveforms, like ESPnet's TF-GridNetV2.

With ``cond_dim > 0`` it is the single-stage baseline's extractor (relative-cues paper IV-C: the
separator with one output, conditioned on the prompt embedding): a FiLM layer
(:mod:`tse2.models.film`) modulates the channels before each block; see :meth:`extract`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from tse2.models.film import FiLM

try:  # ESPnet is the training framework; the model itself runs without it.
    from espnet2.enh.separator.abs_separator import AbsSeparator
except ImportError:  # pragma: no cover - espnet is part of the install
    AbsSeparator = nn.Module  # type: ignore[misc,assignment]


class RMSGroupNorm(nn.Module):
    """Normalizes groups of channels (last axis) by their RMS, then applies a per-channel affine."""

    def __init__(self, dim: int, num_groups: int, eps: float = 1e-5) -> None:
        super().__init__()
        if dim % num_groups != 0:
            raise ValueError(f"RMSGroupNorm: dim {dim} is not divisible by num_groups {num_groups}")
        self.num_groups, self.eps = num_groups, eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., D)
        shape = x.shape
        g = x.reshape(*shape[:-1], self.num_groups, shape[-1] // self.num_groups)
        g = g * torch.rsqrt(g.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return g.reshape(shape) * self.weight + self.bias


class RotaryEmbedding(nn.Module):
    """Rotary position embedding applied to (N, heads, L, head_dim) queries and keys."""

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2 != 0:
            raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-2]
        t = torch.arange(length, device=x.device, dtype=self.inv_freq.dtype)
        angles = torch.outer(t, self.inv_freq)  # L, head_dim/2
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
        return out.flatten(-2)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % n_heads != 0:
            raise ValueError(f"emb_dim {dim} is not divisible by n_heads {n_heads}")
        self.n_heads, self.dropout = n_heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.rope = RotaryEmbedding(dim // n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # N, L, D
        n, length, dim = x.shape
        q, k, v = self.qkv(x).view(n, length, 3, self.n_heads, dim // self.n_heads).permute(2, 0, 3, 1, 4)
        q, k = self.rope(q), self.rope(k)  # N, heads, L, head_dim
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(n, length, dim))


class ConvSwiGLU(nn.Module):
    """Conv1d (kernel K, stride S) → SwiGLU → ConvTranspose1d: an FFN that sees K neighbours."""

    def __init__(self, dim: int, hidden: int, kernel: int, shift: int, dropout: float = 0.0) -> None:
        super().__init__()
        if kernel < 1 or shift < 1 or shift > kernel:
            raise ValueError(f"need 1 <= conv1d_shift <= conv1d_kernel, got kernel {kernel}, shift {shift}")
        self.kernel, self.shift = kernel, shift
        self.conv = nn.Conv1d(dim, 2 * hidden, kernel, stride=shift)
        self.deconv = nn.ConvTranspose1d(hidden, dim, kernel, stride=shift)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # N, L, D
        length = x.shape[1]
        y = x.transpose(1, 2)  # N, D, L
        # pad so that every input frame is covered by the strided windows
        n_win = max(1, math.ceil((length - self.kernel) / self.shift) + 1)
        pad = (n_win - 1) * self.shift + self.kernel - length
        y = F.pad(y, (0, pad))
        a, b = self.conv(y).chunk(2, dim=1)
        y = self.deconv(self.dropout(F.silu(a) * b))  # N, D, >= L
        return self.dropout(y[..., :length].transpose(1, 2))


class MacaronLayer(nn.Module):
    """Half FFN, self-attention, half FFN along one axis, each pre-normed with a residual."""

    def __init__(self, dim: int, n_heads: int, ffn_hidden: int, kernel: int, shift: int, num_groups: int,
                 dropout: float, eps: float) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (RMSGroupNorm(dim, num_groups, eps) for _ in range(3))
        self.ffn1 = ConvSwiGLU(dim, ffn_hidden, kernel, shift, dropout)
        self.attn = MultiHeadSelfAttention(dim, n_heads, dropout)
        self.ffn2 = ConvSwiGLU(dim, ffn_hidden, kernel, shift, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # N, L, D
        x = x + 0.5 * self.ffn1(self.norm1(x))
        x = x + self.attn(self.norm2(x))
        return x + 0.5 * self.ffn2(self.norm3(x))


class TFLocoformerBlock(nn.Module):
    """A frequency-path layer (sequences over F per frame), then a time-path layer (over T)."""

    def __init__(self, **kw) -> None:
        super().__init__()
        self.freq = MacaronLayer(**kw)
        self.time = MacaronLayer(**kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B, D, T, F
        b, d, t, f = x.shape
        y = x.permute(0, 2, 3, 1).reshape(b * t, f, d)  # frequency path
        y = self.freq(y).view(b, t, f, d)
        y = y.permute(0, 2, 1, 3).reshape(b * f, t, d)  # time path
        y = self.time(y).view(b, f, t, d)
        return y.permute(0, 3, 2, 1)  # B, D, T, F


class TFLocoformerSeparator(AbsSeparator):
    """TF-Locoformer speech separator (waveform in, ``num_spk`` waveforms out).

    Args:
        input_dim: the ESPnet encoder's output size; unused (the model does its own STFT).
        num_spk: number of output sources.
        n_fft: STFT size; hop_length: STFT hop (paper, 16 kHz: 256 / 128).
        n_layers: TF-Locoformer blocks (each a frequency and a time macaron layer).
        emb_dim: channels D; n_heads: attention heads (D % n_heads == 0, D / n_heads even).
        ffn_hidden_dim: H of the ConvSwiGLU FFNs; conv1d_kernel, conv1d_shift: their K and S.
        num_groups: groups of RMSGroupNorm (D % num_groups == 0).
        dropout: dropout in FFNs and attention; eps: norm epsilon.
        cond_dim: size of a conditioning embedding for FiLM before each block (0: none, a separator).
    """

    def __init__(
        self,
        input_dim: int = 0,
        num_spk: int = 2,
        n_fft: int = 256,
        hop_length: int = 128,
        n_layers: int = 6,
        emb_dim: int = 128,
        n_heads: int = 4,
        ffn_hidden_dim: int = 384,
        conv1d_kernel: int = 4,
        conv1d_shift: int = 1,
        num_groups: int = 4,
        dropout: float = 0.0,
        eps: float = 1.0e-5,
        cond_dim: int = 0,
    ) -> None:
        super().__init__()
        if num_spk < 1 or n_layers < 1:
            raise ValueError(f"need num_spk >= 1 and n_layers >= 1, got {num_spk}, {n_layers}")
        if hop_length < 1 or hop_length > n_fft:
            raise ValueError(f"need 1 <= hop_length <= n_fft, got {hop_length}, {n_fft}")
        self.config = dict(num_spk=num_spk, n_fft=n_fft, hop_length=hop_length, n_layers=n_layers,
                           emb_dim=emb_dim, n_heads=n_heads, ffn_hidden_dim=ffn_hidden_dim,
                           conv1d_kernel=conv1d_kernel, conv1d_shift=conv1d_shift, num_groups=num_groups,
                           dropout=dropout, eps=eps, cond_dim=cond_dim)
        self._num_spk, self.n_fft, self.hop_length = num_spk, n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.conv = nn.Conv2d(2, emb_dim, kernel_size=3, padding=1)
        self.blocks = nn.ModuleList(
            TFLocoformerBlock(dim=emb_dim, n_heads=n_heads, ffn_hidden=ffn_hidden_dim, kernel=conv1d_kernel,
                              shift=conv1d_shift, num_groups=num_groups, dropout=dropout, eps=eps)
            for _ in range(n_layers)
        )
        self.deconv = nn.ConvTranspose2d(emb_dim, 2 * num_spk, kernel_size=3, padding=1)
        self.cond_dim = cond_dim
        self.film = nn.ModuleList(FiLM(cond_dim, emb_dim) for _ in range(n_layers)) if cond_dim > 0 else None

    @property
    def num_spk(self) -> int:
        return self._num_spk

    def separate(self, mixture: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, N) waveform [+ (B, cond_dim) condition] → (B, num_spk, N) waveforms."""
        if (cond is None) != (self.film is None):
            raise ValueError("a condition is needed exactly when cond_dim > 0 "
                             f"(cond_dim {self.cond_dim}, condition {'given' if cond is not None else 'missing'})")
        if mixture.dim() != 2:
            raise ValueError(f"expected a (batch, samples) waveform, got shape {tuple(mixture.shape)}")
        n = mixture.shape[-1]
        std = mixture.std(dim=-1, keepdim=True).clamp_min(1e-8)  # B, 1
        spec = torch.stft(mixture / std, self.n_fft, self.hop_length, window=self.window, return_complex=True)
        x = torch.stack((spec.real, spec.imag), dim=1).transpose(2, 3)  # B, 2, T, F
        x = self.conv(x)  # B, D, T, F
        for k, block in enumerate(self.blocks):
            if self.film is not None:
                x = self.film[k](x, cond)  # B, D, T, F: per channel, constant over time and frequency
            x = block(x)
        x = self.deconv(x)  # B, 2 * num_spk, T, F
        b, _, t, f = x.shape
        x = x.view(b * self.num_spk, 2, t, f).transpose(2, 3)  # B*S, 2, F, T
        est = torch.complex(x[:, 0].float(), x[:, 1].float())
        wav = torch.istft(est, self.n_fft, self.hop_length, window=self.window.float(), length=n)
        return wav.view(b, self.num_spk, n) * std.unsqueeze(1)

    def extract(self, mixture: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The single-stage extractor: (B, N) mixture, (B, cond_dim) prompt embedding → (B, N) target."""
        return self.separate(mixture, cond)[:, 0]

    def forward(
        self, input: torch.Tensor, ilens: torch.Tensor, additional: Optional[Dict] = None
    ) -> Tuple[List[torch.Tensor], torch.Tensor, OrderedDict]:
        """ESPnet interface: input (B, N) waveform (``encoder: same``) → ([(B, N)] * num_spk, ilens, {})."""
        if torch.is_complex(input) or input.dim() != 2:
            raise ValueError("tf_locoformer takes the waveform: set `encoder: same` and `decoder: same`")
        out = self.separate(input)
        return [out[:, k] for k in range(self.num_spk)], ilens, OrderedDict()
