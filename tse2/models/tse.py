"""The single-stage baseline: one model maps (mixture, prompt) to the target (relative-cues paper
IV-C), trained with negative SI-SDR against the reference target.

    prompt --TextEncoder (LoRA, pooled, projected)--> z_p (B, cond_dim)
    mixture, z_p --extractor (FiLM before each block)--> target estimate (B, N)

The extractor is TF-Locoformer with one output (:class:`TFLocoformerSeparator` with ``num_spk: 1``
and ``cond_dim``) or the dual-path transformer (:class:`tse2.models.dpt.DPTExtractor`).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

try:
    from espnet2.torch_utils.device_funcs import force_gatherable
    from espnet2.train.abs_espnet_model import AbsESPnetModel
except ImportError:  # pragma: no cover - espnet is part of the install
    AbsESPnetModel = torch.nn.Module  # type: ignore[misc,assignment]

    def force_gatherable(data, device):  # type: ignore[misc]  # only ESPnet's trainer needs 1-dim outputs
        return data


PROMPT_PAD = -1  # right-padding of prompt ids (a value no tokenizer produces)


def pad_prompt(ids: Sequence[int], width: int) -> np.ndarray:
    """Token ids → int64 array right-padded with ``PROMPT_PAD`` to ``width``: batches stack prompts
    (ESPnet's chunk iterator too), and :func:`unpad_prompt` recovers each prompt's length."""
    ids = np.asarray(ids, dtype=np.int64)
    return np.pad(ids, (0, width - len(ids)), constant_values=PROMPT_PAD)


def full_lengths(x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``lengths``, or the full width of each (B, N) row (ESPnet's chunk iterator gives no lengths)."""
    if lengths is not None:
        return lengths
    return torch.full((x.shape[0],), x.shape[1], device=x.device)


def si_sdr(est: torch.Tensor, ref: torch.Tensor, lengths: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero-mean SI-SDR in dB of each (B, N) row over its first ``lengths`` samples."""
    mask = (torch.arange(est.shape[-1], device=est.device)[None] < lengths[:, None]).to(est.dtype)
    n = mask.sum(-1, keepdim=True).clamp_min(1.0)
    est = (est - (est * mask).sum(-1, keepdim=True) / n) * mask
    ref = (ref - (ref * mask).sum(-1, keepdim=True) / n) * mask
    proj = (est * ref).sum(-1, keepdim=True) / ((ref * ref).sum(-1, keepdim=True) + eps) * ref
    return 10 * torch.log10(((proj ** 2).sum(-1) + eps) / (((est - proj) ** 2).sum(-1) + eps))


def unpad_prompt(prompt: torch.Tensor, prompt_lengths: Optional[torch.Tensor] = None
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(B, L) prompt ids right-padded with ``PROMPT_PAD`` → (ids with the padding cut to the longest
    prompt and zeroed, lengths); without padding, ``prompt_lengths`` or the full width."""
    if (prompt == PROMPT_PAD).any():
        prompt_lengths = (prompt != PROMPT_PAD).sum(1)
        return prompt[:, : int(prompt_lengths.max())].clamp_min(0), prompt_lengths
    return prompt, full_lengths(prompt, prompt_lengths)


class TextConditionedTSE(AbsESPnetModel):
    """ESPnet model of the single-stage baseline: ``extractor`` conditioned by ``text_encoder``."""

    def __init__(self, extractor: torch.nn.Module, text_encoder: torch.nn.Module) -> None:
        super().__init__()
        if getattr(extractor, "cond_dim", 0) < 1:
            raise ValueError("the single-stage extractor needs cond_dim > 0 (its FiLM conditioning)")
        self.extractor, self.text_encoder = extractor, text_encoder

    def extract(self, speech_mix: torch.Tensor, speech_mix_lengths: Optional[torch.Tensor], prompt: torch.Tensor,
                prompt_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, N) mixture, (B, L) prompt token ids → (B, N) target estimate.  Ids of ``PROMPT_PAD``
        (-1) are padding; when present they define each prompt's length (see tasks/tse.py)."""
        prompt, prompt_lengths = unpad_prompt(prompt, prompt_lengths)
        return self.extractor.extract(speech_mix, self.text_encoder(prompt, prompt_lengths))

    def forward(self, speech_mix: torch.Tensor, speech_ref1: torch.Tensor, prompt: torch.Tensor,
                speech_mix_lengths: Optional[torch.Tensor] = None, prompt_lengths: Optional[torch.Tensor] = None,
                **kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """ESPnet's training step (the chunk iterator gives no ``*_lengths``: equal-length chunks)."""
        speech_mix_lengths = full_lengths(speech_mix, speech_mix_lengths)
        est = self.extract(speech_mix, speech_mix_lengths, prompt, prompt_lengths)
        score = si_sdr(est, speech_ref1, speech_mix_lengths)
        loss = -score.mean()
        batch_size = torch.tensor(speech_mix.shape[0], device=speech_mix.device)
        # 1-dim, as ESPnet's trainer needs under DDP (recursive_average) and DataParallel
        return force_gatherable((loss, dict(loss=loss.detach(), si_sdr=score.mean().detach()), batch_size),
                                loss.device)

    def collect_feats(self, **batch) -> Dict[str, torch.Tensor]:
        return {}
