"""The voices corpus: each source reader on a fixture tree laid out as its Debian package is, the
clip checks (clipped, silent), utterance assembly, gender, the held-out real-speech splits, and a
missing package or a banned source as a one-line message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, requires_espeak
from tse2.corpus import voices
from tse2.utils.datadir import read_map, validate_data_dir

FS = 16000


pytestmark = requires_espeak


@pytest.fixture(scope="module")
def speech():
    """espeak sentences, a low (male) and a high (female) voice, at 22.05 kHz as files come."""
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    lines = ["The red bird sits on the fence.", "A small boat sails on the lake.", "Two dogs run in the park."]
    low = [synth.synthesize(t, "en-us", pitch=20, sample_rate=22050).audio for t in lines]
    high = [synth.synthesize(t, "en-us+f3", pitch=50, sample_rate=22050).audio for t in lines]
    return low, high


def write(path: Path, audio: np.ndarray, fs: int = 22050, stereo: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = 0.5 * audio / max(1e-9, np.abs(audio).max())
    a = np.pad(a, (int(0.3 * fs), int(0.3 * fs)))  # leading and trailing silence to trim
    sf.write(str(path), np.stack([a, a], 1) if stereo else a, fs, format="OGG" if path.suffix == ".ogg" else "WAV")


@pytest.fixture(scope="module")
def tree(tmp_path_factory, speech):
    """tools/voices/<package>/... with four tuxpaint languages (three held out for test), hedgewars
    packs (one of them Robot), asterisk ru, codec2; plus a clipped and a silent clip."""
    low, high = speech
    top = tmp_path_factory.mktemp("voices")
    stamps = top / "tuxpaint-stamps-default/usr/share/tuxpaint/stamps/animals/birds"
    for k in range(6):
        for lang, voice in (("fr", low), ("el", high), ("be", high), ("ca", low)):
            write(stamps / f"bird{k}_desc_{lang}.ogg", voice[k % 3], stereo=(k == 0))
        (stamps / f"bird{k}.txt").write_text(f"A bird {k}.\nfr.utf8=Un oiseau {k}.\nel.utf8=Ένα πουλί {k}.\n"
                                             f"be.utf8=Птушка {k}.\n", encoding="utf-8")
    write(stamps / "bird0_desc_da.ogg.ogg", low[0])  # a packaging slip: not a language
    loud = np.clip(low[1] / np.abs(low[1]).max() * 3.0, -1, 1)
    sf.write(str(stamps / "clipped_desc_ca.ogg"), loud, 22050, format="OGG")
    sf.write(str(stamps / "silent_desc_ca.ogg"), np.zeros(22050, np.float32), 22050, format="OGG")
    hw = top / "hedgewars-data/usr/share/games/hedgewars/Data/Sounds/voices"
    for pack in ("Default", "Default_es", "Robot"):
        for k in range(3):
            write(hw / pack / f"Line{k}.ogg", high[k], fs=44100)
    ru = top / "asterisk-core-sounds-ru-wav/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"
    for k in range(4):
        write(ru / f"prompt{k}.wav", high[k % 3], fs=8000)
    write(ru / "silence/1.wav", np.zeros(800), fs=8000)
    c2 = top / "codec2-examples/usr/share/codec2/wav"
    long = np.concatenate([np.concatenate([x, np.zeros(int(0.5 * 22050))]) for x in low * 3])
    write(c2 / "morig.wav", long, fs=22050)
    write(c2 / "all.wav", long, fs=22050)
    return top


def test_readers_on_package_layouts(tree):
    roots = voices.Roots(tree)
    tux = voices.read_tuxpaint(roots)
    assert {c.speaker for c in tux} == {"tuxpaint-fr", "tuxpaint-el", "tuxpaint-be", "tuxpaint-ca"}
    assert not any(c.path.endswith(".ogg.ogg") for c in tux)
    fr = [c for c in tux if c.speaker == "tuxpaint-fr"]
    assert fr[0].lang == "fr" and fr[0].text.startswith("Un oiseau")
    hw = voices.read_hedgewars(roots)
    assert {c.speaker for c in hw} == {"hedgewars-default", "hedgewars-defaultes"}  # Robot skipped
    assert {c.group for c in hw} == {"hedgewars"} and {c.lang for c in hw} == {"en", "es"}
    ast = voices.read_asterisk  # needs the it package too: a clear error naming it
    with pytest.raises(voices.VoicesError, match="asterisk-prompt-it-menardi-wav.*make -C tools voices"):
        ast(roots)
    c2 = voices.read_codec2(roots)
    assert [Path(c.path).name for c in c2] == ["morig.wav"]  # all.wav repeats the others


def test_missing_package_and_banned_sources(tmp_path):
    with pytest.raises(voices.VoicesError, match=r"tuxpaint-stamps-default.*make -C tools voices"):
        voices.read_tuxpaint(voices.Roots(tmp_path, system_root=tmp_path))
    assert voices.parse_sources("espeak,recorded, festival") == list(voices.RECORDED) + ["festival"]
    for bad in ("flite", "asterisk-core-sounds-en"):
        with pytest.raises(voices.VoicesError, match="never used"):
            voices.parse_sources(f"espeak,{bad}")
    with pytest.raises(voices.VoicesError, match="unknown voices source 'piperr'"):
        voices.parse_sources("piperr")


def test_clip_checks(speech):
    from tse2.attributes.segments import SileroVAD

    vad = SileroVAD()
    low, _ = speech
    x = voices.resample(low[0] / np.abs(low[0]).max() * 0.5, 22050, FS)
    padded = np.concatenate([np.zeros(FS // 2, np.float32), x, np.zeros(FS // 2, np.float32)])
    out, why = voices.clean_clip(padded, FS, vad)
    assert why == "" and len(out) < len(padded) - 0.6 * FS  # trimmed to the speech
    active = out[np.abs(out) > 1e-3]
    assert abs(20 * np.log10(np.sqrt(np.mean(out ** 2))) - voices.LEVEL_DB) < 6 and active.size
    assert voices.clean_clip(np.clip(x * 20, -1, 1), FS, vad) == (None, "clipped")
    assert voices.clean_clip(np.zeros(FS, np.float32), FS, vad)[1] in ("no speech", "silent")
    pieces = voices.cut_long(np.tile(padded, 5), FS, vad, max_len=6.0)
    assert len(pieces) >= 2 and max(len(p) for p in pieces) <= 6.0 * FS


def test_gender_rule():
    assert voices.speaker_gender([110, 120, 130]) == "m"
    assert voices.speaker_gender([200, 210]) == "f"
    assert voices.speaker_gender([155, 160]) == ""  # the margin between the two
    assert voices.speaker_gender([300, 320]) == ""  # a child or an acted voice: unknown
    assert voices.speaker_gender([]) == ""


def build(tree, tmp):
    return voices.build(["tuxpaint", "hedgewars", "codec2"], voices.Roots(tree), FS, seed=3, work_dir=tmp / "work",
                        max_utts=20, log=lambda m: None)


def test_build_is_deterministic_and_splits_are_speaker_disjoint(tree, tmp_path):
    utts = build(tree, tmp_path)
    again = build(tree, tmp_path)
    assert [u.utt for u in utts] == [u.utt for u in again]
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(utts, again))
    for u in utts:
        assert voices.MIN_UTT * FS <= len(u.audio) <= 6.6 * FS and np.abs(u.audio).max() <= 0.95 + 1e-6
    gender = {u.speaker: u.gender for u in utts}
    assert gender["tuxpaint-fr"] == "m" and gender["tuxpaint-el"] == "f"
    stats = voices.write_corpus(utts, tmp_path / "wav", tmp_path / "data", FS)
    assert set(stats) == {"voices_train", "test_real"}  # el and fr are held out for test by name
    spk = voices.speakers_by_split(tmp_path / "data", stats)
    assert spk["test_real"] == {"tuxpaint-fr", "tuxpaint-el", "tuxpaint-be"}
    assert not spk["test_real"] & spk["voices_train"]
    assert all(s in voices.REAL_TEST for s in spk["test_real"])
    d = tmp_path / "data/test_real"
    validate_data_dir(d, fs=FS)
    assert set(read_map(d / "utt2lang").values()) == {"fr", "el", "be"}
    assert read_map(d / "spk2gender") == {"tuxpaint-be": "f", "tuxpaint-el": "f", "tuxpaint-fr": "m"}
    # hedgewars packs share actors: one group, all in training; their gender is not guessed
    train = read_map(tmp_path / "data/voices_train/utt2source")
    assert {"hedgewars", "codec2", "tuxpaint"} <= set(train.values())
    assert "hedgewars-default" not in read_map(tmp_path / "data/voices_train/spk2gender")
    table = voices.corpus_table(utts, FS)
    assert "| tuxpaint | recorded | test_real | 3 (2/1/0) |" in table and "GPL-2" in table


def test_only_the_real_splits_reads_only_held_out_speakers(tree, tmp_path):
    utts = voices.build(["tuxpaint", "hedgewars"], voices.Roots(tree), FS, seed=3, work_dir=tmp_path,
                        max_utts=20, log=lambda m: None, splits=["dev_real", "test_real"])
    assert {u.speaker for u in utts} == {"tuxpaint-fr", "tuxpaint-el", "tuxpaint-be"}


@pytest.mark.skipif(not (ROOT / "tools/voices/tuxpaint-stamps-default/.done").is_file(),
                    reason="tools/voices/tuxpaint-stamps-default is not unpacked (make install)")
def test_installed_tuxpaint_holds_the_held_out_speakers():
    clips = voices.read_tuxpaint(voices.Roots(ROOT / "tools/voices"))
    speakers = {c.speaker for c in clips}
    assert len(speakers) >= 10 and set(voices.REAL_TEST + voices.REAL_DEV) <= speakers
    assert sum(1 for c in clips if c.text) > 0.9 * len(clips)


# ------------------------------------------------------------------ the MBROLA source (recorded-speaker timbres)


def test_mbrola_source_missing_is_one_line(tmp_path):
    assert voices.parse_sources("espeak,mbrola") == ["mbrola"]
    with pytest.raises(voices.VoicesError, match=r"voices source 'mbrola'.*make -C tools voices-mbrola"):
        voices.build(["mbrola"], voices.Roots(tmp_path), FS, 0, tmp_path / "work")
    with pytest.raises(voices.VoicesError, match="needs --voices_dir"):
        voices.mbrola_plan(voices.Roots(None), 2, 0)


def test_mbrola_source_renders_each_voice_with_its_seeded_prosody(tmp_path):
    """The plan is a pure function of the seed; a clip planned low-pitched is heard lower than one of
    the same voice planned high-pitched; the rendered wav is at the corpus rate and level."""
    import librosa

    from tse2.corpus.mbrola import MBROLA_VOICES, MbrolaMissing, mbrola_paths

    roots = voices.Roots(ROOT / "tools/voices")
    try:
        mbrola_paths(roots.voices_dir)
    except MbrolaMissing:
        pytest.skip("the MBROLA voices are not installed (make -C tools voices-mbrola)")
    plan = voices.mbrola_plan(roots, 6, seed=0)
    assert plan == voices.mbrola_plan(roots, 6, seed=0) and plan != voices.mbrola_plan(roots, 6, seed=1)
    assert {c.gender for c in plan if c.speaker == "mbrola-us1"} == {MBROLA_VOICES["us1"][1]}
    lo, hi = voices.MBROLA_PROSODY["pitch"]
    for c in plan:
        assert lo <= int(c.path.split(":")[3]) <= hi and c.text
    us1 = [c for c in plan if c.speaker == "mbrola-us1"]
    low = voices.replace(us1[0], path="mbrola:us1:170:30:50:0000")
    high = voices.replace(us1[0], path="mbrola:us1:170:70:50:0001")
    speak = voices.MbrolaSpeaker(roots, FS)
    f0 = {}
    for c in (low, high):
        wav = speak(c, tmp_path / f"{c.path.split(':')[-1]}.wav")
        x, fs = sf.read(wav, dtype="float32")
        assert fs == FS and len(x) > FS and 0.02 < np.sqrt(np.mean(x ** 2)) < 0.3
        est, voiced, _ = librosa.pyin(x, fmin=60, fmax=500, sr=fs)
        f0[c.path.split(":")[3]] = float(np.nanmedian(est[voiced]))
    assert f0["70"] > 1.2 * f0["30"]


def test_a_broken_synthesizer_voice_is_left_out_with_one_line(tmp_path):
    """An installed but broken voice (a Festival voice missing its own files) does not stop the
    corpus: its clips are dropped with one line naming it; every voice broken is an error."""
    clips = [voices.Clip("festival", spk, "en", f"festival:{spk}:latin-1:{k:04d}", text="A bird.")
             for spk in ("festival-good", "festival-bad") for k in range(3)]

    def speak(clip, out):
        if clip.speaker == "festival-bad":
            raise voices.VoicesError("festival voice bad failed: SIOD ERROR: could not open file bad_phones.scm")
        out.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(out), np.zeros(1600, np.float32), FS)
        return out

    logged = []
    got = voices.synthesize_all(clips, tmp_path, 2, speak=speak, log=logged.append)
    assert {c.speaker for c in got} == {"festival-good"} and len(got) == 3
    assert len(logged) == 1 and "festival-bad left out" in logged[0] and "bad_phones.scm" in logged[0]
    with pytest.raises(voices.VoicesError, match="every voice failed"):
        voices.synthesize_all([c for c in clips if c.speaker == "festival-bad"], tmp_path / "b", 1, speak=speak,
                              log=logged.append)
