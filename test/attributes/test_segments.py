"""Segments: speaking duration with known pauses, trim points, VAD on speech, TextGrid reader."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, requires_espeak
from tse2.attributes.segments import (
    TextGridError, mfa_available, read_textgrid, run_mfa_align, speaking_duration, trim_points,
)

FIXTURES = ROOT / "test/fixtures"


def test_short_pause_kept_long_pause_excluded():
    bursts = [(0.0, 0.5, "a"), (0.8, 1.3, "b"), (2.1, 2.6, "c")]  # pauses 0.3 s and 0.8 s
    assert speaking_duration(bursts) == pytest.approx(0.5 + 0.3 + 0.5 + 0.5)
    assert speaking_duration(bursts, max_pause=1.0) == pytest.approx(2.6)
    assert speaking_duration([(0.0, 1.0, ""), (0.5, 1.2, "")]) == pytest.approx(1.2)  # overlap counts once
    assert speaking_duration([]) == 0.0
    assert trim_points(bursts) == (0.0, 2.6) and trim_points([]) == (None, None)


@requires_espeak
def test_vad_on_speech_bursts_with_known_pauses():
    from tse2.attributes.analyzer import AttributeAnalyzer
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    parts = [synth.synthesize(t, "en-us+m3", rate=170).audio for t in
             ("The morning train was late.", "We walked to the office.", "It was a lovely day.")]

    def speech(a):  # the phrase without espeak's own leading/trailing silence
        idx = np.flatnonzero(np.abs(a) > 1e-3)
        return a[idx[0]: idx[-1] + 1]

    parts = [speech(p) for p in parts]
    gap = lambda s: np.zeros(int(s * 16000), dtype=np.float32)  # noqa: E731
    audio = np.concatenate([gap(0.5), parts[0], gap(0.3), parts[1], gap(0.8), parts[2], gap(0.5)])
    speech_s = sum(len(p) for p in parts) / 16000
    attrs = AttributeAnalyzer()("u", audio, 16000, "en", text="The morning train was late")
    assert attrs.align_method == "vad"
    # the 0.3 s pause counts, the 0.8 s pause does not (VAD pads segments by ~30 ms)
    assert attrs.speaking_duration == pytest.approx(speech_s + 0.3, abs=0.15)
    assert attrs.speech_start == pytest.approx(0.5, abs=0.1)
    assert attrs.speech_end == pytest.approx(len(audio) / 16000 - 0.5, abs=0.1)


def test_textgrid_long_format():
    words = read_textgrid(FIXTURES / "mfa_long.TextGrid")
    assert words == [(0.31, 0.72, "hello"), (1.05, 1.6, "world")]
    assert read_textgrid(FIXTURES / "mfa_long.TextGrid", tier="phones") == [(0.31, 0.4, "HH")]


def test_textgrid_short_format_with_point_tier_and_quotes():
    assert read_textgrid(FIXTURES / "short.TextGrid") == [(0.2, 0.9, 'say "cheese"')]
    with pytest.raises(TextGridError, match="is a TextTier"):
        read_textgrid(FIXTURES / "short.TextGrid", tier="events")


def test_textgrid_errors(tmp_path):
    with pytest.raises(TextGridError, match="no tier named 'syllables'"):
        read_textgrid(FIXTURES / "mfa_long.TextGrid", tier="syllables")
    bad = tmp_path / "x.TextGrid"
    bad.write_text("hello")
    with pytest.raises(TextGridError, match="not a Praat TextGrid"):
        read_textgrid(bad)
    cut = tmp_path / "cut.TextGrid"
    cut.write_text((FIXTURES / "mfa_long.TextGrid").read_text()[:600])
    with pytest.raises(TextGridError, match="malformed TextGrid"):
        read_textgrid(cut)
    utf16 = tmp_path / "u16.TextGrid"
    utf16.write_bytes((FIXTURES / "short.TextGrid").read_text().encode("utf-16"))
    assert read_textgrid(utf16) == [(0.2, 0.9, 'say "cheese"')]


@pytest.mark.skipif(mfa_available(), reason="mfa is installed here")
def test_mfa_missing_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="`mfa` is not on PATH"):
        run_mfa_align(tmp_path, "dict", "model", tmp_path / "out")
