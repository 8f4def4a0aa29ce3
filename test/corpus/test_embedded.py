"""The embedded corpus: determinism, speaker-disjoint splits, restartable synthesis, data dirs."""

from __future__ import annotations

import hashlib

import pytest

from conftest import ROOT, requires_espeak
from tse2.corpus import embedded
from tse2.utils.datadir import read_ctm, read_map, validate_data_dir

SENTENCES = ROOT / "egs/mini_espeak/tse2/local/sentences"


def _plan(seed=0, per=None, n_utt=2):
    sents = embedded.read_sentences(SENTENCES, list(embedded.LANGS))
    return embedded.make_plan(sents, per or {"train": 2, "dev": 2, "test": 2}, n_utt, seed)


def test_sentence_lists_cover_every_language():
    sents = embedded.read_sentences(SENTENCES, list(embedded.LANGS))
    assert set(sents) == {"en", "fr", "de", "es", "zh"} and all(len(v) >= 20 for v in sents.values())
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        embedded.read_sentences(SENTENCES, ["xx"])


def test_a_sentence_list_that_is_not_utf8_is_named_with_its_line(tmp_path):
    (tmp_path / "fr.txt").write_bytes("# sentences\nBonjour.\n".encode() + "Ça va très bien.\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"fr.txt:3: not UTF-8 text \(byte 1 of the line is 0xc7\); convert the file"):
        embedded.read_sentences(tmp_path, ["fr"])


def test_plan_is_deterministic_and_speaker_disjoint():
    s1, u1 = _plan()
    s2, u2 = _plan()
    assert s1 == s2 and u1 == u2
    assert _plan(seed=1)[1] != u1
    splits = {}
    for s in s1:
        assert splits.setdefault(s.spk, s.split) == s.split
    by_split = {sp: {s.spk for s in s1 if s.split == sp} for sp in embedded.SPLITS}
    assert not (by_split["train"] & by_split["dev"]) and not (by_split["dev"] & by_split["test"])
    for lang in embedded.LANGS:  # both genders in every language and split
        for split in embedded.SPLITS:
            assert {s.gender for s in s1 if s.lang == lang and s.split == split} == {"f", "m"}
    assert all(u.utt.startswith(u.spk) for u in u1)


def test_scale_adds_speakers_without_changing_existing_ones():
    small, _ = _plan(per={"train": 2, "dev": 0, "test": 0})
    big, _ = _plan(per={"train": 4, "dev": 0, "test": 0})
    assert set(small) <= set(big) and len(big) == 2 * len(small)


def test_speaker_parameters_are_in_range():
    speakers, utts = _plan(per={"train": 10, "dev": 0, "test": 0})
    assert all(18 <= s.age <= 75 and 10 <= s.pitch <= 90 and 110 <= s.rate <= 230 for s in speakers)
    assert all(0 <= u.pitch <= 99 and 80 <= u.rate <= 450 and u.emotion in embedded.EMOTIONS for u in utts)
    assert len({s.variant for s in speakers}) > 5


@requires_espeak
def test_synthesis_is_restartable_and_bit_identical(tmp_path):
    speakers, utts = _plan(per={"train": 2, "dev": 2, "test": 2}, n_utt=1)
    utts = [u for u in utts if u.lang in ("en", "zh")]
    wav_dir = tmp_path / "wav"
    assert embedded.synthesize_plan(utts, wav_dir) == len(utts)
    digest = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in wav_dir.rglob("*.wav")}
    assert embedded.synthesize_plan(utts, wav_dir) == 0  # rerun: nothing to do
    victim = next(wav_dir.rglob("*.json"))
    victim.write_text("{half a json")  # a damaged sidecar is redone, not trusted
    assert embedded.synthesize_plan(utts, wav_dir) == 1
    again = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in wav_dir.rglob("*.wav")}
    assert again == digest

    stats = embedded.write_data_dirs(speakers, utts, wav_dir, tmp_path / "data")
    for split in embedded.SPLITS:
        d = tmp_path / "data" / split
        assert validate_data_dir(d, fs=16000) == []
        assert stats[split]["utterances"] == 4
        u2l = read_map(d / "utt2lang")
        ctm = read_ctm(d / "words.ctm")
        for utt, text in read_map(d / "text").items():
            words = [w.word for w in ctm[utt]]
            if u2l[utt] == "zh":
                assert "".join(words) == "".join(embedded.CJK.findall(text))
            else:
                assert words[0] in text and words[-1] in text
            assert ctm[utt][-1].start + ctm[utt][-1].dur <= float(read_map(d / "utt2dur")[utt]) + 1e-3
    report = embedded.corpus_report(speakers, utts, stats)
    assert "| train | 4 | 4 |" in report
