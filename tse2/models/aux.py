"""Auxiliary attribute targets of the classifier: each candidate's own talker attributes.

Beyond the relative-cue paper (the expressive-retrieval paper's auxiliary style classifier is the
same idea).  Trained only on the pair loss, a head over frozen pretrained features memorises its
few hundred training signals instead of learning what the prompts describe (measured in
``bench/results/speech_encoders``).  Predicting each candidate's gender, language and emotion
(cross-entropy) and its F0, level, distance, age, onset, rate and duration (MSE) from its
embedding z_j keeps those attributes in the embedding.

An attribute vector is ``len(CLASSES) + len(VALUES)`` numbers, written by stage 7's example lists
(``attr1``/``attr2``, ``text_float``) from ``mixtures.jsonl``: class indices (−1 when unknown)
then values on the fixed scales below (NaN when unknown).  Unknown entries add no loss.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("gender", ("f", "m")),
    ("lang", ("en", "fr", "de", "es", "zh", "it", "ru", "ja", "ko", "pt", "nl", "pl")),
    ("emotion", ("neutral", "happy", "sad", "angry", "surprised", "disgusted", "fearful", "whisper")),
)
# mixtures.jsonl field → a scale that puts the corpus's values roughly in [−2, 2]
VALUES: Tuple[Tuple[str, object], ...] = (
    ("f0_mean", lambda x: math.log2(x / 150.0) if x > 0 else math.nan),
    ("f0_span", lambda x: math.log2(x / 50.0) if x > 0 else math.nan),
    ("rms_db", lambda x: (x + 25.0) / 5.0),
    ("distance", lambda x: x - 1.5),
    ("age", lambda x: (x - 45.0) / 20.0),
    ("onset", lambda x: x - 1.0),
    ("speaking_rate", lambda x: math.log2(x / 250.0) if x > 0 else math.nan),
    ("speaking_duration", lambda x: (x - 3.5) / 1.5),
)
SIZE = len(CLASSES) + len(VALUES)


def attribute_vector(side: Mapping) -> List[float]:
    """A ``mixtures.jsonl`` talker record (``s1``/``s2``) → its attribute vector."""
    out: List[float] = []
    for field, names in CLASSES:
        out.append(float(names.index(side[field])) if side.get(field) in names else -1.0)
    for field, scale in VALUES:
        x = side.get(field)
        try:
            out.append(float(scale(float(x))) if x is not None else math.nan)
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


class AuxHeads(nn.Module):
    """Linear heads on z_j: one classifier per class attribute (cross-entropies summed), one
    regression for the values (mean squared error over the known ones, times ``value_weight``)."""

    def __init__(self, dim: int, value_weight: float = 1.0) -> None:
        super().__init__()
        self.value_weight = value_weight
        self.cls = nn.ModuleDict({field: nn.Linear(dim, len(names)) for field, names in CLASSES})
        self.reg = nn.Linear(dim, len(VALUES))

    def forward(self, z: torch.Tensor, attr: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """(B, D) embeddings and (B, SIZE) attribute vectors → (loss, per-attribute stats)."""
        if attr.shape[-1] != SIZE:
            raise ValueError(f"attribute vectors have {attr.shape[-1]} numbers, expected {SIZE} "
                             "(rerun stage 7's example lists)")
        loss, stats = z.new_zeros(()), {}
        for i, (field, names) in enumerate(CLASSES):
            y = attr[:, i].round().long()
            known = y >= 0
            if known.any():
                logits = self.cls[field](z[known])
                term = F.cross_entropy(logits, y[known])
                loss = loss + term
                stats[f"aux_{field}_acc"] = (logits.argmax(-1) == y[known]).float().mean().detach()
        v = attr[:, len(CLASSES):]
        known = torch.isfinite(v)
        if known.any():
            pred = self.reg(z)
            err = (pred - torch.nan_to_num(v)).pow(2) * known
            loss = loss + self.value_weight * err.sum() / known.sum().clamp_min(1)
        return loss, stats

    @property
    def feature_size(self) -> int:
        return sum(len(names) for _, names in CLASSES) + len(VALUES)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) embeddings → (B, feature_size) predicted attributes: each class attribute's
        probabilities, then the values (the ``readout`` of :class:`TargetClassifier` compares them)."""
        parts = [self.cls[field](z).softmax(-1) for field, _ in CLASSES]
        return torch.cat(parts + [self.reg(z)], dim=-1)


def aux_loss(heads: Optional[AuxHeads], z: List[torch.Tensor], attrs: List[Optional[torch.Tensor]]):
    """Mean auxiliary loss over the candidates that have attribute vectors (None: no loss)."""
    if heads is None:
        return None, {}
    terms, stats = [], {}
    for zj, a in zip(z, attrs):
        if a is not None:
            loss, s = heads(zj, a.to(zj.dtype).view(zj.shape[0], -1))
            terms.append(loss)
            for k, v in s.items():
                stats[k] = stats.get(k, 0.0) + v / len(z)
    if not terms:
        return None, {}
    return sum(terms) / len(terms), stats
