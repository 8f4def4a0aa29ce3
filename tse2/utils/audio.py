"""Audio reading with errors that name the file and the problem.

soundfile does the decoding; this module only turns its failures (and the formats we refuse:
wrong sample rate, several channels, no samples) into one exception type with a readable message.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np


class AudioError(ValueError):
    """An audio file is missing, unreadable or not in the expected format."""


def audio_info(path: str) -> Tuple[int, int, int]:
    """Returns (sample_rate, channels, frames) from the header, or raises :class:`AudioError`."""
    import os

    import soundfile as sf

    if not os.path.isfile(path):  # libsndfile reports a missing file only as "System error"
        raise AudioError(f"{path}: audio file does not exist")
    try:
        info = sf.info(path)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError variants
        raise AudioError(f"{path}: unreadable or corrupt audio ({exc})") from None
    return int(info.samplerate), int(info.channels), int(info.frames)


def check_audio(path: str, fs: Optional[int] = None, mono: bool = True) -> None:
    """Raises :class:`AudioError` when ``path`` is not non-empty, ``mono`` audio at ``fs`` Hz."""
    rate, channels, frames = audio_info(path)
    if fs is not None and rate != fs:
        raise AudioError(f"{path}: sample rate is {rate} Hz, expected {fs} Hz")
    if mono and channels != 1:
        raise AudioError(f"{path}: has {channels} channels, expected mono")
    if frames == 0:
        raise AudioError(f"{path}: contains no samples")


def read_audio(path: str, fs: Optional[int] = None, mono: bool = True) -> Tuple[np.ndarray, int]:
    """Reads float32 audio after :func:`check_audio`; returns (samples, sample_rate)."""
    import soundfile as sf

    check_audio(path, fs=fs, mono=mono)
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=False)
    except Exception as exc:
        raise AudioError(f"{path}: unreadable or corrupt audio ({exc})") from None
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{path}: contains NaN or infinite samples")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0 + 1e-6:
        raise AudioError(f"{path}: samples reach {peak:.3g}, beyond full scale [-1, 1] (unnormalized float audio)")
    return audio, int(rate)
