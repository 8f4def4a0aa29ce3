"""libespeak-ng synthesis: word timings match the audio, parameters act, errors are clear."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import requires_espeak
from tse2.corpus.embedded import to_spoken_text

pytestmark = requires_espeak


@pytest.fixture(scope="module")
def synth():
    from tse2.corpus.espeak import EspeakSynth

    return EspeakSynth()


def frame_db(audio, fs, hop=0.01):
    h = int(hop * fs)
    n = len(audio) // h
    e = (audio[: n * h].reshape(n, h) ** 2).mean(axis=1)
    return 10 * np.log10(e + 1e-12), h


def test_words_sit_on_speech_and_pauses_are_silent(synth):
    text = "The morning train was late, so we walked to the office together."
    out = synth.synthesize(text, "en-us+m3", rate=160, sample_rate=16000)
    assert out.sample_rate == 16000 and out.audio.dtype == np.float32
    assert [w.word.strip(",.") for w in out.words] == text.replace(",", "").replace(".", "").split()
    db, h = frame_db(out.audio, 16000)
    active = db > db.max() - 40
    for w in out.words:
        a, b = int(w.start * 16000) // h, int(w.end * 16000) // h
        assert b > a and active[a:b].mean() > 0.6, w  # speech where words are
    # the comma's pause: between "late" and "so" there is a gap with no speech
    late, so = out.words[4], out.words[5]
    assert so.start - late.end > 0.08
    a, b = int(late.end * 16000) // h + 1, int(so.start * 16000) // h - 1
    assert (db[a:b] < db.max() - 35).all()
    # nothing audible after the last word
    assert (db[int(out.words[-1].end * 16000) // h + 1:] < db.max() - 35).all()
    starts = [w.start for w in out.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in out.words)


def test_pitch_and_rate_parameters_act(synth):
    import librosa

    text = "Please remember to water the plants."
    low = synth.synthesize(text, "en-us+m1", pitch=20, rate=140)
    high = synth.synthesize(text, "en-us+m1", pitch=80, rate=140)
    fast = synth.synthesize(text, "en-us+m1", pitch=20, rate=280)
    f_low = np.nanmedian(librosa.yin(low.audio, fmin=50, fmax=500, sr=16000))
    f_high = np.nanmedian(librosa.yin(high.audio, fmin=50, fmax=500, sr=16000))
    assert f_high > 1.3 * f_low
    assert len(fast.audio) < 0.7 * len(low.audio)


def test_deterministic(synth):
    a = synth.synthesize("Guten Morgen, wie geht es dir heute?", "de+f2", pitch=60)
    b = synth.synthesize("Guten Morgen, wie geht es dir heute?", "de+f2", pitch=60)
    assert np.array_equal(a.audio, b.audio) and a.words == b.words


def test_breathy_variants_do_not_depend_on_the_parents_c_rand_state(synth):
    """+f2/+f3/+f5 breathe with libc rand(): a parent that called it must not change the audio."""
    import ctypes

    libc = ctypes.CDLL(None)
    text = "Die Besprechung wurde verschoben."
    libc.srand(1)
    a = synth.synthesize(text, "de+f5", pitch=34)
    libc.srand(12345)
    for _ in range(7):
        libc.rand()
    b = synth.synthesize(text, "de+f5", pitch=34)
    assert np.array_equal(a.audio, b.audio)


def test_mandarin_through_pinyin(synth):
    spoken, chars = to_spoken_text("zh", "今天天气很好，我们去公园。")
    assert spoken.split()[:2] == ["jin1", "tian1"] and "".join(chars) == "今天天气很好我们去公园"
    out = synth.synthesize(spoken, "cmn-latn-pinyin+f2")
    assert len(out.words) == len(chars)


def test_errors(synth):
    from tse2.corpus.espeak import EspeakError

    with pytest.raises(EspeakError, match="does not know the voice 'xx-nowhere'"):
        synth.synthesize("hello", "xx-nowhere")
    with pytest.raises(ValueError, match="rate=999"):
        synth.synthesize("hello", "en-us", rate=999)
    with pytest.raises(ValueError, match="empty text"):
        synth.synthesize("  ", "en-us")
