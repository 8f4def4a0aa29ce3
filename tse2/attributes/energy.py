"""RMS energy in dB over active speech, for any signal (clean in stage 2, reverberant in stage 3)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np


def active_rms_db(audio: np.ndarray, fs: int, segments: Sequence[Tuple[float, float]]) -> Optional[float]:
    """20·log10 of the RMS of the samples inside ``segments`` ((start s, end s) pairs).

    Returns None when the segments hold no sample or only digital silence (RMS 0: -inf dB).
    """
    audio = np.asarray(audio, dtype=np.float64)
    mask = np.zeros(len(audio), dtype=bool)
    for seg in segments:
        a, b = max(0, int(round(seg[0] * fs))), min(len(audio), int(round(seg[1] * fs)))
        if b > a:
            mask[a:b] = True
    if not mask.any():
        return None
    power = float(np.mean(audio[mask] ** 2))
    if power <= 0.0:
        return None
    return 10.0 * np.log10(power)
