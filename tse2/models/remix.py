"""Listen, Chat, and Remix (LCR): a PromptReader turns the prompt into a semantic filter ``z``; a
SoundRemixer estimates one remixing mask from the mixture under FiLM by ``z`` and applies it.

    prompt --PromptReader (TextEncoder: LoRA, pooled, projected)--> z (B, cond_dim)
    mixture, z --SoundRemixer (FiLM before each block, one mask)--> remix estimate (B, N)

The loss is the negative SNR against the target remix (paper IV-C): scale matters, since "turn it
up" is a gain.  ``loss: snri`` reports SNR improvement over the unprocessed mixture instead (the
same gradient; the mixture's SNR is a constant per example).

SoundRemixer backbones:

- :class:`BLSTMRemixer` (the CPU default): the complex-mask BLSTM of :mod:`tse2.models.blstm_mask`
  with one mask, bounded by ``mask_max`` (the largest gain, 2) instead of 1, FiLM before every
  BLSTM layer, and ``init_from`` a released separator: its input projection and BLSTMs are loaded,
  and the mask head from the separator's first output, so training starts from a model that
  already separates speech (the paper fine-tunes nothing, but trains on 100k mixtures).
- ``tf_locoformer`` / ``dpt`` (the paper-scale ones): the single-stage extractors of
  :mod:`tse2.models.tf_locoformer` and :mod:`tse2.models.dpt`, which map rather than mask.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tse2.models.film import FiLM
from tse2.models.tse import full_lengths, unpad_prompt

try:
    from espnet2.torch_utils.device_funcs import force_gatherable
    from espnet2.train.abs_espnet_model import AbsESPnetModel
except ImportError:  # pragma: no cover - espnet is part of the install
    AbsESPnetModel = torch.nn.Module  # type: ignore[misc,assignment]

    def force_gatherable(data, device):  # type: ignore[misc]  # only ESPnet's trainer needs 1-dim outputs
        return data

log = logging.getLogger(__name__)


def snr(est: torch.Tensor, ref: torch.Tensor, lengths: Optional[torch.Tensor] = None, eps: float = 1e-8) -> torch.Tensor:
    """SNR in dB of each (B, N) row over its first ``lengths`` samples (not scale-invariant)."""
    if lengths is not None:
        mask = (torch.arange(est.shape[-1], device=est.device)[None] < lengths[:, None]).to(est.dtype)
        est, ref = est * mask, ref * mask
    return 10 * torch.log10(((ref ** 2).sum(-1) + eps) / (((est - ref) ** 2).sum(-1) + eps))


def capped_snr(est: torch.Tensor, ref: torch.Tensor, lengths: Optional[torch.Tensor] = None,
               cap_db: float = 30.0, eps: float = 1e-8) -> torch.Tensor:
    """SNR with a soft ceiling, ``10 log10(|ref|^2 / (|ref - est|^2 + 10^(-cap/10) |ref|^2))``: at
    most ``cap_db``, so a target the input already equals cannot outweigh every other example."""
    if lengths is not None:
        mask = (torch.arange(est.shape[-1], device=est.device)[None] < lengths[:, None]).to(est.dtype)
        est, ref = est * mask, ref * mask
    power = (ref ** 2).sum(-1)
    return 10 * torch.log10((power + eps) / (((est - ref) ** 2).sum(-1) + 10 ** (-cap_db / 10) * power + eps))


def silence_level(est: torch.Tensor, mix: torch.Tensor, lengths: Optional[torch.Tensor] = None,
                  floor_db: float = -30.0, eps: float = 1e-8) -> torch.Tensor:
    """The level in dB of each (B, N) output against its mixture, ``10 log10(|est|^2 / |mix|^2 +
    10^(floor/10))``: the loss of an example whose answer is silence.  It is in the same unit as
    the negative SNR of the other examples and bounded below by ``floor_db``."""
    if lengths is not None:
        mask = (torch.arange(est.shape[-1], device=est.device)[None] < lengths[:, None]).to(est.dtype)
        est, mix = est * mask, mix * mask
    ratio = ((est ** 2).sum(-1) + eps) / ((mix ** 2).sum(-1) + eps)
    return 10 * torch.log10(ratio + 10 ** (floor_db / 10))


class BLSTMRemixer(nn.Module):
    """STFT → log-compressed magnitudes → FiLM + BLSTM layers → one bounded complex mask → iSTFT.

    Args:
        cond_dim: size of the prompt embedding (set by the task).
        n_fft, hop_length: the STFT (the released separator's: 512 / 256 at 16 kHz).
        hidden: LSTM units per direction; layers: stacked BLSTMs (residual from the second on).
        mask_max: the mask's largest magnitude (|m| = mask_max tanh(|raw| / mask_max)); 2 lets
            "volume up" double a source.
        film_hidden: hidden size of the FiLM MLPs (0: the features' size).
        dropout: between layers.
        init_from: a released separator's directory (``model.pth`` + ``config.yaml`` of
            ``blstm_mask``) or checkpoint file to start from; "" for random initialisation.
        presence_hidden: hidden size of the presence head (0: none), which answers whether what
            the prompt names is in the mixture (:meth:`presence_logit`).  It reads the last
            layer's prompt-conditioned features, pooled over time (mean and max), and the level
            of the masked output against the mixture, all detached: it has its own loss and never
            moves the mask, so the remixes stay those of the backbone it was trained on.
    """

    def __init__(self, cond_dim: int = 128, n_fft: int = 512, hop_length: int = 256, hidden: int = 256,
                 layers: int = 3, mask_max: float = 2.0, film_hidden: int = 0, dropout: float = 0.0,
                 init_from: str = "", presence_hidden: int = 0) -> None:
        super().__init__()
        if cond_dim < 1 or hidden < 1 or layers < 1:
            raise ValueError(f"blstm remixer needs cond_dim, hidden, layers >= 1, got {cond_dim}, {hidden}, {layers}")
        if mask_max <= 0:
            raise ValueError(f"mask_max must be > 0, got {mask_max}")
        self.cond_dim, self.n_fft, self.hop_length, self.mask_max = cond_dim, n_fft, hop_length, float(mask_max)
        bins = n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.proj = nn.Sequential(nn.Linear(bins, hidden), nn.LayerNorm(hidden))
        self.film = nn.ModuleList(FiLM(cond_dim, hidden if k == 0 else 2 * hidden, film_hidden) for k in range(layers))
        self.rnns = nn.ModuleList(
            nn.LSTM(hidden if k == 0 else 2 * hidden, hidden, batch_first=True, bidirectional=True)
            for k in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, 2 * bins)
        if presence_hidden < 0:
            raise ValueError(f"presence_hidden must be >= 0, got {presence_hidden}")
        self.presence = nn.Sequential(nn.LayerNorm(4 * hidden + 1), nn.Linear(4 * hidden + 1, presence_hidden),
                                      nn.ReLU(), nn.Linear(presence_hidden, 1)) if presence_hidden else None
        if init_from:
            self.load_separator(init_from)

    def load_separator(self, path: str) -> None:
        """Copies a ``blstm_mask`` separator's weights in (its first output becomes the mask head)."""
        p = Path(path)
        file = p / "model.pth" if p.is_dir() else p
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no separator checkpoint to initialise the remixer from")
        state = torch.load(str(file), map_location="cpu", weights_only=True)
        state = {k[len("separator."):]: v for k, v in state.items() if k.startswith("separator.")} or state
        own = self.state_dict()
        bins = self.out.out_features // 2
        loaded = []
        for k, v in state.items():
            if k.startswith("out."):
                # (S * 2 * F, 2H) rows ordered (speaker, re/im, bin): keep the first speaker's
                v = v[: 2 * bins]
            if k in own and own[k].shape == v.shape:
                own[k] = v.clone()
                loaded.append(k)
        missing = [k for k in own if not k.startswith(("film.", "presence.")) and k not in loaded]
        if missing:
            raise ValueError(f"{file}: not a blstm_mask separator of this size (missing or mis-shaped: {missing[:4]})")
        self.load_state_dict(own)
        log.info("remixer initialised from %s (%d tensors; FiLM starts as the identity)", file, len(loaded))

    def mask(self, spec: torch.Tensor, cond: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, T, F) complex spectrum, (B, cond_dim) → (B, T, F) complex mask."""
        return self.mask_and_features(spec, cond, lengths)[0]

    def mask_and_features(self, spec: torch.Tensor, cond: torch.Tensor, lengths: Optional[torch.Tensor] = None):
        """(B, T, F) complex spectrum, (B, cond_dim) → the (B, T, F) complex mask, the last layer's
        (B, T, 2H) features and the (B, T) valid frames."""
        b, t, f = spec.shape
        mag = spec.abs()
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.long)
        valid = (torch.arange(t, device=spec.device)[None] < lengths[:, None].to(spec.device))
        scale = (mag * valid[..., None]).sum(dim=(1, 2)) / (lengths.to(mag.dtype).to(mag.device) * f).clamp_min(1)
        x = self.proj(torch.log1p(mag / scale.clamp_min(1e-8)[:, None, None]))  # B, T, H
        lens = lengths.detach().cpu().clamp(min=1, max=t)
        for k, rnn in enumerate(self.rnns):
            x = self.film[k](x, cond, channel_dim=-1)
            if t > 1 and bool((lens < t).any()):
                y, _ = rnn(pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False))
                y, _ = pad_packed_sequence(y, batch_first=True, total_length=t)
            else:
                y, _ = rnn(x)
            y = self.dropout(y)
            x = y if k == 0 else x + y  # B, T, 2H
        z = self.out(x).view(b, t, 2, f)
        raw = torch.complex(z[:, :, 0].float(), z[:, :, 1].float())
        mod = raw.abs()
        return raw * (self.mask_max * torch.tanh(mod / self.mask_max) / mod.clamp_min(1e-8)), x, valid

    def extract(self, mixture: torch.Tensor, cond: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, N) mixture, (B, cond_dim) prompt embedding → (B, N) remix."""
        return self.extract_with_presence(mixture, cond, lengths)[0]

    def extract_with_presence(self, mixture: torch.Tensor, cond: torch.Tensor,
                              lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(B, N) mixture, (B, cond_dim) prompt embedding → the (B, N) remix and the presence head's
        (B,) logits (None without a head): > 0 when what the prompt names seems to be there."""
        if mixture.dim() != 2:
            raise ValueError(f"expected a (batch, samples) waveform, got shape {tuple(mixture.shape)}")
        n = mixture.shape[-1]
        spec = torch.stft(mixture, self.n_fft, self.hop_length, window=self.window, return_complex=True)
        spec = spec.transpose(1, 2)  # B, T, F
        frames = None if lengths is None else (lengths // self.hop_length + 1).clamp(max=spec.shape[1])
        mask, feats, valid = self.mask_and_features(spec, cond, frames)
        est_spec = spec * mask
        est = torch.istft(est_spec.transpose(1, 2), self.n_fft, self.hop_length, window=self.window, length=n)
        if self.presence is None:
            return est, None
        return est, self.presence_logit(feats, valid, spec, est_spec)

    def presence_logit(self, feats: torch.Tensor, valid: torch.Tensor, spec: torch.Tensor,
                       est_spec: torch.Tensor) -> torch.Tensor:
        """The presence head on detached inputs: the (B, T, 2H) features pooled over the valid
        frames (mean, max) and the masked output's level against the mixture (dB / 10)."""
        h = feats.detach()
        v = valid[..., None].to(h.dtype)
        mean = (h * v).sum(1) / v.sum(1).clamp_min(1.0)
        peak = h.masked_fill(~valid[..., None], -1e4).amax(1)
        power = lambda s: (s.detach().abs() ** 2 * valid[..., None]).sum(dim=(1, 2))  # noqa: E731
        level = 10 * torch.log10((power(est_spec) + 1e-8) / (power(spec) + 1e-8)) / 10
        return self.presence(torch.cat([mean, peak, level[:, None].to(h.dtype)], dim=-1)).squeeze(-1)


class SoundRemixerModel(AbsESPnetModel):
    """ESPnet model of LCR: ``remixer`` (a SoundRemixer backbone) conditioned by ``text_encoder``.

    Args:
        remixer: a module with ``extract(mixture (B, N), cond (B, D)) -> (B, N)``.
        text_encoder: the PromptReader, ``(ids, lengths) -> (B, D)``.
        loss: ``snr`` (negative SNR) or ``snri`` (negative SNR improvement; same gradient).
        silence_floor_db: an all-zero target (a prompt naming a source the mixture lacks) has no
            SNR; its loss is the output's level against the mixture, soft-floored here
            (:func:`silence_level`), so that a near-silent answer stops pulling; a target equal to
            the mixture ("remove" a source it lacks) has its SNR capped at ``-silence_floor_db``
            (:func:`capped_snr`).
        presence_weight: weight of the presence head's loss (binary cross-entropy: is what the
            prompt names in the mixture? the examples with silence or the mixture itself as the
            target are the "no" ones), when the remixer has a head (``presence_hidden``).
    """

    def __init__(self, remixer: nn.Module, text_encoder: nn.Module, loss: str = "snr",
                 silence_floor_db: float = -30.0, presence_weight: float = 1.0) -> None:
        super().__init__()
        if loss not in ("snr", "snri"):
            raise ValueError(f"loss must be snr or snri, got {loss!r}")
        if presence_weight < 0:
            raise ValueError(f"presence_weight must be >= 0, got {presence_weight}")
        self.remixer, self.text_encoder, self.loss_type = remixer, text_encoder, loss
        self.silence_floor_db, self.presence_weight = silence_floor_db, presence_weight

    @property
    def has_presence(self) -> bool:
        return getattr(self.remixer, "presence", None) is not None

    def remix_and_logit(self, speech_mix: torch.Tensor, prompt: torch.Tensor,
                        speech_mix_lengths: Optional[torch.Tensor] = None,
                        prompt_lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(B, N) mixture, (B, L) prompt ids (``PROMPT_PAD`` right-padding) → the (B, N) remix and
        the presence head's (B,) logits (None when the remixer has no head)."""
        prompt, prompt_lengths = unpad_prompt(prompt, prompt_lengths)
        z = self.text_encoder(prompt, prompt_lengths)
        if isinstance(self.remixer, BLSTMRemixer):
            return self.remixer.extract_with_presence(speech_mix, z, speech_mix_lengths)
        return self.remixer.extract(speech_mix, z), None

    def remix_and_presence(self, speech_mix: torch.Tensor, prompt: torch.Tensor,
                           speech_mix_lengths: Optional[torch.Tensor] = None,
                           prompt_lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The (B, N) remix and the presence head's (B,) probability that what the prompt names
        is in the mixture (None when the remixer has no head)."""
        est, logit = self.remix_and_logit(speech_mix, prompt, speech_mix_lengths, prompt_lengths)
        return est, None if logit is None else torch.sigmoid(logit)

    def remix(self, speech_mix: torch.Tensor, prompt: torch.Tensor, speech_mix_lengths: Optional[torch.Tensor] = None,
              prompt_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, N) mixture, (B, L) prompt ids (``PROMPT_PAD`` right-padding) → (B, N) remix."""
        return self.remix_and_logit(speech_mix, prompt, speech_mix_lengths, prompt_lengths)[0]

    def forward(self, speech_mix: torch.Tensor, speech_ref1: torch.Tensor, prompt: torch.Tensor,
                speech_mix_lengths: Optional[torch.Tensor] = None, prompt_lengths: Optional[torch.Tensor] = None,
                **kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        speech_mix_lengths = full_lengths(speech_mix, speech_mix_lengths)
        est, logit = self.remix_and_logit(speech_mix, prompt, speech_mix_lengths, prompt_lengths)
        score = snr(est, speech_ref1, speech_mix_lengths)
        base = snr(speech_mix, speech_ref1, speech_mix_lengths).detach()
        per = -(score - base) if self.loss_type == "snri" else -score
        # prompts naming a source the mixture lacks: "extract" it has silence as its target, the
        # other actions the mixture itself (no real task has either: see tse2.simulation.remix_tasks)
        silent = speech_ref1.abs().amax(-1) == 0
        same = ((speech_ref1 - speech_mix).abs().amax(-1) == 0) & ~silent
        stats = {}
        if bool(silent.any()):
            level = silence_level(est, speech_mix, speech_mix_lengths, self.silence_floor_db)
            per = torch.where(silent, level, per)
            stats["absent_level"] = level[silent].mean().detach()
        if bool(same.any()):
            # the mixture's own SNR is infinite and so is the reward for copying it bit-exactly:
            # capped at -silence_floor_db, as the silent examples' loss is floored
            kept = capped_snr(est, speech_ref1, speech_mix_lengths, -self.silence_floor_db)
            per = torch.where(same, -kept, per)
            stats["absent_kept_snr"] = kept[same].mean().detach()
        heard = ~(silent | same)
        loss = per.mean()
        if logit is not None:  # its own loss: the head reads detached features (BLSTMRemixer.presence_logit)
            target = heard.to(logit.dtype)
            bce = nn.functional.binary_cross_entropy_with_logits(logit, target)
            loss = loss + self.presence_weight * bce
            stats.update(presence_loss=bce.detach(), presence_acc=((logit > 0) == heard).float().mean().detach())
        stats.update(loss=loss.detach(), snr=score[heard].mean().detach() if bool(heard.any()) else None,
                     snri=(score - base)[heard].mean().detach() if bool(heard.any()) else None)
        return force_gatherable((loss, stats, torch.tensor(speech_mix.shape[0])), loss.device)

    def collect_feats(self, **batch) -> Dict[str, torch.Tensor]:
        return {}


class PITSeparator(nn.Module):
    """The separator of the ideal cascaded baseline (paper Table II, "PIT + G.T. actions"): the
    complex-mask BLSTM with ``num_src`` outputs (masks bounded by 1), on its own STFT.

    Args:
        num_src: sources to separate (2 speech + 2 audio: 4).
        n_fft, hop_length, hidden, layers: as :class:`BLSTMRemixer`.
        init_from: a released 2-talker ``blstm_mask`` separator: its projection and BLSTMs are
            loaded, its two outputs start the first two of ``num_src``.
    """

    def __init__(self, num_src: int = 4, n_fft: int = 512, hop_length: int = 256, hidden: int = 256,
                 layers: int = 3, init_from: str = "") -> None:
        super().__init__()
        from tse2.models.blstm_mask import BLSTMMaskSeparator

        if num_src < 2:
            raise ValueError(f"num_src must be >= 2, got {num_src}")
        self.num_src, self.n_fft, self.hop_length = num_src, n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.sep = BLSTMMaskSeparator(input_dim=n_fft // 2 + 1, num_spk=num_src, hidden=hidden, layers=layers)
        if init_from:
            p = Path(init_from)
            file = p / "model.pth" if p.is_dir() else p
            if not file.is_file():
                raise FileNotFoundError(f"{file}: no separator checkpoint to initialise the cascade from")
            state = torch.load(str(file), map_location="cpu", weights_only=True)
            state = {k[len("separator."):]: v for k, v in state.items() if k.startswith("separator.")}
            own = self.sep.state_dict()
            for k, v in state.items():
                if k.startswith("out."):
                    own[k][: v.shape[0]] = v  # the released talkers' masks start the first outputs
                elif k in own and own[k].shape == v.shape:
                    own[k] = v.clone()
            self.sep.load_state_dict(own)

    def separate(self, mixture: torch.Tensor) -> torch.Tensor:
        """(B, N) mixture → (B, num_src, N) sources."""
        n = mixture.shape[-1]
        spec = torch.stft(mixture, self.n_fft, self.hop_length, window=self.window, return_complex=True).transpose(1, 2)
        ilens = torch.full((spec.shape[0],), spec.shape[1], dtype=torch.long)
        masked, _, _ = self.sep(spec, ilens)
        out = [torch.istft(m.transpose(1, 2), self.n_fft, self.hop_length, window=self.window, length=n) for m in masked]
        return torch.stack(out, dim=1)


def pit_snr(est: torch.Tensor, refs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(B, S, N) estimates, (B, S, N) references → (mean SNR of the best permutation (B,),
    the permutation (B, S): ``est[:, perm[j]]`` matches ``refs[:, j]``)."""
    import itertools

    b, s, _ = refs.shape
    pair = torch.stack([snr(est[:, i], refs[:, j]) for i in range(s) for j in range(s)], dim=1).view(b, s, s)
    perms = torch.tensor(list(itertools.permutations(range(s))), device=est.device)  # P, S
    scores = pair[:, perms, torch.arange(s, device=est.device)].mean(-1)  # B, P
    best = scores.argmax(-1)
    return scores[torch.arange(b), best], perms[best]


class CascadeModel(AbsESPnetModel):
    """ESPnet model of the cascade's separator: PIT over the sources, negative SNR (scale matters,
    since the cascade sums the separated sources with gains)."""

    def __init__(self, separator: PITSeparator) -> None:
        super().__init__()
        self.separator = separator

    def forward(self, speech_mix: torch.Tensor, speech_mix_lengths: Optional[torch.Tensor] = None,
                **kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        names = [f"speech_ref{k + 1}" for k in range(self.separator.num_src)]
        missing = [n for n in names if n not in kwargs]
        if missing:
            raise ValueError(f"the cascade separator needs {names}, missing {missing}")
        refs = torch.stack([kwargs[n] for n in names], dim=1)
        score, _ = pit_snr(self.separator.separate(speech_mix), refs)
        loss = -score.mean()
        return force_gatherable((loss, dict(loss=loss.detach(), snr=score.mean().detach()),
                                 torch.tensor(speech_mix.shape[0])), loss.device)

    def collect_feats(self, **batch) -> Dict[str, torch.Tensor]:
        return {}
