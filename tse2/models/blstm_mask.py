"""A frame-level BLSTM that estimates a complex ratio mask per talker: a separator for the CPU.

uPIT-BLSTM (Kolbæk et al., 2017) brought up to date, written for tse2: the recurrence runs over
STFT frames, one vector per frame, so its cost grows with the frame rate and not with the number
of time-frequency bins (TF-Locoformer, TF-GridNet and BSRNN run a network over every bin or
band).  That is what makes it learn on a 2-core CPU, where those do not (``bench/
separator_learning.py``).  Three changes from the 2017 recipe, each a known remedy:

- features are compressed and level-free: ``log1p(|X| / mean|X|)``, so that loud and quiet
  mixtures look alike (ESPnet's ``rnn`` separator feeds the linear magnitude);
- the mask is complex and bounded (the "E" mask of DCCRN: magnitude ``tanh |m|``, free phase), so
  the output's phase is not the mixture's: it matters with reverberant targets;
- it is trained end to end on the waveform, PIT with negative SI-SNR, like every tse2 separator.

    input (B, T, F) complex STFT  --log1p(|X| / mean|X|)-->  (B, T, F)
      --Linear + LayerNorm--> (B, T, H)  --layers x BLSTM(H per direction), residual--> (B, T, 2H)
      --Linear--> (B, T, num_spk, 2, F) --> complex masks m_k, |m_k| <= 1  --> [X * m_k]

Use it with ESPnet's ``encoder: stft`` and ``decoder: stft``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

try:  # ESPnet is the training framework; the model itself runs without it.
    from espnet2.enh.separator.abs_separator import AbsSeparator
except ImportError:  # pragma: no cover - espnet is part of the install
    AbsSeparator = nn.Module  # type: ignore[misc,assignment]


class BLSTMMaskSeparator(AbsSeparator):
    """Complex-mask BLSTM separator over STFT frames.

    Args:
        input_dim: frequency bins of the STFT encoder (n_fft // 2 + 1).
        num_spk: number of output sources.
        hidden: LSTM units per direction (the input projection has as many).
        layers: stacked BLSTM layers; from the second on, each adds its input (residual).
        dropout: dropout between layers.
        mask: ``complex`` (bounded complex ratio mask) or ``magnitude`` (sigmoid mask on |X|,
            the mixture's phase: the 2017 uPIT-BLSTM).
    """

    def __init__(
        self,
        input_dim: int,
        num_spk: int = 2,
        hidden: int = 256,
        layers: int = 3,
        dropout: float = 0.0,
        mask: str = "complex",
    ) -> None:
        super().__init__()
        if input_dim < 2:
            raise ValueError(f"blstm_mask needs a complex STFT encoder (input_dim = bins), got {input_dim}")
        if num_spk < 1 or layers < 1 or hidden < 1:
            raise ValueError(f"need num_spk, layers, hidden >= 1, got {num_spk}, {layers}, {hidden}")
        if mask not in ("complex", "magnitude"):
            raise ValueError(f"mask must be 'complex' or 'magnitude', got {mask!r}")
        self._num_spk, self.mask, self.bins = num_spk, mask, input_dim
        self.proj = nn.Sequential(nn.Linear(input_dim, hidden), nn.LayerNorm(hidden))
        self.rnns = nn.ModuleList(
            nn.LSTM(hidden if k == 0 else 2 * hidden, hidden, batch_first=True, bidirectional=True)
            for k in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        per_bin = 2 if mask == "complex" else 1
        self.out = nn.Linear(2 * hidden, num_spk * per_bin * input_dim)

    @property
    def num_spk(self) -> int:
        return self._num_spk

    def forward(
        self, input: torch.Tensor, ilens: torch.Tensor, additional: Optional[Dict] = None
    ) -> Tuple[List[torch.Tensor], torch.Tensor, OrderedDict]:
        """input (B, T, F) complex STFT, ilens (B,) frames → ([(B, T, F) complex] * num_spk, ilens, masks)."""
        if not torch.is_complex(input) or input.dim() != 3:
            raise ValueError("blstm_mask takes a complex (B, T, F) spectrum: set `encoder: stft` and `decoder: stft`")
        b, t, f = input.shape
        if f != self.bins:
            raise ValueError(f"blstm_mask was built for {self.bins} bins, got {f}")
        mag = input.abs()  # B, T, F
        valid = (torch.arange(t, device=input.device)[None] < ilens[:, None].to(input.device))  # B, T
        scale = (mag * valid[..., None]).sum(dim=(1, 2)) / (ilens.to(mag.dtype) * f).clamp_min(1)
        x = self.proj(torch.log1p(mag / scale.clamp_min(1e-8)[:, None, None]))  # B, T, H
        lengths = ilens.detach().cpu().clamp(min=1, max=t)
        for k, rnn in enumerate(self.rnns):
            if t > 1 and bool((lengths < t).any()):
                packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                y, _ = rnn(packed)
                y, _ = pad_packed_sequence(y, batch_first=True, total_length=t)
            else:
                y, _ = rnn(x)
            y = self.dropout(y)
            x = y if k == 0 else x + y  # B, T, 2H
        z = self.out(x)
        others = OrderedDict()
        masked = []
        if self.mask == "complex":
            z = z.view(b, t, self.num_spk, 2, f)
            raw = torch.complex(z[:, :, :, 0].float(), z[:, :, :, 1].float())  # B, T, S, F
            mod = raw.abs()
            masks = raw * (torch.tanh(mod) / mod.clamp_min(1e-8))  # |m| = tanh |raw|, phase kept
        else:
            masks = torch.sigmoid(z.view(b, t, self.num_spk, f))
        for k in range(self.num_spk):
            m = masks[:, :, k]
            others[f"mask_spk{k + 1}"] = m
            masked.append(input * m)
        return masked, ilens, others
