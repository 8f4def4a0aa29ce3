"""validate_data_dir on a good dir and on each defect it must name (file and line)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import write_tone
from tse2.bin import validate_data_dir as cli
from tse2.utils.datadir import (
    CtmWord, DataDirError, read_ctm, read_map, spk2utt_from_utt2spk, validate_data_dir, write_ctm, write_map,
)


def make_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    utts = {"spkA-u1": "spkA", "spkA-u2": "spkA", "spkB-u1": "spkB"}
    wavs = {u: str(write_tone(tmp_path / "wav" / f"{u}.wav")) for u in utts}
    write_map(d / "wav.scp", wavs)
    write_map(d / "utt2spk", utts)
    write_map(d / "spk2utt", spk2utt_from_utt2spk(utts))
    write_map(d / "text", {u: "hello world" for u in utts})
    write_map(d / "spk2gender", {"spkA": "f", "spkB": "m"})
    write_map(d / "spk2age", {"spkA": "31"})  # partial metadata is allowed
    write_ctm(d / "words.ctm", [CtmWord(u, 0.1, 0.3, "hello") for u in utts])
    return d


def test_valid_dir(tmp_path):
    d = make_dir(tmp_path)
    assert validate_data_dir(d, fs=16000) == []
    assert cli.main([str(d), "--fs", "16000"]) == 0


def _one_error(d: Path, fragment: str, **kw) -> str:
    errors = validate_data_dir(d, **kw)
    assert errors, "the defect was not detected"
    assert any(fragment in e for e in errors), errors
    return next(e for e in errors if fragment in e)


def test_unsorted(tmp_path):
    d = make_dir(tmp_path)
    (d / "text").write_text("spkB-u1 x\nspkA-u1 y\nspkA-u2 z\n")
    err = _one_error(d, "not sorted")
    assert err.startswith(f"{d / 'text'}:2:")


def test_duplicate_key(tmp_path):
    d = make_dir(tmp_path)
    (d / "text").write_text("spkA-u1 x\nspkA-u1 y\nspkA-u2 z\nspkB-u1 w\n")
    assert _one_error(d, "duplicate key").startswith(f"{d / 'text'}:2:")


def test_id_missing_from_another_file(tmp_path):
    d = make_dir(tmp_path)
    (d / "text").write_text("spkA-u1 x\nspkB-u1 w\n")
    err = _one_error(d, "missing here")
    assert "spkA-u2" in err and str(d / "text") in err


def test_extra_id(tmp_path):
    d = make_dir(tmp_path)
    (d / "spk2gender").write_text("spkA f\nspkB m\nspkC f\n")
    assert _one_error(d, "'spkC' is not in utt2spk").startswith(f"{d / 'spk2gender'}:3:")


def test_utt_not_prefixed_by_speaker(tmp_path):
    d = make_dir(tmp_path)
    write_map(d / "utt2spk", {"spkA-u1": "spkA", "spkA-u2": "spkA", "spkB-u1": "spkA"})
    err = _one_error(d, "is not prefixed by its speaker id")
    assert err.startswith(f"{d / 'utt2spk'}:3:")


def test_missing_audio(tmp_path):
    d = make_dir(tmp_path)
    Path(read_map(d / "wav.scp")["spkB-u1"]).unlink()
    assert _one_error(d, "does not exist").startswith(f"{d / 'wav.scp'}:3:")


@pytest.mark.parametrize("entry,fragment", [
    ("sox in.flac -t wav - |", "pipe entries ('<command> |') are not supported"),
    ("{ark}:1234", "Kaldi archive entries ('<file.ark>:<offset>') are not supported"),
])
def test_kaldi_extended_filenames_are_refused_with_their_line(tmp_path, entry, fragment):
    """tse2's readers take audio files; the validator says so at the line instead of stage 2 failing."""
    d = make_dir(tmp_path)
    ark = tmp_path / "feats.ark"
    ark.write_bytes(b"\0" * 2000)
    wavs = read_map(d / "wav.scp")
    wavs["spkA-u2"] = entry.format(ark=ark)
    write_map(d / "wav.scp", wavs)
    assert _one_error(d, fragment).startswith(f"{d / 'wav.scp'}:2: spkA-u2:")


@pytest.mark.parametrize("defect,fragment", [
    ("rate", "sample rate is 8000 Hz, expected 16000 Hz"),
    ("stereo", "has 2 channels"),
    ("empty", "contains no samples"),
    ("corrupt", "unreadable or corrupt audio"),
])
def test_bad_audio(tmp_path, defect, fragment):
    d = make_dir(tmp_path)
    path = Path(read_map(d / "wav.scp")["spkA-u2"])
    if defect == "rate":
        write_tone(path, fs=8000)
    elif defect == "stereo":
        write_tone(path, channels=2)
    elif defect == "empty":
        sf.write(str(path), np.zeros(0, dtype=np.float32), 16000)
    else:
        path.write_bytes(b"RIFF\x00\x00not really a wav file")
    err = _one_error(d, fragment, fs=16000)
    assert err.startswith(f"{d / 'wav.scp'}:2:") and str(path) in err


def test_required_file_and_gender(tmp_path):
    d = make_dir(tmp_path)
    (d / "spk2gender").write_text("spkA female\nspkB m\n")
    _one_error(d, "gender 'female'")
    (d / "spk2utt").unlink()
    _one_error(d, "required file is missing")


def test_bad_ctm(tmp_path):
    d = make_dir(tmp_path)
    (d / "words.ctm").write_text("spkA-u1 1 0.5 0.2 b\nspkA-u1 1 0.1 0.2 a\nspkZ-u9 1 0.1 -1 c\n")
    _one_error(d, "not sorted by utterance id")
    _one_error(d, "'spkZ-u9' is not in utt2spk")
    _one_error(d, "duration > 0")


def test_cli_exit_code_and_message(tmp_path, capsys):
    d = make_dir(tmp_path)
    (d / "utt2spk").write_text("spkA-u2 spkA\nspkA-u1 spkA\nspkB-u1 spkB\n")
    assert cli.main([str(d)]) == 1
    err = capsys.readouterr().err
    assert "utt2spk:2: not sorted" in err and "INVALID" in err


def test_write_map_sorts_in_c_order_and_rejects_bad_keys(tmp_path):
    write_map(tmp_path / "m", {"b": "1", "B": "2", "a_x": "3", "a": "4"})
    assert [ln.split()[0] for ln in (tmp_path / "m").read_text().splitlines()] == ["B", "a", "a_x", "b"]
    with pytest.raises(DataDirError, match="invalid key"):
        write_map(tmp_path / "n", {"a b": "1"})
    with pytest.raises(DataDirError, match="duplicate key"):
        (tmp_path / "d").write_text("a 1\na 2\n")
        read_map(tmp_path / "d")


def test_ctm_round_trip(tmp_path):
    words = [CtmWord("u2", 0.5, 0.25, "b"), CtmWord("u1", 0.0, 0.5, "a")]
    write_ctm(tmp_path / "w.ctm", words)
    back = read_ctm(tmp_path / "w.ctm")
    assert list(back) == ["u1", "u2"] and back["u2"][0].dur == 0.25


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    d = make_dir(tmp_path)
    (d / "text").write_bytes("spkA-u1 hello\nspkA-u2 caf\xe9\nspkB-u1 x\n".encode("latin-1"))
    err = _one_error(d, "not UTF-8 text")
    assert err.startswith(f"{d / 'text'}:2: not UTF-8 text (byte 12 of the line is 0xe9)")
    with pytest.raises(DataDirError, match=r"text:2: not UTF-8"):
        read_map(d / "text")
