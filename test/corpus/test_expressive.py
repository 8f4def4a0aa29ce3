"""The paper corpora's data preparation on fixture trees that mimic each release's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tse2.bin.prep_expressive import main
from tse2.utils.datadir import read_map


def _wav(path: Path, fs: int = 16000, seconds: float = 0.3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(fs * seconds)) / fs
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), fs)


def iemocap_tree(root: Path) -> Path:
    rows = {"Ses01F_impro01": [("Ses01F_impro01_F000", "neu"), ("Ses01F_impro01_M001", "fru"),
                               ("Ses01F_impro01_F002", "xxx"), ("Ses01F_impro01_M003", "oth")]}
    for dialog, utts in rows.items():
        ev = root / "Session1/dialog/EmoEvaluation" / f"{dialog}.txt"
        ev.parent.mkdir(parents=True, exist_ok=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        for i, (utt, lab) in enumerate(utts):
            lines += [f"[{i}.0100 - {i}.9000]\t{utt}\t{lab}\t[2.5000, 2.5000, 2.5000]", "C-E2:\tNeutral;\t()", ""]
            _wav(root / "Session1/sentences/wav" / dialog / f"{utt}.wav")
        ev.write_text("\n".join(lines))
    return root


def esd_tree(root: Path, split_dirs: bool) -> Path:
    for spk in ("0011", "0012"):
        for e, emo in enumerate(("Angry", "Happy", "Neutral", "Sad", "Surprise")):
            for n in (1, 25, 60):
                k = e * 350 + n
                sub = ("test" if n <= 20 else "evaluation" if n <= 50 else "train") if split_dirs else ""
                _wav(root / spk / emo / sub / f"{spk}_{k:06d}.wav")
        (root / spk / f"{spk}.txt").write_text("")
    return root


def expresso_tree(root: Path) -> Path:
    stems = {}
    for spk in ("ex01", "ex02"):
        for style in ("default", "whisper", "confused", "narration"):
            for n, split in ((1, "train"), (2, "dev"), (3, "test")):
                stem = f"{spk}_{style}_{n:05d}"
                _wav(root / "audio_48khz/read" / spk / style / "base" / f"{stem}.wav", fs=48000)
                stems.setdefault(split, []).append(stem)
    (root / "splits").mkdir()
    for split, s in stems.items():
        (root / "splits" / f"{split}.txt").write_text("\n".join(s) + "\n")
    return root


@pytest.mark.parametrize("split_dirs", [True, False])
def test_all_three_corpora(tmp_path, split_dirs):
    iem, esd, exp = iemocap_tree(tmp_path / "iemocap"), esd_tree(tmp_path / "esd", split_dirs), expresso_tree(tmp_path / "ex")
    data = tmp_path / "data"
    assert main(["--iemocap", str(iem), "--esd", str(esd), "--expresso", str(exp), "--data_root", str(data),
                 "--resample_dir", str(tmp_path / "rs")]) == 0
    train = read_map(data / "train/utt2style")
    assert train["iemocap_Ses01F_impro01_F000"] == "neutral" and train["iemocap_Ses01F_impro01_M001"] == "frustrated"
    assert not any("F002" in u or "M003" in u for u in train)  # xxx and oth are left out
    assert read_map(data / "train/utt2spk")["iemocap_Ses01F_impro01_M001"] == "iemocap_Ses01M"
    assert train["esd_0011_000060"] == "angry" and train["esd_0012_001460"] == "surprised"
    assert read_map(data / "dev/utt2style")["esd_0011_000375"] == "happy"
    assert read_map(data / "test_esd/utt2style")["esd_0011_000701"] == "neutral"
    assert len(read_map(data / "test_esd/utt2style")) == 2 * 5
    ex = read_map(data / "test_expresso/utt2style")
    assert ex == {"expresso_ex01_default_00003": "neutral", "expresso_ex01_whisper_00003": "whispered",
                  "expresso_ex01_confused_00003": "confused", "expresso_ex02_default_00003": "neutral",
                  "expresso_ex02_whisper_00003": "whispered", "expresso_ex02_confused_00003": "confused"}
    path = read_map(data / "test_expresso/wav.scp")["expresso_ex01_whisper_00003"]
    assert sf.info(path).samplerate == 16000 and str(tmp_path / "rs") in path  # 48 kHz resampled once
    assert float(read_map(data / "test_expresso/utt2dur")["expresso_ex01_whisper_00003"]) == pytest.approx(0.3)


def test_missing_corpus_parts_are_named(tmp_path, caplog):
    assert main(["--data_root", str(tmp_path / "d"), "--resample_dir", str(tmp_path / "r")]) == 1
    assert main(["--esd", str(tmp_path / "nope"), "--data_root", str(tmp_path / "d"),
                 "--resample_dir", str(tmp_path / "r")]) == 1
    ex = expresso_tree(tmp_path / "ex")
    (ex / "splits/dev.txt").unlink()
    assert main(["--expresso", str(ex), "--data_root", str(tmp_path / "d"), "--resample_dir", str(tmp_path / "r")]) == 1
    err = caplog.text
    assert "no corpus given" in err and "nope: missing" in err and "splits/dev.txt: missing" in err
