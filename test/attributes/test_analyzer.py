"""The whole extractor: known inputs give known attributes; bad audio gives missing values or errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tse2.attributes.analyzer import AttributeAnalyzer
from tse2.utils.audio import AudioError, read_audio

FS = 16000


def tone(seconds, f0=150.0, amp=0.3):
    t = np.arange(int(seconds * FS)) / FS
    return (amp * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def test_given_words():
    x = np.concatenate([tone(0.5), np.zeros(int(0.3 * FS), np.float32), tone(0.5)])
    words = [(0.0, 0.5, "banana"), (0.8, 1.3, "split")]
    a = AttributeAnalyzer()("u1", x, FS, "en", segments=words)
    assert a.speaking_duration == pytest.approx(1.3) and a.syllables == 3 + 1
    assert a.speaking_rate == pytest.approx(4 / 1.3 * 60)
    assert a.f0_mean == pytest.approx(150, rel=0.02)
    assert a.rms_db == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.2)
    assert (a.speech_start, a.speech_end) == (0.0, 1.3) and a.clipped == 0.0
    assert json.loads(json.dumps(a.to_dict()))["segments"] == [[0.0, 0.5], [0.8, 1.3]]


def test_all_silent_input_gives_explicit_missing_values():
    a = AttributeAnalyzer()("u1", np.zeros(2 * FS, np.float32), FS, "en", text="hello world")
    d = a.to_dict()
    for key in ("f0_mean", "f0_span", "speech_start", "speech_end", "speaking_duration", "speaking_rate", "rms_db"):
        assert d[key] is None, key
    assert "NaN" not in json.dumps(d)


def test_clipped_input_is_reported():
    x = np.clip(tone(1.0, amp=3.0), -1, 1)
    a = AttributeAnalyzer()("u1", x, FS, "en", segments=[(0.0, 1.0, "la")])
    assert a.clipped > 0.5 and a.f0_mean == pytest.approx(150, rel=0.02)


def test_nan_and_out_of_range_files_are_errors(tmp_path):
    x = tone(0.5)
    x[100] = np.nan
    sf.write(str(tmp_path / "nan.wav"), x, FS, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: contains NaN"):
        read_audio(str(tmp_path / "nan.wav"))
    sf.write(str(tmp_path / "loud.wav"), tone(0.5, amp=2.0), FS, subtype="FLOAT")
    with pytest.raises(AudioError, match="loud.wav: samples reach 2, beyond full scale"):
        read_audio(str(tmp_path / "loud.wav"))
