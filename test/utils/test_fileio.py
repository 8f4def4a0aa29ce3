"""Atomic writes: an interrupted write leaves neither a partial file nor a temp file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tse2.utils.fileio import atomic_open, write_wav


def test_interrupted_write_leaves_old_content(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write("half of the new con")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_wav_round_trip(tmp_path):
    x = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)
    write_wav(tmp_path / "a" / "x.wav", x, 16000)
    y, fs = sf.read(str(tmp_path / "a" / "x.wav"), dtype="float32")
    assert fs == 16000 and np.max(np.abs(y - x)) < 1e-4
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.wav"]
