"""``kill -9`` in the middle of stage 3 (mixture simulation), then a plain rerun: the stage
notices the set is unfinished, redoes it, and the mixtures are bit for bit those of an
uninterrupted run; no temporary file is left behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import ROOT, UTILS, requires_espeak

pytestmark = requires_espeak

OPTS = "--speakers_per_lang 2,2,2 --utts_per_speaker 2 --langs en,de"
MIX = ["--num_train_mix", "24", "--num_valid_mix", "2", "--num_test_mix", "2", "--bank_size", "3", "--nj", "1"]


def _md5s(root: Path) -> dict:
    return {p.relative_to(root): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".wav", ".jsonl", ".scp")}


def test_kill_9_during_stage_3_and_a_plain_rerun_give_the_same_mixtures(tmp_path, bash):
    recipe = tmp_path / "egs/tiny/tse2"
    bash([str(ROOT / "egs/TEMPLATE/tse2/setup.sh"), str(recipe)])
    shutil.copytree(ROOT / "egs/mini_espeak/tse2/local", recipe / "local", dirs_exist_ok=True)
    shutil.copy(ROOT / "egs/mini_espeak/tse2/run.sh", recipe / "run.sh")
    bash(["./run.sh", "--stop_stage", "3", "--local_data_opts", OPTS, *MIX], cwd=recipe)
    train_mix = recipe / "dump/mix/train/wav"
    reference = {**_md5s(recipe / "dump/mix"), **{Path("data") / k: v for k, v in _md5s(recipe / "data/train_mix").items()}}

    env = dict(os.environ, PATH=f"{UTILS}:{os.environ['PATH']}")
    proc = subprocess.Popen(["./run.sh", "--stage", "3", "--stop_stage", "3", "--force", "true", *MIX], cwd=recipe,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    # wait until the forced rerun has removed the set and written some, not all, of its mixtures
    while time.time() < deadline and proc.poll() is None:
        done = len(list(train_mix.glob("*_mix.wav"))) if train_mix.is_dir() else 0
        if 2 <= done < 24 and not (recipe / "data/.stage3.train.done").exists():
            break
        time.sleep(0.05)
    assert proc.poll() is None, "stage 3 ended before it could be killed: make the set larger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (recipe / "data/.stage3.train.done").exists()

    out = bash(["./run.sh", "--stage", "3", "--stop_stage", "3", *MIX], cwd=recipe)
    assert "Stage 3: dev: already done" in out.stdout or "Stage 3: dev" in out.stdout
    after = {**_md5s(recipe / "dump/mix"), **{Path("data") / k: v for k, v in _md5s(recipe / "data/train_mix").items()}}
    assert after == reference
    leftovers = [p for p in (recipe / "dump").rglob("*") if ".tmp" in p.name]
    assert not leftovers, leftovers[:3]
