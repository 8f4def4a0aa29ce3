"""SI-SDR and PESQ on signals with a known distortion."""

from __future__ import annotations

import numpy as np
import pytest

from tse2.scoring.metrics import pesq_score, si_sdr

FS = 16000


def voiced(seconds: float = 3.0, fs: int = FS, f0: float = 150.0) -> np.ndarray:
    """A gliding harmonic complex, gated like syllables: speech-like enough for PESQ's VAD."""
    t = np.arange(int(seconds * fs)) / fs
    phase = 2 * np.pi * np.cumsum(f0 + 20 * np.sin(2 * np.pi * 0.5 * t)) / fs
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * (np.sin(2 * np.pi * 3 * t) > -0.4)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def with_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(len(x))
    n *= np.sqrt(np.mean(x.astype(float) ** 2) / np.mean(n ** 2)) / 10 ** (snr_db / 20)
    return (x + n).astype(np.float32)


@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0])
def test_si_sdr_of_white_noise_at_a_known_snr(snr):
    x = voiced()
    assert si_sdr(with_noise(x, snr), x) == pytest.approx(snr, abs=0.1)
    assert si_sdr(3.0 * with_noise(x, snr), x) == pytest.approx(snr, abs=0.1)  # scale-invariant


def test_si_sdr_is_torchmetrics_definition():
    """The numpy SI-SDR (no torchmetrics import in every job) gives torchmetrics' value, offsets,
    silence and float32 inputs included."""
    import torch
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio as tm

    x = voiced()
    cases = [(with_noise(x, 3.0), x), (with_noise(x, -8.0, seed=1) + 0.2, x - 0.1), (np.zeros_like(x), x),
             (x, np.zeros_like(x)), (0.5 * x, x)]
    for est, ref in cases:
        want = float(tm(torch.as_tensor(est, dtype=torch.float64), torch.as_tensor(ref, dtype=torch.float64),
                        zero_mean=True))
        assert si_sdr(est, ref) == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_si_sdr_refuses_unequal_lengths():
    with pytest.raises(ValueError, match="equal shapes"):
        si_sdr(np.zeros(10), np.zeros(11))


def test_pesq_ranks_distortions_and_uses_narrow_band_at_8k():
    x = voiced()
    clean, _ = pesq_score(x, x, FS)
    noisy, _ = pesq_score(with_noise(x, 10.0), x, FS)
    assert clean > 4.0 and noisy < clean - 1.0
    nb, err = pesq_score(x[::2], x[::2], 8000)
    assert err is None and nb > 4.0


def test_pesq_failures_are_returned_not_raised():
    x = voiced()
    value, err = pesq_score(x, np.zeros_like(x), FS)
    assert value is None and err == "NoUtterancesError: No utterances detected"
    value, err = pesq_score(x[:1000], x[:1000], FS)
    assert value is None and err.startswith("BufferTooShortError")
    with pytest.raises(ValueError, match="not 44100 Hz"):
        pesq_score(x, x, 44100)
