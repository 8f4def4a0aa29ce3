"""Level and timing features that pretrained speech encoders are blind to.

Whisper normalises its log-mel to the clip's peak, and wav2vec2-family models normalise the
waveform, so neither sees how loud a candidate is; mean pooling then throws away *when* it speaks.
Three relative cues need exactly that: loudness (RMS of the reverberant signal, θ 3 dB), distance
(the direct-to-reverberant balance: a far talker's level dips less between syllables) and temporal
order (onset, θ 0.1 s); speaking duration needs how long it is active.  This module measures, per
candidate and without training:

- a frame level track: 20·log10 RMS per 20 ms frame (the speech encoders' 50 Hz rate), in dB
  re. full scale, *not* normalised;
- :func:`level_stats`, eight numbers: mean and 90th-percentile level over active frames, the
  level's spread and its mean frame-to-frame change over active frames (the modulation depth that
  reverberation fills in), onset and offset times in seconds, active time in seconds and the share
  of the clip that is active.  Active = within 30 dB of the clip's loudest frame.

They are written by hand because they are a few tensor reductions; ``tse2.attributes`` measures the
same quantities on the un-mixed references for labelling (numpy, per file).
"""

from __future__ import annotations

import torch

from tse2.models.backbones import SAMPLE_RATE  # the speech encoders' input rate, where these statistics are taken

FRAME = SAMPLE_RATE // 50  # 20 ms
ACTIVE_DB = 30.0
NUM_STATS = 8


def frame_level_db(wav: torch.Tensor, lengths: torch.Tensor, frame: int = FRAME):
    """(B, N) waveforms → ((B, T) frame level in dB, (B, T) valid-frame mask)."""
    n = wav.shape[1] // frame * frame
    if n == 0:
        wav, n = torch.nn.functional.pad(wav, (0, frame - wav.shape[1])), frame
    power = wav[:, :n].float().reshape(wav.shape[0], -1, frame).pow(2).mean(-1)
    db = 10.0 * torch.log10(power + 1e-10)
    frames = (lengths // frame).clamp(min=1, max=db.shape[1])
    valid = torch.arange(db.shape[1], device=wav.device)[None, :] < frames[:, None]
    return db, valid


def level_stats(wav: torch.Tensor, lengths: torch.Tensor, frame: int = FRAME, fs: int = SAMPLE_RATE) -> torch.Tensor:
    """(B, N) waveforms → (B, 8) level and timing statistics (see the module docstring), scaled to
    roughly unit range (dB / 20, seconds / 5)."""
    db, valid = frame_level_db(wav, lengths, frame)
    peak = db.masked_fill(~valid, -200.0).amax(1, keepdim=True)
    active = valid & (db > peak - ACTIVE_DB)
    a = active.float()
    count = a.sum(1).clamp_min(1.0)
    mean = (db * a).sum(1) / count
    spread = ((db - mean[:, None]).pow(2) * a).sum(1).div(count).sqrt()
    both = active[:, 1:] & active[:, :-1]
    delta = ((db[:, 1:] - db[:, :-1]).abs() * both).sum(1) / both.float().sum(1).clamp_min(1.0)
    ranked = db.masked_fill(~active, -200.0).sort(1, descending=True).values
    p90 = ranked.gather(1, (0.1 * count).long().clamp(max=db.shape[1] - 1)[:, None])[:, 0]
    idx = torch.arange(db.shape[1], device=wav.device, dtype=torch.float32)[None, :]
    sec = frame / fs
    onset = idx.masked_fill(~active, 1e9).amin(1) * sec
    offset = (idx.masked_fill(~active, -1.0).amax(1) + 1) * sec
    share = count / valid.float().sum(1).clamp_min(1.0)
    return torch.stack([mean / 20.0, p90 / 20.0, spread / 20.0, delta / 5.0, onset / 5.0, offset / 5.0,
                        count * sec / 5.0, share], dim=1)


NUM_PROSODY = 5


def prosody_stats(wav, fs: int = SAMPLE_RATE, piece_s: float = 0.0):
    """(N,) waveform (numpy) → 5 numbers the pitch and rate cues compare, measured as the attribute
    selector measures them (:mod:`tse2.attributes`): log2 of the mean F0 / 150 Hz and of the F0 span
    / 50 Hz over voiced frames (Praat), the voiced share of the frames, log2 of the syllable-nucleus
    rate / 250 per minute of active time, and 1 when any frame was voiced (else the F0 terms are 0).
    About 30 ms for 6 s of audio; :class:`tse2.models.pretrained.FrozenFrameEncoder` caches them.

    ``piece_s`` > 0: measure pieces of that length one after the other and pool their voiced frames,
    syllable counts and levels (memory bounded by the piece, for hour-long talkers; a syllable cut by
    a piece boundary may count twice).  0: the whole signal at once."""
    import numpy as np

    from tse2.attributes.f0 import F0Config, f0_track
    from tse2.attributes.selector import syllable_nuclei

    x = np.asarray(wav)
    out = np.zeros(NUM_PROSODY, dtype=np.float32)
    if len(x) < fs // 10 or not np.any(x):
        return out
    size = int(piece_s * fs) if piece_s > 0 else len(x)
    voiced, num_frames, nuclei, levels = [], 0, 0, []
    for start in range(0, len(x), size):
        seg = np.asarray(x[start:start + size], dtype=np.float64)
        if start and len(seg) < fs // 10:  # a tail too short to measure
            continue
        track = f0_track(seg, fs, F0Config())
        voiced.append(track[np.isfinite(track)])
        num_frames += len(track)
        db, valid = frame_level_db(torch.from_numpy(seg.astype(np.float32))[None], torch.tensor([len(seg)]))
        levels.append(db[0][valid[0]])
        nuclei += syllable_nuclei(seg, fs, f0=track)  # the same Praat track, not a second one
    voiced = np.concatenate(voiced)
    if voiced.size:
        out[0] = np.log2(voiced.mean() / 150.0)
        out[1] = np.log2(max(voiced.max() - voiced.min(), 5.0) / 50.0)
        out[2] = voiced.size / max(num_frames, 1)
        out[4] = 1.0
    db = torch.cat(levels)
    active_s = float((db > db.max() - ACTIVE_DB).sum()) * FRAME / fs
    if nuclei and active_s > 0:
        out[3] = np.log2(60.0 * nuclei / active_s / 250.0)
    return out
