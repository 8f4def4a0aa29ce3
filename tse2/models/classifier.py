"""The text-guided target classifier (paper section III, stage 2) as an ESPnet model.

For a (mixture, cue) example with candidates ŝ1, ŝ2 (the separator's outputs, or the reverberant
references in the clean-oracle mode):

    z_j = SpeechEncoder(ŝ_j)            z_p = TextEncoder(prompt)   or SpeechEncoder(enrollment)
    sim_j = cos(z_p, z_j)               logit = sim_1 − sim_2
    ŷ = σ(logit / T), T = 0.2           loss = BCE(ŷ, y), y = 1 if ŝ1 is the target

and inference picks the candidate with the higher similarity.  Candidates (and the enrollment)
go through the speech encoder as one batch.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from espnet2.train.abs_espnet_model import AbsESPnetModel

from tse2.models.encoders import SpeechEncoder, TextEncoder


def pair_logit(z_cue: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cosine similarities of the cue embedding to both candidates and their difference."""
    sim1 = F.cosine_similarity(z_cue, z1, dim=-1)
    sim2 = F.cosine_similarity(z_cue, z2, dim=-1)
    return sim1, sim2, sim1 - sim2


def pair_loss(logit: torch.Tensor, label: torch.Tensor, temperature: float) -> torch.Tensor:
    """BCE between σ(logit / T) and the label (1: candidate 1 is the target)."""
    return F.binary_cross_entropy_with_logits(logit / temperature, label.float())


class TargetClassifier(AbsESPnetModel):
    """Picks which of two candidates a text prompt (or an enrollment utterance) describes.

    Args:
        speech_encoder: embeds candidates (and the enrollment utterance).
        text_encoder: embeds prompts; None for the enrollment variant.
        cue: ``text`` (prompt token ids) or ``enroll`` (an utterance of the target speaker).
        temperature: T of σ(logit / T) (paper: 0.2).
    """

    def __init__(self, speech_encoder: SpeechEncoder, text_encoder: Optional[TextEncoder], cue: str = "text",
                 temperature: float = 0.2) -> None:
        super().__init__()
        if cue not in ("text", "enroll"):
            raise ValueError(f"cue must be text or enroll, got {cue!r}")
        if cue == "text" and text_encoder is None:
            raise ValueError("the text classifier needs a text encoder")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.speech_encoder, self.text_encoder = speech_encoder, text_encoder
        self.cue, self.temperature = cue, temperature

    def embed(self, cand1: torch.Tensor, cand1_lengths: torch.Tensor, cand2: torch.Tensor,
              cand2_lengths: torch.Tensor, prompt: Optional[torch.Tensor] = None,
              prompt_lengths: Optional[torch.Tensor] = None, enroll: Optional[torch.Tensor] = None,
              enroll_lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_cue, z1, z2) for a batch."""
        wavs, lens = [cand1, cand2], [cand1_lengths, cand2_lengths]
        if self.cue == "enroll":
            if enroll is None:
                raise ValueError("the enrollment classifier needs `enroll` audio in its data")
            wavs.append(enroll)
            lens.append(enroll_lengths)
        n = max(w.shape[1] for w in wavs)
        batch, lengths = torch.cat([F.pad(w, (0, n - w.shape[1])) for w in wavs]), torch.cat(lens)
        z = self.encode_unique(batch, lengths).chunk(len(wavs))
        if self.cue == "enroll":
            return z[2], z[0], z[1]
        if prompt is None:
            raise ValueError("the text classifier needs `prompt` token ids in its data")
        return self.text_encoder(prompt, prompt_lengths), z[0], z[1]

    def encode_unique(self, wavs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Speech embeddings of (B, N) waveforms, each distinct waveform encoded once.

        The prompts of one mixture share its candidates, and example lists keep them together, so a
        batch of 24 (mixture, prompt) examples typically holds only a handful of distinct waveforms.
        """
        keyed = torch.cat([wavs, lengths[:, None].to(wavs.dtype)], dim=1)
        unique, inverse = torch.unique(keyed, dim=0, return_inverse=True)
        if unique.shape[0] == wavs.shape[0]:
            return self.speech_encoder(wavs, lengths)
        z = self.speech_encoder(unique[:, :-1], unique[:, -1].round().long())
        return z[inverse]

    def similarities(self, **batch) -> Tuple[torch.Tensor, torch.Tensor]:
        z_cue, z1, z2 = self.embed(**{k: v for k, v in batch.items() if k.startswith(("cand", "prompt", "enroll"))})
        sim1, sim2, _ = pair_logit(z_cue, z1, z2)
        return sim1, sim2

    def forward(self, cand1: torch.Tensor, cand1_lengths: torch.Tensor, cand2: torch.Tensor,
                cand2_lengths: torch.Tensor, label: torch.Tensor, label_lengths: Optional[torch.Tensor] = None,
                **kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        kwargs = {k: v for k, v in kwargs.items() if k.startswith(("prompt", "enroll"))}  # not utt_id
        z_cue, z1, z2 = self.embed(cand1, cand1_lengths, cand2, cand2_lengths, **kwargs)
        _, _, logit = pair_logit(z_cue, z1, z2)
        label = label.view(-1)
        loss = pair_loss(logit, label, self.temperature)
        acc = ((logit > 0).long() == label).float().mean()
        batch_size = torch.tensor(cand1.shape[0], device=cand1.device)
        return loss, dict(loss=loss.detach(), acc=acc.detach()), batch_size

    def collect_feats(self, **batch) -> Dict[str, torch.Tensor]:
        return {}
