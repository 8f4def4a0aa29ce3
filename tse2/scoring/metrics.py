"""Signal metrics of an estimate against its reference: SI-SDR and PESQ (``pesq``).

SI-SDR is torchmetrics' definition (zero-mean, float64, its epsilon) written in numpy here: importing
torchmetrics costs ~2 s, once in every scoring and inference job, for a few lines of arithmetic
(``test/scoring/test_metrics.py`` checks the two agree).

PESQ is ITU-T P.862 from the ``pesq`` package: wide band at 16 kHz, narrow band at 8 kHz (the only
rates P.862 defines).  It fails on some inputs (no utterance detected in a near-silent
reference, a buffer too short); :func:`pesq_score` returns the failure as text so that a report
can count it instead of dropping the example silently.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

PESQ_MODES = {16000: "wb", 8000: "nb"}


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    """Scale-invariant SDR in dB (zero-mean; torchmetrics' ``scale_invariant_signal_distortion_ratio``)."""
    est, ref = np.asarray(est, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if est.shape != ref.shape:
        raise ValueError(f"SI-SDR needs equal shapes, got {est.shape} and {ref.shape}")
    eps = np.finfo(np.float64).eps
    est, ref = est - est.mean(-1, keepdims=True), ref - ref.mean(-1, keepdims=True)
    alpha = (np.sum(est * ref, -1, keepdims=True) + eps) / (np.sum(ref ** 2, -1, keepdims=True) + eps)
    target = alpha * ref
    noise = target - est
    return float(10 * np.log10((np.sum(target ** 2, -1) + eps) / (np.sum(noise ** 2, -1) + eps)))


def pesq_mode(fs: int) -> str:
    if fs not in PESQ_MODES:
        raise ValueError(f"PESQ is defined at 16 kHz (wide band) and 8 kHz (narrow band), not {fs} Hz")
    return PESQ_MODES[fs]


def pesq_score(est: np.ndarray, ref: np.ndarray, fs: int) -> Tuple[Optional[float], Optional[str]]:
    """(PESQ MOS-LQO, None) or (None, why it failed)."""
    from pesq import pesq

    mode = pesq_mode(fs)
    try:
        return float(pesq(fs, np.asarray(ref, dtype=np.float32), np.asarray(est, dtype=np.float32), mode)), None
    except Exception as exc:  # pesq raises NoUtterancesError, BufferTooShortError, cypesq errors
        msg = exc.args[0] if exc.args else ""
        msg = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
        return None, f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
