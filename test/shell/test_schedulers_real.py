"""slurm.pl on a real Slurm: a single-node cluster (munged, slurmctld, slurmd with 2 CPUs) started
by the fixture (test/shell/slurm_cluster.py) runs JOB arrays and a recipe stage.

What the stand-in sbatch of test_runners.py cannot show: that the job script runs under slurmd
with the environment sbatch --export=PATH gives it, that a failing task fails the run, that
--max-jobs-run and --num-threads reach the scheduler, that a task Slurm drops (scancel) fails the
run instead of hanging it, and that a recipe stage gives the same outputs as with run.pl.

Needs Debian's slurm-wlm and munge (``make -C tools test-deps``, which ``make test`` runs). When
the daemons cannot start on a machine, the tests are skipped with the daemons' own messages."""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, UTILS, requires_espeak
from slurm_cluster import SlurmCluster, missing_programs


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = missing_programs()
    if missing:
        msg = f"Slurm/munge not installed ({', '.join(missing)} missing): run make -C tools test-deps"
        if os.environ.get("CI"):
            pytest.fail(msg)  # make test installs them: missing in CI is a broken install
        pytest.skip(msg)
    if (os.cpu_count() or 1) < 2:
        pytest.skip("the test cluster's node has 2 CPUs; this machine has fewer")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except RuntimeError as e:
        cluster.stop()
        pytest.skip(f"a Slurm daemon cannot start on this machine: {e}")
    yield cluster
    cluster.stop()


def _run(cmd, cwd, slurm, extra=None, check=True, timeout=300):
    env = {**os.environ, **slurm.env, "TSE2_POLL_SECONDS": "0.3", **(extra or {})}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{cmd} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n{slurm.logs()}")
    return out


def test_job_array_logs_failures_and_limits(tmp_path, slurm):
    stamp = "date +%s.%N > t/JOB.start && sleep 1.5 && date +%s.%N > t/JOB.end"
    show = "echo task JOB cpus=$SLURM_CPUS_PER_TASK omp=$OMP_NUM_THREADS slurm_job=$SLURM_ARRAY_JOB_ID"
    (tmp_path / "t").mkdir()
    out = _run([str(UTILS / "slurm.pl"), "--max-jobs-run", "1", "--num-threads", "2", "JOB=1:4", "log/a.JOB.log",
                f"{show} && {stamp} && test JOB -ne 3"], tmp_path, slurm, check=False)
    assert out.returncode == 1 and "1 / 4 failed, log is in log/a.*.log" in out.stderr, out.stderr
    submit = (tmp_path / "log/q/a.JOB.submit").read_text()
    assert "--array=1-4%1" in submit and "--cpus-per-task 2" in submit and "# job id " in submit
    job_id = submit.split("# job id ")[1].split()[0]
    for i in (1, 2, 3, 4):
        log = (tmp_path / f"log/a.{i}.log").read_text()
        # ran under slurmd, as the array task it names, with the threads it asked for
        assert f"task {i} cpus=2 omp=2 slurm_job={job_id}\n" in log, log
        assert f"# Ended (code {1 if i == 3 else 0})" in log
    # --max-jobs-run 1: the tasks ran one after another
    spans = sorted((float((tmp_path / f"t/{i}.start").read_text()), float((tmp_path / f"t/{i}.end").read_text()))
                   for i in (1, 2, 3, 4))
    assert all(spans[k][1] <= spans[k + 1][0] for k in range(3)), spans


def test_a_task_slurm_drops_fails_the_run_instead_of_hanging(tmp_path, slurm):
    env = {**os.environ, **slurm.env}

    def cancel_task_2():  # once task 2 runs, cancel it as an operator (or a time limit) would
        end = time.monotonic() + 60
        while time.monotonic() < end and not (tmp_path / "t.2").exists():
            time.sleep(0.2)
        ids = subprocess.run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i"], env=env,
                             capture_output=True, text=True).stdout.split()
        for i in ids:
            if i.endswith("_2"):
                subprocess.run(["scancel", i], env=env)

    t = threading.Thread(target=cancel_task_2)
    t.start()
    start = time.monotonic()
    out = _run([str(UTILS / "slurm.pl"), "JOB=1:2", "log/c.JOB.log", "touch t.JOB && { test JOB -eq 1 || sleep 60; }"],
               tmp_path, slurm, extra={"TSE2_LOST_GRACE_SECONDS": "1"}, check=False, timeout=120)
    t.join()
    assert out.returncode == 1 and "1 / 2 failed" in out.stderr, out.stderr
    assert "task 2 of job" in out.stderr and "never finished" in out.stderr
    log2 = (tmp_path / "log/c.2.log").read_text()
    assert "never finished" in log2 and "# Ended (code lost)" in log2
    assert "# Ended (code 0)" in (tmp_path / "log/c.1.log").read_text()
    assert time.monotonic() - start < 50  # not task 2's 60 s, nor a hang


def _md5s(root: Path, patterns) -> dict:
    """md5 of each file, with the recipe dir's own path (scp files hold absolute paths) neutralised."""
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes().replace(str(root).encode(), b"<recipe>")).hexdigest()
            for pat in patterns for p in sorted(root.glob(pat))}


@requires_espeak
def test_recipe_stages_give_the_same_outputs_on_slurm_as_with_run_pl(tmp_path, slurm):
    """Stage 1 once, then stages 2-3 (attribute extraction and mixing, nj jobs each) in two copies
    of the recipe dir: one with cmd_backend=local (run.pl), one with cmd_backend=slurm."""
    local = tmp_path / "egs/tiny/tse2"
    _run([str(ROOT / "egs/TEMPLATE/tse2/setup.sh"), str(local)], tmp_path, slurm)
    shutil.copytree(ROOT / "egs/mini_espeak/tse2/local", local / "local", dirs_exist_ok=True)
    shutil.copy(ROOT / "egs/mini_espeak/tse2/run.sh", local / "run.sh")
    opts = ["--local_data_opts", "--speakers_per_lang 2,2,2 --utts_per_speaker 2 --langs en,de,zh",
            "--num_train_mix", "4", "--num_valid_mix", "2", "--num_test_mix", "2", "--bank_size", "3",
            "--test_sets", "test", "--nj", "2"]
    _run(["./run.sh", "--stop_stage", "1", *opts], local, slurm, timeout=600)
    on_slurm = tmp_path / "egs/tiny_slurm/tse2"
    shutil.copytree(local, on_slurm, symlinks=True)
    cmd = on_slurm / "cmd.sh"
    text = cmd.read_text()
    cmd.unlink()  # a symlink to the TEMPLATE's: the copy gets its own
    cmd.write_text(text.replace("cmd_backend=local", "cmd_backend=slurm"))
    for d in (local, on_slurm):
        _run(["./run.sh", "--stage", "2", "--stop_stage", "3", *opts], d, slurm, timeout=900)
    # the slurm copy really went through Slurm: its stage-2 jobs were submitted with sbatch
    submits = list((on_slurm / "data/train/log/q").glob("*.submit"))
    assert submits and all(s.read_text().startswith("sbatch ") and "# job id " in s.read_text() for s in submits)
    assert not (local / "data/train/log/q").exists()
    pats = ["data/*/attributes.jsonl", "data/*_mix/*.scp", "data/*_mix/utt2target", "dump/mix/*/wav/*.wav"]
    a, b = _md5s(local, pats), _md5s(on_slurm, pats)
    assert len(a) > 40 and a == b
