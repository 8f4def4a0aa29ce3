"""Expressive speech retrieval: speech and style prompts in one joint space (the third seed system).

The paper's model: a speech encoder and a text encoder, each projected into a 512-d space,
trained with a CLIP-style symmetric contrastive loss and a learnable temperature (initial
0.07), plus

- an auxiliary style classifier on the speech embeddings (2 layers, hidden 128, weight 0.5);
- a modality discriminator (2 layers, hidden 128, weight 0.1, its own learning rate) that sees
  speech and text embeddings through a gradient reversal layer, so the encoders learn to make
  the two modalities indistinguishable;
- the schedule: classification only for ``cls_only_epochs``, then contrastive (plus the
  auxiliary loss), and the discriminator from ``adversarial_from_epoch`` on.

``text_aux_weight`` (beyond the paper, 0 by default) puts the prompts' embeddings through the same
auxiliary classifier, so that the text projection learns each prompt's style region from the label
and not only from a batch's contrastive pairs.  Measured on the embedded recipe it did not help
wordings training never had (held-out grammar R@1 0.712 -> 0.665; README of the retrieval recipe,
issue 35): an ablation, kept so that the figure can be replayed.

``label_aware`` (beyond the paper, off by default) counts every same-style pair of a batch as a
positive in the contrastive loss. With 13 styles and 32 examples a batch nearly always holds
repeats, and the plain CLIP loss then pushes apart a speech clip and a prompt of the same style.
"""

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient is multiplied by ``-scale`` backward."""
    return _GradReverse.apply(x, scale)


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor,
                     labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Symmetric InfoNCE between L2-normalised rows of ``a`` and ``b`` (row i of each is a pair).

    With ``labels`` every pair of rows with the same label is a positive (the target is spread
    evenly over them).
    """
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = logit_scale * a @ b.t()
    if labels is None:
        target = torch.arange(a.shape[0], device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    same = (labels[:, None] == labels[None, :]).float()
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (torch.sum(-target * logits.log_softmax(1), 1).mean()
                  + torch.sum(-target * logits.t().log_softmax(1), 1).mean())


def _mlp(inp: int, hidden: int, out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, out))


