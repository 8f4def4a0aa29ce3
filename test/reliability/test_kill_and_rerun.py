"""``kill -9`` in the middle of stage 3 (mixture simulation), stage 5 (separator training) or stage 6
(separation), then a plain rerun: the stage notices the unfinished set (or epoch), redoes it and
only it, and the outputs are bit for bit those of an uninterrupted run; no temporary file is left
behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, UTILS, requires_espeak, run

pytestmark = requires_espeak

OPTS = "--speakers_per_lang 2,2,2 --utts_per_speaker 2 --langs en,de"
MIX = ["--num_train_mix", "24", "--num_valid_mix", "2", "--num_test_mix", "2", "--bank_size", "3", "--nj", "1", "--test_sets", "test"]


def _md5s(root: Path) -> dict:
    return {p.relative_to(root): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".wav", ".jsonl", ".scp")}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """The tiny recipe after stage 3 (the released separator linked in for stages 5-6)."""
    recipe = tmp_path_factory.mktemp("kill") / "egs/tiny/tse2"
    run([str(ROOT / "egs/TEMPLATE/tse2/setup.sh"), str(recipe)])
    shutil.copytree(ROOT / "egs/mini_espeak/tse2/local", recipe / "local", dirs_exist_ok=True)
    shutil.copy(ROOT / "egs/mini_espeak/tse2/run.sh", recipe / "run.sh")
    (recipe / "released").symlink_to(ROOT / "egs/mini_espeak/tse2/released")
    run(["./run.sh", "--stop_stage", "3", "--local_data_opts", OPTS, *MIX], cwd=recipe)
    return recipe


def _start(recipe: Path, stage: int) -> subprocess.Popen:
    env = dict(os.environ, PATH=f"{UTILS}:{os.environ['PATH']}")
    return subprocess.Popen(["./run.sh", "--stage", str(stage), "--stop_stage", str(stage), "--force", "true", *MIX],
                            cwd=recipe, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    assert proc.poll() is None, "the stage ended before it could be killed: make the set larger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _leftovers(root: Path) -> list:
    return [p for p in root.rglob("*") if ".tmp" in p.name]


def test_kill_9_during_stage_3_and_a_plain_rerun_give_the_same_mixtures(recipe, bash):
    train_mix = recipe / "dump/mix/train/wav"
    reference = {**_md5s(recipe / "dump/mix"), **{Path("data") / k: v for k, v in _md5s(recipe / "data/train_mix").items()}}

    proc = _start(recipe, 3)
    deadline = time.time() + 120
    # wait until the forced rerun has removed the set and written some, not all, of its mixtures
    while time.time() < deadline and proc.poll() is None:
        done = len(list(train_mix.glob("*_mix.wav"))) if train_mix.is_dir() else 0
        if 2 <= done < 24 and not (recipe / "data/.stage3.train.done").exists():
            break
        time.sleep(0.05)
    _kill(proc)
    assert not (recipe / "data/.stage3.train.done").exists()

    out = bash(["./run.sh", "--stage", "3", "--stop_stage", "3", *MIX], cwd=recipe)
    assert "Stage 3: dev: already done" in out.stdout or "Stage 3: dev" in out.stdout
    after = {**_md5s(recipe / "dump/mix"), **{Path("data") / k: v for k, v in _md5s(recipe / "data/train_mix").items()}}
    assert after == reference
    assert not _leftovers(recipe / "dump"), _leftovers(recipe / "dump")[:3]


def test_kill_9_during_stage_6_redoes_only_the_unfinished_set(recipe, bash):
    bash(["./run.sh", "--stage", "4", "--stop_stage", "6", *MIX], cwd=recipe)
    exp = recipe / "exp/sep_blstm_256x3_dm"
    reference = _md5s(exp)
    assert any(str(k).startswith("separate_dev/wav/") for k in reference)

    proc = _start(recipe, 6)
    train_marker, dev_marker = exp / ".stage6.train.done", exp / ".stage6.dev.done"
    deadline, removed = time.time() + 180, False
    # kill once the forced rerun has finished the training set again and begun the next one
    while time.time() < deadline and proc.poll() is None:
        removed = removed or not train_marker.exists()
        if removed and train_marker.exists() and not dev_marker.exists():
            break
        time.sleep(0.02)
    _kill(proc)
    assert train_marker.exists() and not dev_marker.exists()

    out = bash(["./run.sh", "--stage", "6", "--stop_stage", "6", *MIX], cwd=recipe)
    assert "Stage 6: train: already done" in out.stdout, out.stdout[-2000:]
    assert "Stage 6: dev: already done" not in out.stdout
    assert _md5s(exp) == reference
    assert not _leftovers(exp), _leftovers(exp)[:3]


def _state(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def test_kill_9_during_stage_5_training_resumes_to_the_same_model(recipe, bash):
    """Stage 5 from scratch (ESPnet's trainer, --resume true, dynamic mixing) killed after its first
    epoch, then rerun: it continues from the checkpoint, and the last epoch's weights are bit for
    bit an uninterrupted run's."""
    sep = ["--sep_release", "", "--sep_args", "--max_epoch 3 --num_iters_per_epoch 3 --batch_size 2 --seed 3"]
    bash(["./run.sh", "--stage", "5", "--stop_stage", "5", *MIX, *sep, "--sep_tag", "whole"], cwd=recipe)
    whole = recipe / "exp/sep_whole"
    reference = _state(whole / "3epoch.pth")

    env = dict(os.environ, PATH=f"{UTILS}:{os.environ['PATH']}")
    proc = subprocess.Popen(["./run.sh", "--stage", "5", "--stop_stage", "5", *MIX, *sep, "--sep_tag", "cut"],
                            cwd=recipe, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    cut = recipe / "exp/sep_cut"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (cut / "1epoch.pth").exists():
        time.sleep(0.02)
    _kill(proc)
    assert not (cut / "3epoch.pth").exists() and not (cut / ".stage5.done").exists()

    out = bash(["./run.sh", "--stage", "5", "--stop_stage", "5", *MIX, *sep, "--sep_tag", "cut"], cwd=recipe)
    assert "already done" not in out.stdout
    log = (cut / "train.log").read_text()
    assert "The training was resumed using" in log, log[-2000:]
    resumed = _state(cut / "3epoch.pth")
    assert resumed.keys() == reference.keys()
    assert all(bool((resumed[k] == reference[k]).all()) for k in reference)


def test_stage_3_remakes_rooms_and_mixtures_when_the_seed_changes(recipe, bash):
    mixtures = lambda: _md5s(recipe / "dump/mix")  # noqa: E731
    banks = lambda: _md5s_npz(recipe / "dump/rir_bank")  # noqa: E731
    before_mix, before_bank = mixtures(), banks()
    out = bash(["./run.sh", "--stage", "3", "--stop_stage", "3", "--mix_seed", "7", *MIX], cwd=recipe)
    assert "Stage 3: dev: already done" not in out.stdout
    seven_mix, seven_bank = mixtures(), banks()
    assert set(seven_bank) == set(before_bank) and all(seven_bank[k] != before_bank[k] for k in before_bank)
    assert sum(seven_mix[k] != before_mix.get(k) for k in seven_mix if k.suffix == ".wav") > len(seven_mix) // 2
    bash(["./run.sh", "--stage", "3", "--stop_stage", "3", *MIX], cwd=recipe)  # seed 0 again: the same files
    assert mixtures() == before_mix and banks() == before_bank


def _md5s_npz(root: Path) -> dict:
    return {p.relative_to(root): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.npz"))}
