"""tse2's one audio module: read, check, down-mix, resample, to a model's rate and back.

Every layer goes through it (corpora, data tools, runtimes, CLIs), so one set of rules holds:

- files: :func:`read_audio` / :func:`check_audio` (soundfile decodes; its failures, and the formats
  a data dir refuses: wrong rate, several channels, no samples, NaN, beyond full scale, become one
  :class:`AudioError` naming the file and the problem);
- waveforms a user hands in: :func:`check_waveform` (PCM integers scaled, channels-first arrays
  recognised, NaN, empty, a rate under :data:`MIN_RATE`, shorter than the caller's minimum),
  :func:`check_recording` (and not digital silence), :func:`to_mono`;
- rates: :func:`resample`, the one resampler (scipy's polyphase filter: exact for the rational
  ratios of audio rates, 22050 -> 16000, 44100 -> 16000, and deterministic);
  :func:`to_model_input` (checked, mono, at the model's rate, saying what it did) and
  :func:`back_to_rate` (a model's output at the input's rate and length); :func:`read_for_model`
  (a file to a model's input);
- the model's rate: every model records ``fs`` in its config (:func:`model_rate` reads it);
  :data:`DEFAULT_FS` is the one place the recipes' default rate is written.
"""

from __future__ import annotations

import logging
from typing import Optional, Tuple

import numpy as np

log = logging.getLogger("tse2.audio")

DEFAULT_FS = 16000  # the rate the recipes make data at and train at by default (every model records its own)
MIN_RATE = 8000  # below this there is no speech band left (and no model was trained there)
MIN_SECONDS = 0.25  # the shortest recording a separator or remixer takes


class AudioError(ValueError):
    """An audio file is missing, unreadable or not in the expected format."""


def model_rate(conf, where: str = "config") -> int:
    """The sample rate a model config (a dict or the parsed args) records as ``fs``.  Configs
    written before every task recorded it belong to models trained at :data:`DEFAULT_FS`, the only
    rate tse2 trained at then."""
    fs = conf.get("fs") if isinstance(conf, dict) else getattr(conf, "fs", None)
    if fs is None:
        return DEFAULT_FS
    try:
        fs = int(fs)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: fs {fs!r} is not a sample rate in Hz") from None
    if fs < MIN_RATE:
        raise ValueError(f"{where}: fs {fs} Hz is below {MIN_RATE} Hz")
    return fs


def check_rate(data_fs: int, model_fs: int, what: str) -> None:
    """A data rate that differs from the model's is an error (never a silent resample in a recipe)."""
    if int(data_fs) != int(model_fs):
        raise ValueError(f"{what}: the data is at {int(data_fs)} Hz but the model runs at {int(model_fs)} Hz "
                         f"(its config's fs); make the data at {int(model_fs)} Hz or use a model trained at "
                         f"{int(data_fs)} Hz")


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


# ---------------------------------------------------------------------------------- waveforms


def check_waveform(audio: np.ndarray, rate: int, name: str = "input", min_seconds: float = MIN_SECONDS) -> np.ndarray:
    """The input as float32 (samples,) or (samples, channels), or an :class:`AudioError` naming it:
    a wrong shape, no samples, NaN or infinite samples, an invalid rate or one below ``MIN_RATE``
    (8 kHz), shorter than ``min_seconds``.  Integer samples (int16 PCM, ...) are scaled to [-1, 1);
    a (channels, samples) array with at most 8 channels is recognised and transposed.  Cheap: the
    CLIs run it before any model loads."""
    audio = np.asarray(audio)
    if np.issubdtype(audio.dtype, np.integer):  # PCM samples: scaled to [-1, 1) as soundfile reads them
        scale = float(np.iinfo(audio.dtype).max) + 1.0
        log.info("%s: %s samples, scaled by 1/%d", name, audio.dtype, int(scale))
        audio = audio.astype(np.float64) / scale
    elif audio.dtype == np.bool_ or not np.issubdtype(audio.dtype, np.number):
        raise AudioError(f"{name}: samples of type {audio.dtype} are not audio")
    audio = audio.astype(np.float32)
    if audio.ndim == 2 and audio.shape[0] <= 8 < audio.shape[1]:  # (channels, samples), as torchaudio gives
        log.info("%s: read as %d channels of %d samples (channels first)", name, audio.shape[0], audio.shape[1])
        audio = audio.T
    if audio.ndim not in (1, 2):
        raise AudioError(f"{name}: expected a waveform of shape (samples,) or (samples, channels), "
                         f"got {audio.shape}")
    if audio.size == 0:
        raise AudioError(f"{name}: contains no samples")
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{name}: contains NaN or infinite samples")
    if rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {rate}")
    if rate < MIN_RATE:
        raise AudioError(f"{name}: sample rate {rate} Hz; tse2 needs at least {MIN_RATE} Hz (telephone band): "
                         "this is not speech audio, or its rate is wrong in the file header")
    if audio.shape[0] < int(rate * min_seconds):
        raise AudioError(f"{name}: {audio.shape[0] / rate:.3f} s of audio; tse2 needs at least {min_seconds:g} s")
    return audio


def check_recording(audio: np.ndarray, rate: int, name: str = "input", min_seconds: float = MIN_SECONDS) -> np.ndarray:
    """:func:`check_waveform`, and a recording that is digital silence is an error too (an
    enrollment may be checked without it)."""
    audio = check_waveform(audio, rate, name, min_seconds)
    if not np.any(audio):
        raise AudioError(f"{name}: is digital silence; there is nobody to extract")
    return audio


def to_mono(audio: np.ndarray, name: str = "input") -> np.ndarray:
    """(samples, channels) averaged to (samples,), saying so; mono passes through."""
    if audio.ndim == 2:
        if audio.shape[1] > 1:
            log.info("%s: %d channels, down-mixed to mono", name, audio.shape[1])
        audio = audio.mean(axis=1)
    return audio


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling (scipy) along the first axis, exact for rational ratios such as
    22050 -> 16000; float32 out."""
    if int(orig_sr) == int(target_sr):
        return np.asarray(audio, dtype=np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(orig_sr), int(target_sr))
    return resample_poly(audio, int(target_sr) // g, int(orig_sr) // g, axis=0).astype(np.float32)


def to_model_input(audio: np.ndarray, rate: int, fs: int, name: str = "input",
                   min_seconds: float = MIN_SECONDS) -> np.ndarray:
    """Mono float32 at the model's ``fs``: checked, down-mixed and resampled, saying what it did."""
    audio = to_mono(check_waveform(audio, rate, name, min_seconds), name)
    if rate != fs:
        log.info("%s: resampled from %d Hz to the model's %d Hz", name, rate, fs)
        audio = resample(audio, rate, fs)
    return audio


def back_to_rate(audio: np.ndarray, fs: int, rate: int, length: int) -> np.ndarray:
    """A model's output at ``fs`` brought to the input's ``rate`` and exactly ``length`` samples."""
    audio = resample(np.asarray(audio, dtype=np.float32), fs, rate)[:length]
    return np.pad(audio, (0, length - len(audio)))


def read_for_model(path: str, fs: int, min_seconds: float = MIN_SECONDS) -> np.ndarray:
    """A file of any rate and channel count as a model's input: mono float32 at ``fs``."""
    audio, rate = read_audio(str(path), mono=False)
    return to_model_input(audio, rate, fs, name=str(path), min_seconds=min_seconds)
