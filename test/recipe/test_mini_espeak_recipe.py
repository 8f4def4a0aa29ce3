"""The embedded recipe's stage 1 end to end, in a throw-away recipe dir made by setup.sh."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, requires_espeak
from tse2.utils.datadir import read_map

pytestmark = requires_espeak


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()
OPTS = "--speakers_per_lang 2,2,2 --utts_per_speaker 2 --langs en,de,zh"
# the real-speech test set (test_real, run.sh's default) is left out here: tests/corpus/test_voices.py
MIX = ["--num_train_mix", "8", "--num_valid_mix", "4", "--num_test_mix", "4", "--bank_size", "3", "--test_sets", "test"]


@pytest.fixture
def recipe(tmp_path, bash) -> Path:
    target = tmp_path / "egs/tiny/tse2"
    bash([str(ROOT / "egs/TEMPLATE/tse2/setup.sh"), str(target)])
    shutil.copytree(ROOT / "egs/mini_espeak/tse2/local", target / "local", dirs_exist_ok=True)
    shutil.copy(ROOT / "egs/mini_espeak/tse2/run.sh", target / "run.sh")
    # the embedded recipe's separator: its config and, as run.sh uses it by default, its release
    (target / "conf/sep.yaml").unlink()
    (target / "conf/sep.yaml").symlink_to((ROOT / "egs/mini_espeak/tse2/conf/sep.yaml").readlink())
    (target / "released").symlink_to(ROOT / "egs/mini_espeak/tse2/released")
    return target


def test_stages_1_to_4_build_valid_dirs_and_rerun_is_a_no_op(recipe, bash):
    out = bash(["./run.sh", "--stop_stage", "4", "--local_data_opts", OPTS, *MIX], cwd=recipe)
    assert "validate_data_dir: data/train: OK" in out.stdout
    for split in ("train", "dev", "test"):
        utt2spk = read_map(recipe / "data" / split / "utt2spk")
        assert len(utt2spk) == 3 * 2 * 2  # 3 languages x 2 speakers x 2 utterances
    logs = sorted((recipe / "data/local/espeak/log").glob("synth.*.log"))
    assert len(logs) == 2 and all("# Ended (code 0)" in p.read_text() for p in logs)
    wavs = {p: p.stat().st_mtime_ns for p in (recipe / "downloads").rglob("*.wav")}
    assert len(wavs) == 36

    for split in ("train", "dev", "test"):  # stage 2: one attribute row per utterance
        rows = [json.loads(x) for x in (recipe / "data" / split / "attributes.jsonl").read_text().splitlines()]
        assert [r["utt"] for r in rows] == sorted(read_map(recipe / "data" / split / "utt2spk"))
        assert all(r["align_method"] == "given" and r["f0_mean"] and r["speaking_rate"] for r in rows)
    assert len(list((recipe / "data/train/log").glob("attributes.*.log"))) == 2
    attr_mtime = (recipe / "data/train/attributes.jsonl").stat().st_mtime_ns

    for split, n in (("train", 8), ("dev", 4), ("test", 4)):  # stage 3: valid mixture dirs
        assert len(read_map(recipe / "data" / f"{split}_mix" / "utt2target")) == n
        assert f"validate_data_dir: data/{split}_mix: OK" in out.stdout
    mixes = {p: md5(p) for p in (recipe / "dump/mix").rglob("*.wav")}
    assert len(mixes) == 4 * 16
    assert "Prompts per cue type" in (recipe / "data/cue_report.md").read_text()  # stage 4
    prompts = [json.loads(x) for x in (recipe / "data/train_mix/prompts.jsonl").read_text().splitlines()]
    assert {p["mix"] for p in prompts} == set(read_map(recipe / "data/train_mix/utt2target"))
    assert (recipe / "data/train_mix/independent_bins.json").is_file()
    held = [json.loads(x) for x in (recipe / "data/test_heldout_mix/prompts.jsonl").read_text().splitlines()]
    test = [json.loads(x) for x in (recipe / "data/test_mix/prompts.jsonl").read_text().splitlines()]
    assert [(p["id"], p["cues"], p["target"]) for p in held] == [(p["id"], p["cues"], p["target"]) for p in test]
    assert sum(h["prompt"] != t["prompt"] for h, t in zip(held, test)) == len(test)

    out = bash(["./run.sh", "--stop_stage", "4", "--local_data_opts", OPTS, *MIX], cwd=recipe)
    assert "Stage 1: already done with the same options" in out.stdout
    for split in ("train", "dev", "test"):  # stages 2 and 3 keep one marker per set
        assert f"Stage 2: {split}: already done with the same options and inputs" in out.stdout
        assert f"Stage 3: {split}: already done with the same options and inputs" in out.stdout
    assert "Stage 4: already done with the same options and inputs" in out.stdout
    assert (recipe / "data/train/attributes.jsonl").stat().st_mtime_ns == attr_mtime

    # a deleted mixture wav is found and its set rebuilt, bit for bit, without --force
    gone = recipe / "dump/mix/test/wav/test-000001_s1.wav"
    gone.unlink()
    out = bash(["./run.sh", "--stage", "3", "--stop_stage", "3", *MIX], cwd=recipe)
    assert "test-000001_s1.wav (listed in data/test_mix/spk1.scp) is missing or empty: rerunning" in out.stdout
    assert "Stage 3: dev: already done" in out.stdout and md5(gone) == mixes[gone]

    # another nj gives the same mixtures, bit for bit
    bash(["./run.sh", "--stage", "3", "--stop_stage", "3", "--nj", "1", "--force", "true", *MIX], cwd=recipe)
    assert {p: md5(p) for p in (recipe / "dump/mix").rglob("*.wav")} == mixes

    # stage 5 from scratch (the documented option): two training steps of conf/sep.yaml
    sep = ["--sep_args", "--max_epoch 1 --num_iters_per_epoch 2 --batch_size 2"]
    out = bash(["./run.sh", "--stage", "5", "--stop_stage", "5", *MIX, *sep, "--sep_release", "",
                "--sep_tag", "scratch"], cwd=recipe)
    scratch = recipe / "exp/sep_scratch"
    assert (scratch / "train.log").is_file() and (scratch / "run.sh").is_file()
    assert not (scratch / "released.pth").exists() and "released separator" not in out.stdout

    # stages 5-6 by default: the released separator is installed, not trained; separation and labels
    out = bash(["./run.sh", "--stage", "5", "--stop_stage", "6", *MIX, *sep], cwd=recipe)
    assert out.stdout.count("Stage 5: using the released separator released/sep_blstm_256x3_dm") == 1
    exp = recipe / "exp/sep_blstm_256x3_dm"
    assert (exp / "config.yaml").is_file() and (exp / "released.pth").is_file() and not (exp / "train.log").exists()
    assert "| dev | 4 |" in (exp / "RESULTS_separation.md").read_text()
    labels = read_map(exp / "separate_test/utt2label")
    assert len(labels) == 4 and set(labels.values()) <= {"0", "1"}
    rows = [json.loads(x) for x in (exp / "separate_test/sisdr.jsonl").read_text().splitlines()]
    assert all(r["label"] == (1 if r["sisdr"][0] >= r["sisdr"][1] else 0) for r in rows)
    out = bash(["./run.sh", "--stage", "5", "--stop_stage", "6", *MIX, *sep], cwd=recipe)
    assert "Stage 5: already done" in out.stdout and "Stage 6: test: already done" in out.stdout
    assert {p: p.stat().st_mtime_ns for p in wavs} == wavs

    # stages 7-10: text and enrollment classifiers (two steps each) and the attribute selector, selections
    # on dev and test, scores, and the packed extractor checked on one test mixture.
    # The forced stage 3 above rewrote the mixture dirs: stage 4's prompts are gone, so it reruns.
    cls = ["--cls_systems", "text enroll attributes", "--cls_release", "",
           "--cls_args", "--max_epoch 1 --num_iters_per_epoch 2 --batch_size 4",
           "--tse_configs", "conf/tuning/tse_tflocoformer_tiny.yaml conf/tuning/tse_dpt_tiny.yaml",
           "--tse_args", "--max_epoch 1 --num_iters_per_epoch 2 --batch_size 2"]
    out = bash(["./run.sh", "--stage", "4", "--stop_stage", "10", *MIX, *sep, *cls], cwd=recipe)
    assert "prompts.jsonl is missing: rerunning" in out.stdout
    assert "Stage 5: already done" in out.stdout and "Stage 6: train: already done" in out.stdout
    for system in ("text", "enroll"):
        cexp = recipe / f"exp/cls_minilm_whisper_{system}"
        assert (cexp / "config.yaml").is_file() and (cexp / "run.sh").is_file()
        sel = [json.loads(x) for x in (cexp / "infer_test/selections.jsonl").read_text().splitlines()]
        assert sel and all(r["selected"] in (1, 2) and r["correct"] == ((r["selected"] == 1) == (r["label"] == 1))
                           for r in sel)
        assert (cexp / "RESULTS_classifier.md").read_text().count("| overall |") == 1
    # run.sh's --cls_train_clean text: the text classifier trained on separated + reference examples
    text_args = (recipe / "exp/cls_minilm_whisper_text/data_args").read_text()
    assert "text_relative/train_with_clean/cand1.scp" in text_args and "text_relative/dev/cand1.scp" in text_args
    assert "_with_clean" not in (recipe / "exp/cls_minilm_whisper_enroll/data_args").read_text()
    prompts = [json.loads(x) for x in (recipe / "data/test_mix/prompts.jsonl").read_text().splitlines()]
    text_sel = (recipe / "exp/cls_minilm_whisper_text/infer_test/selections.jsonl").read_text().splitlines()
    assert len(text_sel) == sum(p["kind"] == "relative" for p in prompts)  # similar ones included, flagged
    results = recipe / "exp/results_blstm_256x3_dm_minilm_whisper"
    report = (results / "RESULTS.md").read_text()
    # dev, test, test_heldout and test_handwritten (the test mixtures with prompts in held-out
    # phrasings, in the hand-written sentences)
    assert report.count("(paper Table IV)") == 4 and report.count("(paper Table V)") == 4
    assert "## Phrasings never seen in training" in report and "| test | text |" in report
    assert "| set | system | cue type | N | training | N | held-out grammar | N | hand-written |" in report
    hand = [json.loads(x) for x in (recipe / "data/test_handwritten_mix/prompts.jsonl").read_text().splitlines()]
    assert hand and all(p["kind"] == "relative" and p["cue_type"] not in ("random", "all") for p in hand)
    # stage 6 reuses the test set's separation for its phrasing copies
    assert (exp / "separate_test_handwritten/sep1.scp").read_text() == (exp / "separate_test/sep1.scp").read_text()
    metrics = [json.loads(x) for x in (exp / "score_test/metrics.jsonl").read_text().splitlines()]
    assert [m["mix"] for m in metrics] == sorted(labels) and all(len(m["pesq"]) == 2 for m in metrics)
    assert (results / "figures/test_fig4_accuracy_vs_difference.png").stat().st_size > 0
    assert "| attributes: N |" in report  # the training-free selector, side by side
    assert "| tse_tflocoformer_tiny: N | SI-SDRi (dB) | PESQ (wb) | tse_dpt_tiny: N |" in report  # single-stage
    for tag in ("tflocoformer_tiny", "dpt_tiny"):
        rows = [json.loads(x) for x in (recipe / f"exp/tse_{tag}/infer_test/selections.jsonl").read_text().splitlines()]
        assert len(rows) == sum(p["kind"] == "relative" and not p["similar"] for p in prompts)
        assert all(np.isfinite(r["sisdri"]) for r in rows)
    attr = [json.loads(x) for x in (recipe / "exp/attributes_sep_blstm_256x3_dm/infer_test/selections.jsonl")
            .read_text().splitlines()]
    assert len(attr) == len(text_sel) and any(not r["abstain"] for r in attr)
    packed = recipe / "exp/packed/blstm_256x3_dm_minilm_whisper_text"  # stage 10
    assert json.loads((packed / "tse2_model.json").read_text())["classifier"]["cue"] == "text"
    assert len(list((packed / "check").glob("test-000000_*.wav"))) == 2
    assert "test-000000_mix.wav: output 1: classifier score" in out.stdout
    out = bash(["./run.sh", "--stage", "7", "--stop_stage", "9", *MIX, *cls], cwd=recipe)
    # stage 7: text, enroll and two single-stage systems; stage 8: the attribute selector too; stage 9: dev,
    # test, test_heldout, test_handwritten
    assert out.stdout.count("already done with the same") == 4 + 5 + 4
    assert "Stage 9: SI-SDR/PESQ of test: already done" in out.stdout
    # by default (run.sh's --cls_release) stage 7 installs a released classifier instead of training it
    out = bash(["./run.sh", "--stage", "7", "--stop_stage", "7", *MIX, "--cls_systems", "text_clean"], cwd=recipe)
    assert "Stage 7: text_clean: using the released classifier released/cls_minilm_whisper/text_clean" in out.stdout
    installed = recipe / "exp/cls_minilm_whisper_text_clean"
    assert (installed / "released.pth").is_file() and not (installed / "train.log").exists()

    # forced rerun: synthesis skips the finished utterances, outputs stay identical
    out = bash(["./run.sh", "--stop_stage", "1", "--force", "true", "--local_data_opts", OPTS, *MIX], cwd=recipe)
    assert "synthesized 0 of" in "".join(p.read_text() for p in logs)
    assert {p: p.stat().st_mtime_ns for p in wavs} == wavs


def test_a_stage_without_its_inputs_fails_loudly(recipe, bash):
    out = bash(["./run.sh", "--stage", "9", "--stop_stage", "9"], cwd=recipe, check=False)
    assert out.returncode != 0 and "exp/sep_blstm_256x3_dm has no separated outputs of dev: run stage 6" in out.stderr


def test_bad_options_fail(recipe, bash):
    out = bash(["./run.sh", "--stop_stage", "1", "--nj", "zero"], cwd=recipe, check=False)
    assert out.returncode != 0 and "--nj must be a positive integer" in out.stderr
    out = bash(["./run.sh", "--stop_stage", "1", "--local_data_opts", "--langs en,xx"], cwd=recipe, check=False)
    assert out.returncode != 0 and "unknown language 'xx'" in out.stderr
    assert not (recipe / "data/.stage1.done").exists()


def test_a_failing_job_fails_the_stage(recipe, bash):
    # every synthesis job fails to write its wavs: run.pl names the failures, the stage stops
    opts = OPTS + " --wav_dir /proc/no_such_dir"
    out = bash(["./run.sh", "--stop_stage", "1", "--cmd", "utils/run.pl", "--local_data_opts", opts],
               cwd=recipe, check=False)
    assert out.returncode != 0
    assert "2 / 2 failed, log is in data/local/espeak/log/synth.*.log" in out.stderr
    log = (recipe / "data/local/espeak/log/synth.1.log").read_text()
    assert "# Ended (code 1)" in log and "/proc/no_such_dir" in log
    assert not (recipe / "data/.stage1.done").exists()
