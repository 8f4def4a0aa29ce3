"""The text-guided target classifier (paper section III, stage 2) as an ESPnet model.

For a (mixture, cue) example with candidates ŝ1, ŝ2 (the separator's outputs, or the reverberant
references in the clean-oracle mode):

    z_j = SpeechEncoder(ŝ_j)            z_p = TextEncoder(prompt)   or SpeechEncoder(enrollment)
    sim_j = cos(z_p, z_j)               logit = sim_1 − sim_2
    ŷ = σ(logit / T), T = 0.2           loss = BCE(ŷ, y), y = 1 if ŝ1 is the target

and inference picks the candidate with the higher similarity.  Candidates (and the enrollment)
go through the speech encoder as one batch.

Four options go beyond the paper (``model_conf``; each measured in the recipe README):

- ``relative: true`` compares the cue with what tells the candidates apart: each candidate's
  embedding minus the pair's mean, so sim_1 = cos(z_p, z1 − z2) = −sim_2.  A relative cue ("the
  higher voice") describes exactly that difference, and a signal's identity, which a head over
  frozen features can memorise, cancels.
- ``split`` > 0 scores two blocks of the embeddings apart: the last ``split`` dimensions (the speech
  encoder's ``bypass`` of level and prosody statistics) and the rest each give a cosine, mixed by a
  gate g = σ(w·z_p + b) that the prompt sets: sim_j = (1 − g)·cos(head) + g·cos(statistics).  A
  prompt about pitch can then rest on the F0 difference alone instead of a 256-d cosine in
  which a few statistics are drowned.
- ``aux_weight`` > 0 adds :mod:`tse2.models.aux`'s loss: each candidate's own attributes
  (gender, language, emotion, F0, level, ...) predicted from z_j, when the data has ``attr1`` and
  ``attr2`` (stage 7's example lists write them).
- ``readout: true`` adds to the logit a comparison of the candidates' attributes a_j: the
  auxiliary heads' predictions (class probabilities and values, with ``aux_weight``) and the
  statistics block (with ``split``), compared by a dot product, not a cosine, so that a small
  level difference is not drowned by a large onset difference.  For a text prompt,
  w_p · (a_1 − a_2) with w_p = W z_p, so the prompt only has to say which attribute and which
  direction ("louder": + level) in a basis the auxiliary loss anchors; for an enrollment,
  w · (|a_e − a_2| − |a_e − a_1|), the candidate whose attributes match.  W and w start at zero,
  so training starts from the cosine model.  Sims become sim_j ± T·r/2 (r the readout term), so
  the loss σ((sim_1 − sim_2) / T) sees logit / T + r.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from tse2.models.aux import AuxHeads, aux_loss
from tse2.models.backbones import SAMPLE_RATE
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
        relative: compare the cue with the candidates' difference (see the module docstring).
        aux_weight: weight of the auxiliary attribute loss (0: none).
        aux_value_weight: weight of its value regressions against its class cross-entropies.
        split: size of the trailing embedding block scored apart, with a gate (0: one cosine).
        readout: add the comparison of the candidates' predicted attributes (needs aux_weight).
    """

    def __init__(self, speech_encoder: SpeechEncoder, text_encoder: Optional[TextEncoder], cue: str = "text",
                 temperature: float = 0.2, relative: bool = False, aux_weight: float = 0.0,
                 aux_value_weight: float = 1.0, split: int = 0, readout: bool = False) -> None:
        super().__init__()
        if cue not in ("text", "enroll"):
            raise ValueError(f"cue must be text or enroll, got {cue!r}")
        if cue == "text" and text_encoder is None:
            raise ValueError("the text classifier needs a text encoder")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.speech_encoder, self.text_encoder = speech_encoder, text_encoder
        if aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0, got {aux_weight}")
        self.cue, self.temperature, self.relative, self.aux_weight = cue, temperature, relative, aux_weight
        self.aux = AuxHeads(speech_encoder.output_size, aux_value_weight) if aux_weight > 0 else None
        if not 0 <= split < speech_encoder.output_size:
            raise ValueError(f"split must be in [0, {speech_encoder.output_size}), got {split}")
        self.split = split
        self.gate = torch.nn.Linear(speech_encoder.output_size, 1) if split else None
        self.readout = None
        if readout:
            if self.aux is None and not split:
                raise ValueError("readout compares the candidates' predicted attributes or their statistics "
                                 "block: set aux_weight > 0 or split > 0")
            n = (self.aux.feature_size if self.aux is not None else 0) + split
            if cue == "text":  # the prompt's embedding → a weight per attribute
                self.readout = torch.nn.Linear(speech_encoder.output_size, n)
            else:  # one learned weight per attribute match
                self.readout = torch.nn.Linear(n, 1, bias=False)
            for p in self.readout.parameters():
                torch.nn.init.zeros_(p)

    def embed(self, cand1: torch.Tensor, cand1_lengths: torch.Tensor, cand2: torch.Tensor,
              cand2_lengths: torch.Tensor, prompt: Optional[torch.Tensor] = None,
              prompt_lengths: Optional[torch.Tensor] = None, enroll: Optional[torch.Tensor] = None,
              enroll_lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_cue, z1, z2) for a batch, the candidates as compared (centred with ``relative``)."""
        z_cue, z1, z2 = self.embed_raw(cand1, cand1_lengths, cand2, cand2_lengths, prompt, prompt_lengths,
                                       enroll, enroll_lengths)
        return (z_cue,) + self.compared(z1, z2)

    def compared(self, z1: torch.Tensor, z2: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if not self.relative:
            return z1, z2
        mean = 0.5 * (z1 + z2)
        return z1 - mean, z2 - mean

    def embed_raw(self, cand1, cand1_lengths, cand2, cand2_lengths, prompt=None, prompt_lengths=None,
                  enroll=None, enroll_lengths=None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_cue, z1, z2): each candidate's own embedding."""
        wavs, lens = [cand1, cand2], [cand1_lengths, cand2_lengths]
        if self.cue == "enroll":
            if enroll is None:
                raise ValueError("the enrollment classifier needs `enroll` audio in its data")
            wavs.append(enroll)
            lens.append(enroll_lengths)
        n = max(w.shape[1] for w in wavs)
        long_s = getattr(self.speech_encoder, "LONG_S", None)
        if not self.training and long_s is not None and n > long_s * SAMPLE_RATE:
            # hour-long talkers: each one on its own (no padded copy of both), in pieces
            z = [self.speech_encoder(w, l) for w, l in zip(wavs, lens)]
        else:
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

    def score(self, z_cue: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor):
        """(sim1, sim2, logit) of compared embeddings: one cosine, or two gated blocks (``split``)."""
        if not self.split:
            return pair_logit(z_cue, z1, z2)
        k = self.split
        h1, h2, logit_h = pair_logit(z_cue[:, :-k], z1[:, :-k], z2[:, :-k])
        s1, s2, logit_s = pair_logit(z_cue[:, -k:], z1[:, -k:], z2[:, -k:])
        g = torch.sigmoid(self.gate(z_cue))[:, 0]
        return (1 - g) * h1 + g * s1, (1 - g) * h2 + g * s2, (1 - g) * logit_h + g * logit_s

    def readout_term(self, z_cue: torch.Tensor, raw1: torch.Tensor, raw2: torch.Tensor) -> torch.Tensor:
        """r: the comparison of the candidates' predicted attributes (see the module docstring)."""
        a1, a2 = self.attributes(raw1), self.attributes(raw2)
        if self.cue == "text":
            return (self.readout(z_cue) * (a1 - a2)).sum(-1)
        a_e = self.attributes(z_cue)
        return self.readout((a_e - a2).abs() - (a_e - a1).abs())[:, 0]

    def attributes(self, z: torch.Tensor) -> torch.Tensor:
        """What the readout compares: the auxiliary heads' predictions and the statistics block
        (a linear map of the measured statistics, so a dot product with it is linear in them)."""
        parts = [self.aux.features(z)] if self.aux is not None else []
        if self.split:
            parts.append(z[:, -self.split:])
        return torch.cat(parts, dim=-1)

    def scores(self, z_cue: torch.Tensor, raw1: torch.Tensor, raw2: torch.Tensor):
        """(sim1, sim2, logit) from the cue's and the candidates' own embeddings."""
        sim1, sim2, logit = self.score(z_cue, *self.compared(raw1, raw2))
        if self.readout is None:
            return sim1, sim2, logit
        r = self.temperature * self.readout_term(z_cue, raw1, raw2)
        return sim1 + 0.5 * r, sim2 - 0.5 * r, logit + r

    def similarities(self, **batch) -> Tuple[torch.Tensor, torch.Tensor]:
        z_cue, z1, z2 = self.embed_raw(**{k: v for k, v in batch.items() if k.startswith(("cand", "prompt", "enroll"))})
        sim1, sim2, _ = self.scores(z_cue, z1, z2)
        return sim1, sim2

    def forward(self, cand1: torch.Tensor, cand1_lengths: torch.Tensor, cand2: torch.Tensor,
                cand2_lengths: torch.Tensor, label: torch.Tensor, label_lengths: Optional[torch.Tensor] = None,
                **kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        attrs = [kwargs.get("attr1"), kwargs.get("attr2")]
        kwargs = {k: v for k, v in kwargs.items() if k.startswith(("prompt", "enroll"))}  # not utt_id
        z_cue, raw1, raw2 = self.embed_raw(cand1, cand1_lengths, cand2, cand2_lengths, **kwargs)
        _, _, logit = self.scores(z_cue, raw1, raw2)
        label = label.view(-1)
        loss = pair_loss(logit, label, self.temperature)
        acc = ((logit > 0).long() == label).float().mean()
        stats = dict(acc=acc.detach())
        if self.aux is not None:
            extra, aux_stats = aux_loss(self.aux, [raw1, raw2], attrs)
            if extra is not None:
                stats.update(pair_loss=loss.detach(), aux_loss=extra.detach(), **aux_stats)
                loss = loss + self.aux_weight * extra
        stats["loss"] = loss.detach()
        batch_size = torch.tensor(cand1.shape[0], device=cand1.device)
        # 1-dim, as ESPnet's trainer needs under DDP (recursive_average) and DataParallel
        return force_gatherable((loss, stats, batch_size), loss.device)

    def collect_feats(self, **batch) -> Dict[str, torch.Tensor]:
        return {}