class StyleRetriever(AbsESPnetModel):
    """Speech and style-prompt embeddings in one space.

    Args:
        speech_encoder: a module with ``output_size`` mapping (wav, lengths) to (B, D).
        text_encoder: a module mapping (ids, lengths) to (B, embed_dim).
        num_styles: classes of the auxiliary classifier.
        embed_dim: the joint space (paper: 512).
        temperature: initial temperature of the contrastive logits (paper: 0.07; learnable).
        aux_weight, disc_weight: weights of the auxiliary and adversarial losses (0.5, 0.1).
        cls_only_epochs: epochs 1..N train the classifier only.
        adversarial_from_epoch: the discriminator joins from this epoch (0: never).
        label_aware: same-style pairs are positives too (see the module docstring).
        text_aux_weight: weight of the auxiliary classifier on the prompt embeddings (the module
            docstring; 0: the paper's, speech only).
    """

    def __init__(self, speech_encoder: nn.Module, text_encoder: nn.Module, num_styles: int, embed_dim: int = 512,
                 temperature: float = 0.07, aux_weight: float = 0.5, disc_weight: float = 0.1,
                 cls_only_epochs: int = 0, adversarial_from_epoch: int = 0, label_aware: bool = False,
                 hidden: int = 128, text_aux_weight: float = 0.0) -> None:
        super().__init__()
        if num_styles < 2:
            raise ValueError(f"retrieval needs at least 2 styles, got {num_styles}")
        if not 0 < temperature < 1:
            raise ValueError(f"temperature must be in (0, 1), got {temperature}")
        if cls_only_epochs and not aux_weight:
            raise ValueError("cls_only_epochs trains the auxiliary classifier alone: it needs aux_weight > 0")
        if text_aux_weight < 0 or (text_aux_weight and not aux_weight):
            raise ValueError(f"text_aux_weight {text_aux_weight} needs the auxiliary classifier (aux_weight > 0) "
                             "and must be >= 0")
        self.speech_encoder, self.text_encoder = speech_encoder, text_encoder
        self.speech_proj = nn.Linear(speech_encoder.output_size, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(1.0 / temperature).log())
        self.classifier = _mlp(embed_dim, hidden, num_styles) if aux_weight else None
        self.discriminator = _mlp(embed_dim, hidden, 1) if disc_weight else None
        self.aux_weight, self.disc_weight = aux_weight, disc_weight
        self.cls_only_epochs, self.adversarial_from_epoch = cls_only_epochs, adversarial_from_epoch
        self.label_aware, self.text_aux_weight = label_aware, text_aux_weight
        self.epoch = 10 ** 9  # after every schedule boundary unless a trainer says otherwise

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def embed_speech(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> torch.Tensor:
        return self.speech_proj(self.speech_encoder(speech, speech_lengths))

    def embed_text(self, prompt: torch.Tensor, prompt_lengths: torch.Tensor) -> torch.Tensor:
        return self.text_encoder(prompt, prompt_lengths)

    def _classify(self, z: torch.Tensor, style: torch.Tensor, stats: Dict[str, torch.Tensor],
                  suffix: str) -> torch.Tensor:
        """The auxiliary classifier's cross-entropy on ``z``; its loss and accuracy go into ``stats``
        as ``cls{suffix}`` and ``acc{suffix}``."""
        logits = self.classifier(z)
        ce = F.cross_entropy(logits, style)
        stats["cls" + suffix] = ce.detach()
        stats["acc" + suffix] = (logits.argmax(1) == style).float().mean().detach()
        return ce

    def forward(self, speech: torch.Tensor, speech_lengths: torch.Tensor, prompt: torch.Tensor,
                prompt_lengths: torch.Tensor, style: torch.Tensor, **kwargs
                ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        style = style.reshape(-1)
        zs = self.embed_speech(speech, speech_lengths)
        stats: Dict[str, torch.Tensor] = {}
        loss = zs.new_zeros(())
        if self.classifier is not None:
            loss = loss + self.aux_weight * self._classify(zs, style, stats, "")
        zt = self.embed_text(prompt, prompt_lengths)
        if self.text_aux_weight:
            loss = loss + self.text_aux_weight * self._classify(zt, style, stats, "_text")
        scale = self.logit_scale.exp().clamp(max=100.0)
        contrast = contrastive_loss(zs, zt, scale, style if self.label_aware else None)
        stats["contrast"], stats["temperature"] = contrast.detach(), (1.0 / scale).detach()
        sim = F.normalize(zs, dim=-1) @ F.normalize(zt, dim=-1).t()
        # does each clip's best prompt in the batch have the clip's style? (what valid selects on)
        stats["match"] = (style[sim.argmax(1)] == style).float().mean().detach()
        if self.epoch > self.cls_only_epochs:
            loss = loss + contrast
            if self.discriminator is not None and self.adversarial_from_epoch and \
                    self.epoch >= self.adversarial_from_epoch:
                both = grad_reverse(torch.cat([zs, zt]))
                target = torch.cat([torch.ones(len(zs)), torch.zeros(len(zt))]).to(zs)
                disc = F.binary_cross_entropy_with_logits(self.discriminator(both).squeeze(-1), target)
                loss = loss + self.disc_weight * disc
                stats["disc"] = disc.detach()
        stats["loss"] = loss.detach()
        return force_gatherable((loss, stats, torch.tensor(speech.shape[0])), loss.device)  # 1-dim, for DDP

    def collect_feats(self, **kwargs) -> Dict[str, torch.Tensor]:
        return {}


def read_style_list(path: str) -> List[str]:
    """The style names, one per line; line i is style index i."""
    try:
        styles = [s.strip() for s in Path(path).read_text(encoding="utf-8").splitlines() if s.strip()]
    except OSError as e:
        raise ValueError(f"--style_list {path}: cannot read it ({e.strerror})") from None
    if len(styles) < 2 or len(set(styles)) != len(styles):
        raise ValueError(f"--style_list {path}: needs at least 2 distinct style names, one per line")
    return styles


def build_retriever(args: argparse.Namespace) -> StyleRetriever:
    """The :class:`StyleRetriever` of a training config (its parsed arguments)."""
    from tse2.models.cls_build import SPEECH_ENCODERS, _choice, build_text_encoder

    styles = list(getattr(args, "styles", None) or read_style_list(args.style_list))
    # the names go into the args, which ESPnet dumps to config.yaml after building the model: the
    # model dir names its own styles and does not need the recipe's style_list to be loaded
    args.styles = styles
    speech = _choice(SPEECH_ENCODERS, "speech_encoder", args.speech_encoder)(**args.speech_encoder_conf)
    model_conf = dict(getattr(args, "model_conf", None) or {})
    text = build_text_encoder(args, int(model_conf.get("embed_dim", 512)))
    return StyleRetriever(speech, text, num_styles=len(styles), **model_conf)
