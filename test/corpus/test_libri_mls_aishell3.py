"""The LibriSpeech + MLS + AISHELL-3 preparation, on tiny fake trees in the real layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from conftest import write_tone
from tse2.bin import prep_libri_mls_aishell3 as cli
from tse2.corpus import libri_mls_aishell3 as corpus
from tse2.utils.datadir import read_map, validate_data_dir


def fake_librispeech(root: Path) -> None:
    base = root / "LibriSpeech"
    base.mkdir(parents=True)
    (base / "SPEAKERS.TXT").write_text(
        "; ID      |SEX| SUBSET           |MINUTES| NAME\n"
        "103       | F | train-clean-100  | 25.19 | Someone\n"
        "1034      | M | train-clean-100  | 25.00 | Another\n"
        "251       | M | dev-clean        |  8.04 | Third\n"
        "61        | M | test-clean       |  8.08 | Fourth\n")
    for subset, spk, chap in [("train-clean-100", "103", "1240"), ("train-clean-100", "1034", "121119"),
                              ("dev-clean", "251", "136532"), ("test-clean", "61", "70968")]:
        d = base / subset / spk / chap
        lines = []
        for i in range(2):
            utt = f"{spk}-{chap}-{i:04d}"
            write_tone(d / f"{utt}.flac", seconds=0.5)
            lines.append(f"{utt} HELLO WORLD NUMBER {i}")
        (d / f"{spk}-{chap}.trans.txt").write_text("\n".join(lines) + "\n")


def fake_mls(root: Path) -> None:
    base = root / "mls_french"
    base.mkdir(parents=True)
    (base / "metainfo.txt").write_text(
        "SPEAKER   |   GENDER   | PARTITION  |  MINUTES   |  BOOK ID   |  TITLE  |  CHAPTER\n"
        "  1840    |     F      |   train    |  108.5    |    1310    | A book  | Ch 1\n"
        "  2506    |     M      |    dev     |   10.2    |    2000    | B book  | Ch 2\n"
        "  5232    |     F      |    test    |   10.0    |    3000    | C book  | Ch 3\n")
    for split, spk, book in [("train", "1840", "1310"), ("dev", "2506", "2000"), ("test", "5232", "3000")]:
        utt = f"{spk}_{book}_000000"
        write_tone(base / split / "audio" / spk / book / f"{utt}.flac", seconds=0.5)
        (base / split / "transcripts.txt").write_text(f"{utt}\tbonjour tout le monde\n")


def fake_aishell3(root: Path) -> None:
    base = root / "data_aishell3"
    base.mkdir(parents=True)
    (base / "spk-info.txt").write_text(
        "# AISHELL-3 speaker info\n# spk age gender accent\n"
        "SSB0005\tB\tfemale\tnorth\nSSB0009\tC\tmale\tsouth\nSSB0011\tD\tfemale\tnorth\n")
    for part, spk in [("train", "SSB0005"), ("train", "SSB0009"), ("test", "SSB0011")]:
        utt = f"{spk}0001"
        write_tone(base / part / "wav" / spk / f"{utt}.wav", seconds=0.5, fs=44100)
        with open(base / part / "content.txt", "a", encoding="utf-8") as f:
            f.write(f"{utt}.wav\t广 guang3 州 zhou1 女 nv3\n")


@pytest.fixture
def db(tmp_path):
    fake_librispeech(tmp_path / "db")
    fake_mls(tmp_path / "db")
    fake_aishell3(tmp_path / "db")
    return tmp_path / "db"


def test_prepares_valid_speaker_disjoint_dirs(tmp_path, db):
    rc = cli.main(["--librispeech", str(db), "--mls", str(db), "--mls_languages", "french",
                   "--aishell3", str(db), "--aishell3_dev_speakers", "1",
                   "--data_root", str(tmp_path / "data"), "--resample_dir", str(tmp_path / "rs")])
    assert rc == 0
    spk_by_split = {}
    for split in ("train", "dev", "test"):
        d = tmp_path / "data" / split
        assert validate_data_dir(d, fs=16000) == [], split
        spk_by_split[split] = set(read_map(d / "utt2spk").values())
    assert spk_by_split["train"] == {"en-103", "en-1034", "fr-1840", "zh-SSB0005"}
    assert spk_by_split["dev"] == {"en-251", "fr-2506", "zh-SSB0009"}
    train = tmp_path / "data/train"
    assert read_map(train / "text")["zh-SSB00050001"] == "广州女"
    assert read_map(train / "text")["en-103-1240-0001"] == "HELLO WORLD NUMBER 1"
    assert read_map(train / "spk2gender") == {"en-103": "f", "en-1034": "m", "fr-1840": "f", "zh-SSB0005": "f"}
    assert read_map(train / "spk2age") == {"zh-SSB0005": "20"}  # only AISHELL-3 knows ages
    assert read_map(train / "utt2lang")["fr-1840_1310_000000"] == "fr"
    zh_wav = read_map(train / "wav.scp")["zh-SSB00050001"]
    assert zh_wav.startswith(str(tmp_path / "rs")) and sf.info(zh_wav).samplerate == 16000
    assert abs(float(read_map(train / "utt2dur")["zh-SSB00050001"]) - 0.5) < 0.01


def test_layout_errors_name_the_file(tmp_path, db):
    (db / "LibriSpeech" / "SPEAKERS.TXT").unlink()
    with pytest.raises(corpus.CorpusLayoutError, match="SPEAKERS.TXT: missing"):
        corpus.read_librispeech(db)
    assert cli.main(["--data_root", str(tmp_path / "d"), "--resample_dir", str(tmp_path / "r")]) == 1


def test_bad_audio_stops_or_is_skipped(tmp_path, db):
    bad = db / "mls_french/train/audio/1840/1310/1840_1310_000000.flac"
    write_tone(bad, channels=2)
    c = [corpus.read_mls(db, ["french"])]
    with pytest.raises(ValueError, match="has 2 channels"):
        corpus.write_data_dirs(c, tmp_path / "data", 16000, tmp_path / "rs")
    with pytest.raises(ValueError, match="train: every one of its 1 utterances had unusable audio"):
        corpus.write_data_dirs(c, tmp_path / "data", 16000, tmp_path / "rs", skip_bad_audio=True)
    write_tone(db / "mls_french/train/audio/1840/1310/1840_1310_000001.flac")
    with open(db / "mls_french/train/transcripts.txt", "a") as f:
        f.write("1840_1310_000001\tbonsoir\n")
    counts = corpus.write_data_dirs([corpus.read_mls(db, ["french"])], tmp_path / "data", 16000, tmp_path / "rs",
                                    skip_bad_audio=True)
    assert counts == {"train": 1, "dev": 1, "test": 1}


def test_a_transcript_that_is_not_utf8_is_named_with_its_line(tmp_path, db):
    trans = db / "LibriSpeech/dev-clean/251/136532/251-136532.trans.txt"
    trans.write_bytes(trans.read_bytes() + b"251-136532-0002 CAF\xc9 AU LAIT\n")  # Latin-1, not UTF-8
    with pytest.raises(ValueError, match=r"251-136532.trans.txt:3: not UTF-8 text \(byte 20 of the line is 0xc9\)"):
        corpus.read_librispeech(db)
