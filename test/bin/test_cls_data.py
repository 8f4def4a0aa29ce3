"""tse2.bin.cls_data: example lists from a mixture dir and stage-6 outputs, with clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tse2.bin import cls_data
from tse2.utils.datadir import read_map


def _mix_dir(tmp_path: Path) -> tuple:
    mix, sep = tmp_path / "dev_mix", tmp_path / "separate_dev"
    mix.mkdir()
    sep.mkdir()
    mixes = ["dev-000000", "dev-000001"]

    def put(d, name, values):
        (d / name).write_text("".join(f"{m} {v}\n" for m, v in zip(mixes, values)))

    put(mix, "wav.scp", [f"/w/{m}_mix.wav" for m in mixes])
    put(mix, "spk1.scp", [f"/w/{m}_s1.wav" for m in mixes])
    put(mix, "spk2.scp", [f"/w/{m}_s2.wav" for m in mixes])
    put(mix, "enroll_spk1.scp", [f"/w/{m}_enroll.wav" for m in mixes])
    put(mix, "utt2target", ["2", "1"])
    put(mix, "utt2num_samples", ["96000", "80000"])
    put(sep, "sep1.scp", [f"/s/{m}_sep1.wav" for m in mixes])
    put(sep, "sep2.scp", [f"/s/{m}_sep2.wav" for m in mixes])
    put(sep, "utt2label", ["1", "0"])  # the separator swapped the order of dev-000000
    prompts = []
    for m in mixes:
        for cue, similar in (("pitch", False), ("gender", m.endswith("1")), ("temporal order", False)):
            for kind in ("relative", "independent"):
                if kind == "independent" and cue == "temporal order":
                    continue
                prompts.append(dict(id=f"{m}_{cue.replace(' ', '_')}_{kind[:3]}", mix=m, cue_type=cue, kind=kind, similar=similar,
                                    target=2 if m.endswith("0") else 1, prompt=f"Extract the {cue} speaker ({kind})."))
    (mix / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    return mix, sep


def test_text_examples_from_separated_outputs(tmp_path):
    mix, sep = _mix_dir(tmp_path)
    out = tmp_path / "out"
    assert cls_data.main(["--mix_dir", str(mix), "--sep_dir", str(sep), "--out_dir", str(out)]) == 0
    labels = read_map(out / "label")
    assert sorted(labels) == list(labels)
    assert len(labels) == 5  # relative only; the similar gender prompt of dev-000001 is left out
    assert labels["dev-000000_pitch_rel"] == "1" and labels["dev-000001_pitch_rel"] == "0"
    assert read_map(out / "cand1.scp")["dev-000000_pitch_rel"] == "/s/dev-000000_sep1.wav"
    assert read_map(out / "utt2num_samples")["dev-000001_temporal_order_rel"] == "80000"
    # the single-stage baselines' inputs: the mixture and the target reference (dev-000000: target 2)
    assert read_map(out / "mix.scp")["dev-000000_pitch_rel"] == "/w/dev-000000_mix.wav"
    assert read_map(out / "target.scp")["dev-000000_pitch_rel"] == "/w/dev-000000_s2.wav"
    assert read_map(out / "target.scp")["dev-000001_pitch_rel"] == "/w/dev-000001_s1.wav"
    assert read_map(out / "prompt")["dev-000000_pitch_rel"] == "Extract the pitch speaker (relative)."
    rows = [json.loads(x) for x in (out / "examples.jsonl").read_text().splitlines()]
    assert {r["cue_type"] for r in rows} == {"pitch", "gender", "temporal order"}
    # evaluation lists keep the similar prompt (flagged) and can take the independent twins
    cls_data.main(["--mix_dir", str(mix), "--sep_dir", str(sep), "--out_dir", str(out), "--keep_similar", "true",
                   "--kinds", "relative,independent"])
    rows = [json.loads(x) for x in (out / "examples.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and sum(r["similar"] for r in rows) == 2


def test_clean_oracle_and_enrollment(tmp_path):
    mix, _ = _mix_dir(tmp_path)
    out = tmp_path / "out"
    assert cls_data.main(["--mix_dir", str(mix), "--clean", "--cue", "enroll", "--out_dir", str(out)]) == 0
    assert read_map(out / "label") == {"dev-000000": "0", "dev-000001": "1"}  # from utt2target
    assert read_map(out / "cand2.scp")["dev-000000"] == "/w/dev-000000_s2.wav"
    assert read_map(out / "enroll.scp")["dev-000001"] == "/w/dev-000001_enroll.wav"
    assert not (out / "prompt").exists()


def test_errors_name_the_file(tmp_path, caplog):
    mix, sep = _mix_dir(tmp_path)
    out = tmp_path / "out"
    (sep / "utt2label").unlink()
    with caplog.at_level(logging.ERROR):
        assert cls_data.main(["--mix_dir", str(mix), "--sep_dir", str(sep), "--out_dir", str(out)]) == 1
    assert "utt2label is missing: run stage 6" in caplog.text
    (mix / "utt2target").write_text("dev-000000 3\ndev-000001 1\n")
    assert cls_data.main(["--mix_dir", str(mix), "--clean", "--out_dir", str(out)]) == 1
    assert "utt2target:1: the target of dev-000000 must be 1 or 2, got '3'" in caplog.text
    (mix / "utt2target").write_text("dev-000000 2\ndev-000001 1\n")
    assert cls_data.main(["--mix_dir", str(mix), "--clean", "--kinds", "absolute", "--out_dir", str(out)]) == 1
    assert "unknown ['absolute']" in caplog.text
    (mix / "prompts.jsonl").unlink()
    assert cls_data.main(["--mix_dir", str(mix), "--clean", "--out_dir", str(out)]) == 1
    assert "prompts.jsonl" in caplog.text


def test_attribute_vectors_follow_the_candidates(tmp_path):
    from tse2.models.aux import attribute_vector

    mix, sep = _mix_dir(tmp_path)
    women = dict(gender="f", lang="fr", f0_mean=220.0)
    man = dict(gender="m", lang="en", f0_mean=110.0)
    rows = [dict(mix="dev-000000", target=2, s1=man, s2=women),  # target: the woman
            dict(mix="dev-000001", target=1, s1=man, s2=women)]  # target: the man
    (mix / "mixtures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    cls_data.main(["--mix_dir", str(mix), "--sep_dir", str(sep), "--out_dir", str(out)])
    a1 = {k: [float(x) for x in v.split()] for k, v in read_map(out / "attr1").items()}
    a2 = {k: [float(x) for x in v.split()] for k, v in read_map(out / "attr2").items()}
    # dev-000000: utt2label 1, so sep1 is nearer the target (the woman); dev-000001: sep1 is the woman too
    assert a1["dev-000000_pitch_rel"][:2] == attribute_vector(women)[:2] == [0.0, 1.0]
    assert a2["dev-000000_pitch_rel"][:2] == [1.0, 0.0]
    assert a1["dev-000001_pitch_rel"][:2] == [0.0, 1.0] and a2["dev-000001_pitch_rel"][0] == 1.0
    clean = tmp_path / "clean"
    cls_data.main(["--mix_dir", str(mix), "--clean", "--out_dir", str(clean)])  # references: s1, s2 as they are
    assert read_map(clean / "attr1")["dev-000001_pitch_rel"].split()[0] == "1.0000"


def test_a_training_set_with_clean_holds_the_separated_and_the_reference_examples(tmp_path, monkeypatch, capsys,
                                                                                 caplog):
    """``tse2.sh --cls_train_clean text``: the text system trains on both candidate sources."""
    from tse2.bin import systems

    (tmp_path / "data").mkdir()
    mix, sep = _mix_dir(tmp_path / "data")
    mix.rename(tmp_path / "data" / "dev_mix")
    (tmp_path / "exp" / "sep_x").mkdir(parents=True)
    sep.rename(tmp_path / "exp" / "sep_x" / "separate_dev")
    monkeypatch.chdir(tmp_path)
    args = ["data", "--system", "text", "--set", "dev", "--purpose", "train", "--sep_exp", "exp/sep_x",
            "--dumpdir", "dump"]
    assert systems.main(args + ["--with_clean", "true"]) == 0
    printed = capsys.readouterr().out.split()
    out = Path(printed[0])
    assert out == Path("dump/cls/sep_x/text_relative/dev_with_clean")
    assert f"{out}/cand1.scp,cand1,sound" in printed and f"{out}/utt2num_samples" in printed
    labels = read_map(out / "label")
    assert len(labels) == 10 and sorted(labels) == list(labels)
    # the separator swapped dev-000000 (label 1); on the references its target is talker 2 (label 0)
    assert labels["dev-000000_pitch_rel"] == "1" and labels["clean-dev-000000_pitch_rel"] == "0"
    cand1 = read_map(out / "cand1.scp")
    assert cand1["dev-000000_pitch_rel"] == "/s/dev-000000_sep1.wav"
    assert cand1["clean-dev-000000_pitch_rel"] == "/w/dev-000000_s1.wav"
    for name in ("cand2.scp", "prompt", "utt2num_samples", "attr1", "attr2"):
        assert set(read_map(out / name)) == set(labels), name
    rows = [json.loads(x) for x in (out / "examples.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == list(labels)
    # the separated-only list is still there, unchanged, for a run without the option
    assert len(read_map(Path("dump/cls/sep_x/text_relative/dev/label"))) == 5
    # only a trained system's training set on separated outputs takes it
    assert systems.main(args[:6] + ["valid"] + args[7:] + ["--with_clean", "true"]) != 0
    assert "--with_clean true: only the training set" in caplog.text and "(not text, valid)" in caplog.text
    assert systems.main(["data", "--system", "text_clean"] + args[3:] + ["--with_clean", "true"]) != 0
