import numpy as np
import pytest

from tse2.corpus.styles import STYLES, make_style_plan, with_pauses

SENTS = {"en": [f"this is sentence number {i} of the test." for i in range(40)]}


def test_plan_is_deterministic_speaker_disjoint_and_complete():
    a = make_style_plan(SENTS, {"train": 2, "dev": 1, "test": 1}, utts_per_style=2, seed=3)
    b = make_style_plan(SENTS, {"train": 2, "dev": 1, "test": 1}, utts_per_style=2, seed=3)
    assert a == b
    speakers, utts = a
    assert len(utts) == 4 * 2 * len(STYLES)
    splits = {}
    for s in speakers:
        splits.setdefault(s.spk, set()).add(s.split)
    assert all(len(v) == 1 for v in splits.values())
    for spk in splits:
        texts = [u.text for u in utts if u.spk == spk and u.emotion != "enunciated"]
        assert len(texts) == len(set(texts))  # no sentence twice per speaker
    by = {(u.spk, u.emotion): u for u in utts if u.utt.endswith("_0")}
    s = speakers[0].spk
    assert by[s, "fast"].rate > 1.5 * by[s, "neutral"].rate > 2.5 * by[s, "slow"].rate
    assert by[s, "loud"].volume > 4 * by[s, "soft"].volume
    assert by[s, "monotone"].pitch_range == 0
    assert by[s, "whispered"].voice.endswith(("+whisper", "+whisperf"))
    assert by[s, "high-pitched"].pitch - by[s, "low-pitched"].pitch > 60


def test_unknown_style_is_clear_and_few_sentences_are_reused():
    with pytest.raises(ValueError, match="unknown style 'grumpy'"):
        make_style_plan(SENTS, {"train": 1}, 1, styles=["grumpy"])
    _, utts = make_style_plan(SENTS, {"train": 1}, 4)  # 52 utterances from 40 sentences: reused
    assert len(utts) == 52 and len({u.text for u in utts if u.emotion != "enunciated"}) <= 40


def test_with_pauses():
    assert with_pauses("one two, three.") == "one, two, three."


def test_styles_are_audible_in_synthesis():
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    speakers, utts = make_style_plan(SENTS, {"train": 1}, 1, seed=0)
    got = {}
    for u in utts:
        if u.emotion in ("neutral", "fast", "slow", "loud", "soft", "whispered"):
            out = synth.synthesize(u.text, u.voice, rate=u.rate, pitch=u.pitch, pitch_range=u.pitch_range,
                                   volume=u.volume)
            got[u.emotion] = (len(out.audio) / len(u.text.split()), float(np.sqrt(np.mean(out.audio ** 2))))
    assert got["fast"][0] < 0.8 * got["neutral"][0] < 0.8 * got["slow"][0]
    assert got["loud"][1] > 2 * got["soft"][1]


# ------------------------------------------------------------------ recorded-speaker (MBROLA) voices

MAIN_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
VOICES_DIR = MAIN_ROOT / "tools" / "voices"


def _mbrola_or_skip():
    from tse2.corpus.mbrola import MbrolaMissing, mbrola_synth

    try:
        return mbrola_synth(VOICES_DIR)
    except MbrolaMissing:
        pytest.skip("the MBROLA voices are not installed (make -C tools voices-mbrola)")


def test_mbrola_voices_are_split_by_voice_and_keep_the_espeak_plan():
    from tse2.corpus.mbrola import MBROLA_VOICES

    base = make_style_plan(SENTS, {"train": 1, "dev": 1, "test": 1}, 1, seed=0)
    speakers, utts = make_style_plan(SENTS, {"train": 1, "dev": 1, "test": 1}, 1, seed=0,
                                     mbrola_splits=["train", "test_real"], mbrola_utts_per_style=2)
    assert speakers[:3] == base[0] and utts[:len(base[1])] == base[1]  # the espeak part is unchanged
    mb = {s.spk: s for s in speakers if s.spk.startswith("mb-")}
    en = {n for n, (lang, _, _) in MBROLA_VOICES.items() if lang == "en"}  # SENTS is English only
    assert {s[3:] for s in mb} == {n for n in en if MBROLA_VOICES[n][2] in ("train", "test_real")}
    assert {mb[s].split for s in mb} == {"train", "test_real"}
    assert all(mb[s].gender == MBROLA_VOICES[s[3:]][1] for s in mb)
    mine = [u for u in utts if u.spk in mb]
    assert len(mine) == len(mb) * 2 * len(STYLES)
    whisper = {u.voice for u in mine if u.emotion == "whispered"}
    assert whisper == {f"{s}+whisper" for s in mb}
    assert {u.voice for u in mine if u.emotion == "angry"} == set(mb)  # no croak variant on MBROLA
    with pytest.raises(ValueError, match="unknown MBROLA split 'test'"):
        make_style_plan(SENTS, {"train": 1}, 1, mbrola_splits=["test"])


