"""The remix paper's corpora (TextrolSpeech, VGGSound, FSD50K) on fixture trees that mimic each
release's layout: the readers, the data dirs the remix recipe's stage 1 asks for, and its stages 1-2
on them."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT
from tse2.bin.prep_remix_corpora import main
from tse2.corpus import remix_corpora as rc
from tse2.utils.datadir import read_map

# speaker names whose hash puts them in each split (tse2.corpus.remix_corpora._split_of)
SPEAKERS = {"train": [("LibriTTS", "0", "F"), ("LibriTTS", "1", "M"), ("LibriTTS", "3", "F"), ("VCTK", "p0", "M")],
            "test": [("LibriTTS", "2", "F"), ("LibriTTS", "50", "M")],
            "dev": [("VCTK", "p15", "F"), ("VCTK", "p32", "M")]}


def _wav(path: Path, fs: int = 16000, seconds: float = 1.0, channels: int = 1, f0: float = 220.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(fs * seconds)) / fs
    x = 0.1 * np.sin(2 * np.pi * f0 * t)
    sf.write(path, np.stack([x] * channels, 1) if channels > 1 else x, fs)


def textrol_tree(root: Path) -> Path:
    rows = [["num", "wav_fp", "item_name", "gender", "pitch", "tempo", "energy", "emotion", "style_prompt",
             "content_prompt"]]
    styles = [("normal", "normal", "neutral"), ("high", "normal", "neutral"), ("normal", "low", "neutral"),
              ("normal", "normal", "Angry"), ("low", "normal", "surprise")]
    k = 0
    for split, spks in SPEAKERS.items():
        for corpus, spk, gender in spks:
            for j in range(3):
                pitch, tempo, emo = styles[(k + j) % len(styles)]
                if corpus == "LibriTTS":
                    rel = f"LibriTTS/train-clean-100/{spk}/100/{spk}_100_{j:06d}_000000.wav"
                else:
                    rel = f"VCTK/wav48/{spk}/{spk}_{j:03d}.wav"
                _wav(root / rel, fs=24000 if corpus == "LibriTTS" else 16000, seconds=1.5, f0=150 + 10 * k)
                rows.append([str(len(rows)), rel, Path(rel).stem, gender, pitch, tempo, "normal", emo,
                             "a caption", "the text"])
            k += 1
    rows.append([str(len(rows)), "VCTK/wav48/p99/p99_001.wav", "p99_001", "F", "normal", "normal", "normal", "neutral",
                 "", ""])  # in the table, not on disk
    with open(root / "caption.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root


def vggsound_tree(root: Path) -> Path:
    rows = []
    for i, label in enumerate(["dog barking", "church bell ringing", "rain"] * 4):
        split = "test" if i >= 9 else "train"
        name = f"vid{i:03d}_{i * 10:06d}"
        rows.append([f"vid{i:03d}", str(i * 10), label, split])
        _wav(root / "audio" / f"{name}.wav", seconds=3.0, f0=500 + 40 * i)
    rows.append(["vid017", "170", "dog barking", "train"])  # the hash puts it in valid
    _wav(root / "audio" / "vid017_000170.flac", seconds=3.0)
    rows.append(["gone01", "30", "rain", "train"])  # the video is gone
    with open(root / "vggsound.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root


def fsd50k_tree(root: Path) -> Path:
    gt = root / "FSD50K.ground_truth"
    gt.mkdir(parents=True)
    dev = [["fname", "labels", "mids", "split"], ["101", "Bark,Dog,Domestic_animals_and_pets,Animal", "/m/1,/m/2", "train"],
           ["102", "Walk_and_footsteps,Human", "/m/3", "train"], ["103", "Bark,Dog", "/m/1", "val"],
           ["104", "Walk_and_footsteps", "/m/3", "val"]]
    ev = [["fname", "labels", "mids"], ["201", "Bark,Dog", "/m/1"], ["202", "Walk_and_footsteps", "/m/3"]]
    for table, rows, audio in (("dev.csv", dev, "FSD50K.dev_audio"), ("eval.csv", ev, "FSD50K.eval_audio")):
        with open(gt / table, "w", newline="") as f:
            csv.writer(f).writerows(rows)
        for r in rows[1:]:
            _wav(root / audio / f"{r[0]}.wav", fs=44100, seconds=2.0, channels=2)
    return root


def test_textrolspeech_rows_get_speaker_gender_one_style_and_speaker_disjoint_splits(tmp_path):
    rows, skipped = rc.read_textrolspeech(textrol_tree(tmp_path / "tr"), tmp_path / "tr/caption.csv")
    assert skipped == {"audio not found": 1} and len(rows) == 24
    by_spk = {}
    for r in rows:
        by_spk.setdefault(r.item.spk, set()).add((r.item.split, r.gender))
    assert all(len(v) == 1 for v in by_spk.values())  # one split and one gender per speaker
    assert {s: next(iter(v))[0] for s, v in by_spk.items()}["VCTK-p15"] == "dev"
    assert {r.item.style for r in rows} == {"neutral", "high-pitched", "slow", "angry", "surprised"}
    assert rc.textrol_style("high", "high", "sad") == "sad" and rc.textrol_style("normal", "high", "") == "fast"
    with pytest.raises(rc.CorpusError, match="unknown emotion 'bored'"):
        rc.textrol_style("normal", "normal", "bored")


def test_sound_tables_with_a_gone_clip_and_a_foreign_layout_are_read_or_refused(tmp_path):
    rows, skipped = rc.read_vggsound(vggsound_tree(tmp_path / "vgg"))
    assert skipped == {"clip not on disk": 1}
    assert {r.split for r in rows} == {"train", "valid", "test"}
    assert [r.category for r in rows if r.split == "valid"] == ["dog barking"]
    rows, _ = rc.read_fsd50k(fsd50k_tree(tmp_path / "fsd"))
    assert {(r.uid, r.category, r.split) for r in rows} >= {("fsd-101", "bark", "train"), ("fsd-104", "walk and footsteps", "valid"),
                                                             ("fsd-201", "bark", "test")}
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/caption.csv").write_text("path,sex\nx.wav,F\n")
    with pytest.raises(rc.CorpusError, match=r"lacks the columns \['wav_fp', 'gender'"):
        rc.read_textrolspeech(tmp_path / "bad", tmp_path / "bad/caption.csv")
    (tmp_path / "badvgg").mkdir()
    (tmp_path / "badvgg/vggsound.csv").write_text("abc,0,rain\n")
    with pytest.raises(rc.CorpusError, match=r"vggsound.csv:1: expected ytid,start,label,split"):
        rc.read_vggsound(tmp_path / "badvgg")


def test_the_tool_writes_the_data_dirs_the_remix_recipe_reads(tmp_path):
    tr, vgg, fsd = textrol_tree(tmp_path / "tr"), vggsound_tree(tmp_path / "vgg"), fsd50k_tree(tmp_path / "fsd")
    data = tmp_path / "data"
    assert main(["--textrolspeech", str(tr), "--vggsound", str(vgg), "--fsd50k", str(fsd), "--unseen", "rain",
                 "--data_root", str(data), "--resample_dir", str(tmp_path / "rs")]) == 0
    for split in ("train", "dev", "test"):
        d = data / split
        wav, spk, gender, style = (read_map(d / n) for n in ("wav.scp", "utt2spk", "spk2gender", "utt2style"))
        assert set(wav) == set(spk) == set(style) and set(spk.values()) == set(gender)
        assert all(sf.info(p).samplerate == 16000 and sf.info(p).channels == 1 for p in wav.values())
    cats = {s: set(read_map(data / f"sounds_{s}" / "utt2category").values()) for s in ("train", "valid", "test", "unseen")}
    assert cats["unseen"] == {"rain"} and all("rain" not in c for s, c in cats.items() if s != "unseen")
    assert "walk_and_footsteps" in cats["train"]
    assert all(sf.info(p).channels == 1 for p in read_map(data / "sounds_test" / "wav.scp").values())
    assert main(["--textrolspeech", str(tr), "--data_root", str(data), "--resample_dir", str(tmp_path / "rs")]) == 1  # a clear error, no trace


def test_the_paper_recipe_prepares_and_simulates_on_the_fixture_corpora(tmp_path):
    recipe = tmp_path / "egs/textrolspeech_vggsound/remix"
    shutil.copytree(ROOT / "egs/textrolspeech_vggsound/remix", recipe, symlinks=True)
    for link in ("egs/TEMPLATE", "utils", "tools", "tse2"):
        (tmp_path / link).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / link).symlink_to(ROOT / link)
    env = dict(os.environ, TEXTROLSPEECH=str(textrol_tree(tmp_path / "tr")), VGGSOUND=str(vggsound_tree(tmp_path / "vgg")),
               FSD50K=str(fsd50k_tree(tmp_path / "fsd")))
    cmd = ["./run.sh", "--stage", "1", "--stop_stage", "2", "--nj", "1", "--n_train_slots", "8", "--n_valid", "4",
           "--n_test", "16", "--n_zeroshot", "0", "--n_absent", "4"]
    out = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    test = recipe / "data/remix_test"
    assert len(read_map(test / "task")) == 16 and len(set(read_map(test / "task").values())) == 16
    assert sf.info(read_map(test / "wav.scp")["mix00000"]).frames == 5 * 16000  # the paper's 5 s
    assert set(read_map(recipe / "data/remix_test_absent/task").values()) == {"ABSE", "ABSR", "ABSU", "ABSD"}
    env.pop("TEXTROLSPEECH")
    env["TEXTROLSPEECH"] = ""
    out = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and "set TEXTROLSPEECH" in out.stderr
