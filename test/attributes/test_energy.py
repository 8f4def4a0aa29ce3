"""RMS over active segments."""

from __future__ import annotations

import numpy as np

from tse2.attributes.energy import active_rms_db

FS = 16000


def test_rms_over_segments_only():
    t = np.arange(2 * FS) / FS
    x = np.zeros(2 * FS)
    x[FS:] = 0.5 * np.sin(2 * np.pi * 200 * t[FS:])
    expected = 20 * np.log10(0.5 / np.sqrt(2))
    assert abs(active_rms_db(x, FS, [(1.0, 2.0)]) - expected) < 0.01
    # including the silent half lowers the level by 3 dB
    assert abs(active_rms_db(x, FS, [(0.0, 2.0)]) - (expected - 10 * np.log10(2))) < 0.01


def test_missing_values():
    assert active_rms_db(np.zeros(FS), FS, [(0.1, 0.5)]) is None
    assert active_rms_db(np.ones(FS), FS, []) is None
    assert active_rms_db(np.ones(FS), FS, [(5.0, 6.0)]) is None