def test_mbrola_voice_splits_are_disjoint_and_balanced():
    from tse2.corpus.mbrola import MBROLA_VOICES

    test = [g for _, g, split in MBROLA_VOICES.values() if split == "test_real"]
    assert len(test) == 6 and test.count("f") == 2
    for lang in ("en", "fr", "de", "es"):  # the test languages (the others are training-only)
        train = [g for la, g, split in MBROLA_VOICES.values() if la == lang and split == "train"]
        assert "f" in train and "m" in train, lang  # no test language is one gender in training


def test_missing_mbrola_is_one_line_naming_the_make_target(tmp_path):
    from tse2.corpus.mbrola import MbrolaMissing, mbrola_paths

    with pytest.raises(MbrolaMissing, match=r"make -C tools voices-mbrola.*drop mbrola from --voices"):
        mbrola_paths(tmp_path)


def test_whisperize_removes_the_pitch_and_keeps_level_timing_and_seed():
    import librosa

    from tse2.corpus.mbrola import whisperize

    fs = 16000
    t = np.arange(int(1.5 * fs)) / fs
    f0 = 140 + 20 * np.sin(2 * np.pi * 1.5 * t)
    pulses = np.sign(np.sin(2 * np.pi * np.cumsum(f0) / fs)) * 0.2  # a voiced buzz with formant-free source
    vowel = librosa.effects.preemphasis(pulses.astype(np.float32), coef=-0.9)  # a low-pass tilt
    w1, w2 = whisperize(vowel, fs, seed=1), whisperize(vowel, fs, seed=1)
    assert np.array_equal(w1, w2) and not np.array_equal(w1, whisperize(vowel, fs, seed=2))
    assert len(w1) == len(vowel)
    assert np.sqrt(np.mean(w1 ** 2)) == pytest.approx(np.sqrt(np.mean(vowel ** 2)), rel=0.02)
    true_f0 = f0[librosa.frames_to_samples(np.arange(len(t) // 512 + 1)).clip(max=len(t) - 1)]

    def on_pitch(x):  # share of frames where pyin hears the buzz's own F0 (within 10 %)
        est, voiced, _ = librosa.pyin(x, fmin=60, fmax=400, sr=fs)
        return float(np.mean(voiced & (np.abs(est / true_f0[:len(est)] - 1) < 0.1)))

    assert on_pitch(vowel) > 0.8 and on_pitch(w1) < 0.05


def test_mbrola_styles_are_audible_at_the_voices_own_rate(tmp_path):
    import librosa
    import soundfile as sf

    from tse2.corpus.embedded import synthesize_plan

    synth = _mbrola_or_skip()
    _, utts = make_style_plan(SENTS, {}, 1, styles=["neutral", "high-pitched", "low-pitched", "slow", "whispered"],
                              mbrola_splits=["test_real"], mbrola_utts_per_style=1)
    assert synthesize_plan(utts, tmp_path, 16000, synth=synth) == len(utts)
    got = {}
    for u in utts:
        x, fs = sf.read(tmp_path / u.spk / f"{u.utt}.wav", dtype="float32")
        f0, voiced, _ = librosa.pyin(x, fmin=60, fmax=500, sr=fs)
        got[u.emotion] = (len(x) / fs, float(np.nanmedian(f0)) if voiced.any() else 0.0, voiced.mean())
    # a 9-word sentence at ~170 words/min: ~3 s (a voice read at espeak's 22.05 kHz would be 1.4x short)
    assert 2.0 < got["neutral"][0] < 5.0 and got["slow"][0] > 1.4 * got["neutral"][0]
    assert got["high-pitched"][1] > 1.25 * got["neutral"][1] > 1.5 * got["low-pitched"][1]
    assert got["neutral"][2] > 0.5 and got["whispered"][2] < 0.1
