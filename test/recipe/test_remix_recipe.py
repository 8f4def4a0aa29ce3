"""The embedded remix recipe end to end on a tiny corpus: every stage, the per-task table, the
training replay and skip, and restartable inference."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, copy_recipe, requires_espeak

pytestmark = requires_espeak
SRC = ROOT / "egs/mini_espeak/remix"
OPTS = "--langs en --speakers_per_lang 2,2,2 --utts_per_style 1"
TRAIN = "--max_epoch 1 --num_iters_per_epoch 2 --batch_size 2"
SIZES = ["--n_train_slots", "8", "--n_valid", "4", "--n_test", "16", "--n_zeroshot", "6", "--n_absent", "4"]
# from scratch (the recipe's default uses the released models): 2 steps of each model
SCRATCH = ["--remix_model", "", "--cascade_model", "", "--remix_args", TRAIN, "--cascade_args", TRAIN]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A copy of the recipe whose links point at this checkout, run once through stages 1-5."""
    base = tmp_path_factory.mktemp("egs") / "tiny"
    target = copy_recipe(SRC, base / "remix")
    (base / "tse2").symlink_to(SRC.parent / "tse2")  # the released separator the config starts from
    (base / "retrieval").symlink_to(SRC.parent / "retrieval")  # its speech synthesis (local/data.sh)
    out = subprocess.run(["./run.sh", "--local_data_opts", OPTS] + SCRATCH + SIZES,
                         cwd=target, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return target


def test_the_recipe_writes_the_per_task_table(recipe):
    res = (recipe / "exp/results_remix_remix/RESULTS.md").read_text()
    for label in ("TSE", "TS↑", "TA↓", "SE", "S↓", "ME", "MVC", "MEVC", "OVC", "Average"):
        assert f" {label} |" in res, label
    for row in ("| test, training phrasings |", "| test, heldout phrasings |", "| test_2s, training phrasings |",
                "| test_unseen, heldout phrasings |", "| test, ideal cascade (PIT + true gains) |",
                "| test_2s1a, ideal cascade (PIT + true gains) |"):
        assert row in res, row
    summary = json.loads((recipe / "exp/remix_remix/decode_remix_test/prompt/summary.json").read_text())
    assert len(summary) == 18 and summary["average"]["mixtures"] == 16 and 0 <= summary["TAE"]["found"] <= 100
    two = json.loads((recipe / "exp/remix_remix/decode_remix_test_2s/prompt/summary.json").read_text())
    assert set(two) == {"TSE", "TSU", "TSD", "MVC", "MEVC", "OVC", "average", "absent_db"}
    absent = json.loads((recipe / "exp/remix_remix/decode_remix_test_absent/heldout/summary.json").read_text())
    assert set(absent) == {"ABSE", "ABSR", "ABSU", "ABSD", "absent_db"} and "level" in absent["ABSE"]
    assert "| *test, outputting silence* |" in res  # what an empty output scores, beside the model
    assert "## Prompts naming a source the mixture lacks" in res and "| test_absent, training phrasings |" in res
    assert (recipe / "exp/remix_remix/run.sh").is_file() and (recipe / "exp/remix_remix/.stage3.done").is_file()
    assert (recipe / "exp/remix_cascade/.stage3.done").is_file()
    assert (recipe / "exp/results_remix_remix/spectrograms.png").stat().st_size > 10000
    assert (recipe / "data/local/sound_bank.md").read_text().count("| train / valid / test |") >= 10


def test_a_rerun_keeps_the_trained_model_and_finishes_interrupted_inference(recipe):
    decode = recipe / "exp/remix_remix/decode_remix_test/prompt"
    wavs = sorted((decode / "wav").glob("*.wav"))
    kept = {p: p.stat().st_mtime_ns for p in wavs[1:]}
    wavs[0].unlink()
    out = subprocess.run(["./run.sh", "--stage", "3", "--stop_stage", "4", "--local_data_opts", OPTS]
                         + SCRATCH + SIZES, cwd=recipe, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Stage 3: exp/remix_remix: already done with the same options and inputs" in out.stdout + out.stderr
    assert wavs[0].is_file() and all(p.stat().st_mtime_ns == t for p, t in kept.items())


def test_a_rerun_skips_every_finished_stage_and_an_option_reruns_only_what_it_changes(recipe):
    run = lambda *more: subprocess.run(["./run.sh", "--local_data_opts", OPTS] + SCRATCH + SIZES + list(more),  # noqa: E731
                                       cwd=recipe, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    out = run()
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for unit in ("Stage 1:", "Stage 2: training slots:", "Stage 2: remix_test:", "Stage 2: remix_test_unseen:",
                 "Stage 3: exp/remix_remix:", "Stage 3: exp/remix_cascade:", "Stage 4: exp/remix_remix infer:",
                 "Stage 4: exp/remix_cascade cascade:", "Stage 5: exp/remix_remix/decode_remix_test/heldout:",
                 "Stage 5: exp/results_remix_remix:"):
        assert f"{unit} already done with the same options and inputs" in out.stdout, unit
    figure = recipe / "exp/results_remix_remix/spectrograms.png"
    before = figure.stat().st_mtime_ns
    out = run("--figure_tasks", "TSE")  # only the report depends on it
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Stage 5: exp/remix_remix/decode_remix_test/prompt: already done" in out.stdout
    assert "Stage 5: exp/results_remix_remix: already done" not in out.stdout
    assert figure.stat().st_mtime_ns != before


def test_the_released_remixer_extracts_on_unseen_speakers_and_clips(recipe):
    """The released model on the tiny recipe's test mixtures (its speakers are new): the
    extraction tasks, on which it gets 5-8 dB on the embedded test set, must improve clearly."""
    import numpy as np

    from tse2.inference.remix import Remixer
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import read_map

    rm = Remixer.from_pretrained(SRC / "released/remix_blstm_minilm")
    d = recipe / "data/remix_test"
    mix, ref, prompt, task = (read_map(d / n) for n in ("wav.scp", "spk1.scp", "prompt", "task"))
    gains = []
    for k in (k for k in mix if task[k] in ("TSE", "TAE", "SE", "SR")):
        x, y = read_audio(mix[k])[0], read_audio(ref[k])[0]
        e = rm.remix_mono(x, prompt[k])
        snr = lambda a: 10 * np.log10(np.sum(y ** 2) / np.sum((a - y) ** 2))  # noqa: E731
        gains.append(snr(e) - snr(x))
    assert len(gains) == 4 and float(np.mean(gains)) > 2.0, gains


def test_the_released_remixer_reads_prompts_through_merged_lora_as_through_peft(recipe, monkeypatch):
    """The runtime merges the prompt reader's LoRA into the frozen MiniLM (no peft import at start);
    the remixes are those of the peft model the release was trained as."""
    import numpy as np

    import tse2.models.checkpoint as ck
    from tse2.inference.remix import Remixer
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import read_map

    merged = Remixer.from_pretrained(SRC / "released/remix_blstm_minilm")
    assert type(merged.model.text_encoder.model).__module__ == "tse2.models.lite"
    monkeypatch.setattr(ck, "merged_lora_conf", lambda conf: None)  # built as trained: peft
    peft = Remixer.from_pretrained(SRC / "released/remix_blstm_minilm")
    assert type(peft.model.text_encoder.model).__name__ == "PeftModel"
    d = recipe / "data/remix_test"
    mix, prompt = read_map(d / "wav.scp"), read_map(d / "prompt_handwritten")
    for k in sorted(mix)[:3]:
        x = read_audio(mix[k])[0]
        a, b = merged.remix_mono(x, prompt[k]), peft.remix_mono(x, prompt[k])
        assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max() + 1e-7, prompt[k]
