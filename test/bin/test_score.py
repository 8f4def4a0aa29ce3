"""tse2.bin.score: metrics of separated outputs on real audio, merge, and the stage-9 report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scoring.test_metrics import voiced, with_noise
from tse2.bin import score
from tse2.cues.labels import IndependentBins, label_mixture
from tse2.scoring.metrics import si_sdr

FS = 16000
MIXES = ["dev-000000", "dev-000001", "dev-000002"]


def _speaker(f0: float, rate: float, onset: float, spk: str) -> dict:
    return {"spk": spk, "lang": "en", "gender": "f" if f0 > 180 else "m", "f0_mean": f0, "f0_span": f0 / 4,
            "speaking_rate": rate, "speaking_duration": 3.0, "rms_db": -20.0, "distance": 1.0, "age": 30.0,
            "onset": onset, "emotion": "neutral", "text": spk}


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """data/dev_mix with 3 two-talker mixtures; sep1 = target + noise at 25 dB SNR, sep2 = interferer."""
    mix_dir, sep_dir, wav = tmp_path / "data/dev_mix", tmp_path / "exp/sep/separate_dev", tmp_path / "wav"
    for d in (mix_dir, sep_dir, wav):
        d.mkdir(parents=True)
    scp = {n: [] for n in ("wav.scp", "spk1.scp", "spk2.scp", "utt2target", "sep1.scp", "sep2.scp")}
    rows, cues = [], []
    for i, m in enumerate(MIXES):
        target = 1 + i % 2
        a, b = voiced(f0=120.0 + 10 * i), voiced(f0=210.0, seconds=3.0)
        ref = {1: a, 2: b}
        paths = {}
        for name, x in (("mix", 0.5 * (a + b)), ("s1", a), ("s2", b), ("sep1", with_noise(ref[target], 25.0, i)),
                        ("sep2", ref[3 - target])):
            paths[name] = wav / f"{m}_{name}.wav"
            sf.write(paths[name], x, FS)
        for key, name in (("wav.scp", "mix"), ("spk1.scp", "s1"), ("spk2.scp", "s2"), ("sep1.scp", "sep1"),
                          ("sep2.scp", "sep2")):
            scp[key].append(f"{m} {paths[name]}")
        scp["utt2target"].append(f"{m} {target}")
        row = {"mix": m, "target": target, "s1": _speaker(120.0 + 10 * i, 200.0 + 100 * i, 0.0, "a"),
               "s2": _speaker(210.0, 250.0, 1.0, "b")}
        rows.append(row)
        cues.append({"mix": m, "target": target, "cues": {
            k: {"relative": v.relative, "independent": v.independent, "delta": v.delta}
            for k, v in label_mixture(row).items()}})
    for key, lines in scp.items():
        (sep_dir if key.startswith("sep") else mix_dir / "").joinpath(key).write_text("\n".join(lines) + "\n")
    (mix_dir / "mixtures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (mix_dir / "cues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cues))
    IndependentBins({"speaking rate": [220.0, 280.0], "pitch": [150.0, 200.0]}).save(tmp_path / "bins.json")
    # stage-8 selections: the text classifier picks sep1 (right) for pitch, sep2 (wrong) for speaking rate
    for system, kind, suffix in (("text", "relative", "rel"), ("text_ind", "independent", "ind")):
        out = tmp_path / f"exp/cls_{system}/infer_dev"
        out.mkdir(parents=True)
        sel = []
        for m in MIXES:
            for cue, selected in (("pitch", 1), ("speaking rate", 2)):
                sel.append({"id": f"{m}_{cue}_{suffix}", "mix": m, "cue_type": cue, "kind": kind, "similar": False,
                            "selected": selected, "correct": selected == 1})
        (out / "selections.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sel))
    return tmp_path


def _metrics(recipe: Path) -> Path:
    d, s = recipe / "data/dev_mix", recipe / "exp/sep/separate_dev"
    lines = (d / "wav.scp").read_text().splitlines()
    (recipe / "part1.scp").write_text(lines[0] + "\n")
    (recipe / "part2.scp").write_text("\n".join(lines[1:]) + "\n")
    for k in (1, 2):
        assert score.main(["metrics", "--mix_dir", str(d), "--sep_dir", str(s), "--wav_scp",
                           str(recipe / f"part{k}.scp"), "--out", str(recipe / f"m.{k}.jsonl")]) == 0
    out = recipe / "exp/sep/score_dev"
    assert score.main(["merge", "--mix_dir", str(d), "--out_dir", str(out), str(recipe / "m.1.jsonl"),
                       str(recipe / "m.2.jsonl")]) == 0
    return out


def test_metrics_merge_and_report(recipe):
    out = _metrics(recipe)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["mix"] for r in rows] == MIXES
    for r in rows:
        assert r["sisdr"][0] == pytest.approx(25.0, abs=0.2)  # the target with noise at 25 dB SNR
        assert r["sisdr"][1] < -10 and r["pesq"][0] > r["pesq"][1] and r["pesq_error"] == [None, None]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mixtures"] == 3 and summary["pesq_mode"] == "wb" and summary["pesq_failed"] == 0

    res = recipe / "exp/results"
    assert score.main(["report", "--out_dir", str(res), "--bins", str(recipe / "bins.json"),
                       "--set", "dev", str(recipe / "data/dev_mix"), str(out),
                       "--system", "text", str(recipe / "exp/cls_text"),
                       "--system", "text_ind", str(recipe / "exp/cls_text_ind")]) == 0
    md = (res / "RESULTS.md").read_text()
    assert "Warning" not in md
    gain = np.mean([r["sisdr"][0] - r["sisdr_mix"] for r in rows])
    pesq = np.mean([r["pesq"][0] for r in rows])
    assert f"| pitch | 3 | 100.0 % | {gain:.2f} | {pesq:.2f} |" in md
    assert "| speaking rate | 3 | 0.0 % |" in md and "| overall | 6 | 50.0 % |" in md
    assert "`text` vs `text_ind` (paper Table VI)" in md and "| pitch | all | 3 | 100.0 % |" in md
    scores = json.loads((res / "scores.json").read_text())
    assert scores["dev"]["table4"]["text"]["pitch"]["sisdri"] == pytest.approx(gain)
    assert scores["dev"]["table6"]["text"]["pitch"]["all"][1]["n"] == 3
    for fig in ("dev_fig4_accuracy_vs_difference", "dev_fig6_conditions_text", "dev_fig7_joint"):
        assert (res / "figures" / f"{fig}.png").stat().st_size > 1000


def test_a_separator_that_does_not_separate_is_a_warning_at_the_top(recipe, caplog):
    """Outputs that are the mixture itself: 0 dB SI-SDRi, so RESULTS.md must not present the
    accuracies over them as if they meant something."""
    wav = recipe / "wav"
    for m in MIXES:
        mix, _ = sf.read(wav / f"{m}_mix.wav")
        for k in (1, 2):
            sf.write(wav / f"{m}_sep{k}.wav", mix, FS)
    out = _metrics(recipe)
    res = recipe / "exp/results"
    assert score.main(["report", "--out_dir", str(res), "--set", "dev", str(recipe / "data/dev_mix"), str(out),
                       "--system", "text", str(recipe / "exp/cls_text")]) == 0
    md = (res / "RESULTS.md").read_text().splitlines()
    warning = next(i for i, line in enumerate(md) if line.startswith("**Warning:**"))
    assert warning < next(i for i, line in enumerate(md) if line.startswith("## dev"))
    assert "separator's better output is +0.00 dB SI-SDRi" in md[warning] and "meaningless" in md[warning]
    assert "does not separate" in caplog.text


def test_degenerate_labels_are_a_warning_in_the_classifier_report(tmp_path, caplog):
    from tse2.bin import cls_inference

    d = tmp_path / "exp/cls_x/infer_test"
    d.mkdir(parents=True)
    summary = {"examples": 200, "label1_share": 0.01, "per_cue": {"overall": {"n": 200, "acc": 0.935}}}
    (d / "summary.json").write_text(json.dumps(summary))
    out = tmp_path / "exp/cls_x/RESULTS_classifier.md"
    assert cls_inference.main(["report", "--out", str(out), str(d)]) == 0
    text = out.read_text()
    assert "**Warning:** infer_test: 99.0 % of the 200 examples have label 0" in text
    summary["label1_share"] = 0.45
    (d / "summary.json").write_text(json.dumps(summary))
    assert cls_inference.main(["report", "--out", str(out), str(d)]) == 0
    assert "Warning" not in out.read_text()


def test_si_sdr_in_metrics_matches_the_library(recipe):
    out = _metrics(recipe)
    r = json.loads((out / "metrics.jsonl").read_text().splitlines()[1])
    mix, _ = sf.read(recipe / "wav/dev-000001_mix.wav", dtype="float32")
    ref, _ = sf.read(recipe / "wav/dev-000001_s2.wav", dtype="float32")  # target 2
    assert r["sisdr_mix"] == pytest.approx(si_sdr(mix, ref), abs=1e-3)


def test_errors_name_the_problem(recipe, caplog):
    d, s = recipe / "data/dev_mix", recipe / "exp/sep/separate_dev"
    assert score.main(["metrics", "--mix_dir", str(d), "--sep_dir", str(s), "--out", str(recipe / "m.jsonl")]) == 0
    # a missing part
    rc = score.main(["merge", "--mix_dir", str(d), "--out_dir", str(recipe / "o"), str(recipe / "nope.jsonl")])
    assert rc == 1 and "a job failed before it was scored" in caplog.text
    # a stereo separated output
    bad = recipe / "wav/dev-000001_sep1.wav"
    sf.write(bad, np.zeros((FS, 2), dtype=np.float32), FS)
    rc = score.main(["metrics", "--mix_dir", str(d), "--sep_dir", str(s), "--out", str(recipe / "m.jsonl")])
    assert rc == 1 and f"{bad}: has 2 channels, expected mono" in caplog.text
    # a sample rate PESQ does not define
    for m in MIXES:
        for name in ("mix", "s1", "s2", "sep1", "sep2"):
            p = recipe / f"wav/{m}_{name}.wav"
            sf.write(p, np.zeros(22050, dtype=np.float32) + 0.1, 22050)
    rc = score.main(["metrics", "--mix_dir", str(d), "--sep_dir", str(s), "--out", str(recipe / "m.jsonl")])
    assert rc == 1 and "PESQ is defined at 16 kHz (wide band) and 8 kHz (narrow band), not 22050 Hz" in caplog.text
    # a system without stage-8 output
    rc = score.main(["report", "--out_dir", str(recipe / "r"), "--set", "dev", str(d), str(recipe / "o"),
                     "--system", "enroll", str(recipe / "exp/cls_enroll")])
    assert rc == 1 and "metrics.jsonl: missing" in caplog.text
