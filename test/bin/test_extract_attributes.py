"""extract_attributes: parts, merge, restart, auto alignment choice, MFA TextGrids, clear errors."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, write_tone
from tse2.bin import extract_attributes as tool
from tse2.utils.datadir import CtmWord, spk2utt_from_utt2spk, write_ctm, write_map


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    utts = {f"spk{s}-u{i}": f"spk{s}" for s in "AB" for i in (1, 2)}
    write_map(d / "wav.scp", {u: str(write_tone(tmp_path / "wav" / f"{u}.wav", seconds=1.0, f0=140 + 40 * i))
                              for i, u in enumerate(utts)})
    write_map(d / "utt2spk", utts)
    write_map(d / "spk2utt", spk2utt_from_utt2spk(utts))
    write_map(d / "text", {u: "hello world" for u in utts})
    write_map(d / "utt2lang", {u: "en" for u in utts})
    write_ctm(d / "words.ctm", [CtmWord(u, s, 0.3, w) for u in utts for s, w in ((0.1, "hello"), (0.5, "world"))])
    return d


def _extract(d, part, out, *extra):
    return tool.main(["extract", "--data_dir", str(d), "--wav_scp", str(part), "--out", str(out), *extra])


def test_parts_merge_and_their_settings(data, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    lines = (data / "wav.scp").read_text().splitlines(keepends=True)
    for k, chunk in enumerate((lines[:2], lines[2:]), 1):
        (tmp_path / f"wav.{k}.scp").write_text("".join(chunk))
        assert _extract(data, tmp_path / f"wav.{k}.scp", tmp_path / f"a.{k}.jsonl") == 0
    assert "--align_method auto: using given" in caplog.text
    parts = [str(tmp_path / f"a.{k}.jsonl") for k in (1, 2)]
    assert tool.main(["merge", "--data_dir", str(data), "--out", str(data / "attributes.jsonl"), *parts]) == 0
    rows = [json.loads(line) for line in (data / "attributes.jsonl").read_text().splitlines()]
    assert [r["utt"] for r in rows] == ["spkA-u1", "spkA-u2", "spkB-u1", "spkB-u2"]
    assert [round(r["f0_mean"]) for r in rows] == [140, 180, 220, 260]
    assert all(r["syllables"] == 3 and r["speaking_duration"] == pytest.approx(0.7) for r in rows)
    meta = json.loads((data / "attributes.settings.json").read_text())
    assert meta["settings"]["f0"]["method"] == "praat" and meta["missing"]["f0_mean"] == 0

    caplog.clear()
    # a part redone with other settings records them, and merging it with the other part is refused
    assert _extract(data, tmp_path / "wav.1.scp", tmp_path / "a.1.jsonl", "--fmax", "400") == 0
    assert tool.main(["merge", "--data_dir", str(data), "--out", str(tmp_path / "m.jsonl"), *parts]) == 1
    assert "other settings" in caplog.text


def test_merge_refuses_missing_utterances(data, tmp_path, caplog):
    (tmp_path / "p.scp").write_text((data / "wav.scp").read_text().splitlines()[0] + "\n")
    assert _extract(data, tmp_path / "p.scp", tmp_path / "a.1.jsonl") == 0
    assert tool.main(["merge", "--data_dir", str(data), "--out", str(tmp_path / "m.jsonl"),
                      str(tmp_path / "a.1.jsonl")]) == 1
    assert "3 utterance(s)" in caplog.text and "have no attributes" in caplog.text
    assert tool.main(["merge", "--data_dir", str(data), "--out", str(tmp_path / "m.jsonl"),
                      str(tmp_path / "a.9.jsonl")]) == 1
    assert "missing output of an extraction job" in caplog.text


def test_mfa_textgrids_and_vad(data, tmp_path):
    tg = tmp_path / "tg"
    tg.mkdir()
    for u in ("spkA-u1", "spkA-u2", "spkB-u1", "spkB-u2"):
        shutil.copy(ROOT / "test/fixtures/mfa_long.TextGrid", tg / f"{u}.TextGrid")
    (data / "words.ctm").unlink()
    assert _extract(data, data / "wav.scp", tmp_path / "m.jsonl", "--textgrid_dir", str(tg)) == 0
    row = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])
    assert row["align_method"] == "mfa" and row["segments"] == [[0.31, 0.72], [1.05, 1.6]]
    assert row["speaking_duration"] == pytest.approx(0.41 + 0.33 + 0.55)
    assert _extract(data, data / "wav.scp", tmp_path / "v.jsonl", "--align_method", "vad") == 0
    row = json.loads((tmp_path / "v.jsonl").read_text().splitlines()[0])
    assert row["align_method"] == "vad"  # a pure tone is not speech: missing values, not NaN
    assert row["speaking_duration"] is None and row["speaking_rate"] is None


def test_clear_errors(data, tmp_path, caplog):
    write_map(data / "utt2lang", {u: "it" for u in ("spkA-u1", "spkA-u2", "spkB-u1", "spkB-u2")})
    assert _extract(data, data / "wav.scp", tmp_path / "x.jsonl") == 1
    assert "no syllable rule for language 'it'" in caplog.text
    assert _extract(data, data / "wav.scp", tmp_path / "x.jsonl", "--syllable_fallback", "es") == 0
    assert _extract(data, data / "wav.scp", tmp_path / "y.jsonl", "--align_method", "mfa") == 1
    assert "--align_method mfa needs --textgrid_dir" in caplog.text
    assert _extract(data, data / "wav.scp", tmp_path / "z.jsonl", "--fs", "8000") == 1
    assert "sample rate is 16000 Hz, expected 8000 Hz" in caplog.text


def test_a_rerun_reads_the_audio_again(data, tmp_path, caplog):
    # the tool never trusts an earlier output: tse2.sh's markers decide what to redo
    assert _extract(data, data / "wav.scp", tmp_path / "a.jsonl") == 0
    first = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    wav = (data / "wav.scp").read_text().split()[1]
    write_tone(Path(wav), seconds=1.0, f0=300.0)  # stage 1 was rerun: same ids, new audio
    assert _extract(data, data / "wav.scp", tmp_path / "a.jsonl") == 0
    again = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert round(first["f0_mean"]) == 140 and round(again["f0_mean"]) == 300
