"""F0 on generated signals with known pitch, for both backends."""

from __future__ import annotations

import numpy as np
import pytest

from tse2.attributes.f0 import F0Config, f0_stats

FS = 16000


def harmonic(f0_of_t: np.ndarray, n_harm: int = 5) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0_of_t) / FS
    return sum(0.2 / k * np.sin(k * phase) for k in range(1, n_harm + 1)).astype(np.float32)


@pytest.mark.parametrize("method", ["praat", "pyin"])
def test_harmonic_mean_f0(method):
    x = harmonic(np.full(int(1.5 * FS), 150.0))
    st = f0_stats(x, FS, F0Config(method=method))
    assert st.voiced_frames > 100
    assert abs(st.mean - 150.0) / 150.0 < 0.02
    assert st.span < 5.0


@pytest.mark.parametrize("method", ["praat", "pyin"])
def test_glide_span(method):
    f = np.linspace(120.0, 240.0, 2 * FS)  # a linear glide: span 120 Hz, mean 180 Hz
    st = f0_stats(harmonic(f), FS, F0Config(method=method))
    assert abs(st.span - 120.0) / 120.0 < 0.05
    assert abs(st.mean - 180.0) / 180.0 < 0.02


@pytest.mark.parametrize("method", ["praat", "pyin"])
def test_silence_and_tiny_input_are_missing_not_nan(method):
    for x in (np.zeros(FS, dtype=np.float32), np.zeros(100, dtype=np.float32)):
        st = f0_stats(x, FS, F0Config(method=method))
        assert st.mean is None and st.span is None and st.voiced_frames == 0


def test_bad_config():
    with pytest.raises(ValueError, match="unknown F0 method 'crepe'"):
        F0Config(method="crepe")
    with pytest.raises(ValueError, match="fmin < fmax"):
        F0Config(fmin=300, fmax=100)
