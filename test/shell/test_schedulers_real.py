"""slurm.pl and queue.pl on real schedulers, started by the fixtures (test/shell/clusters.py): a
Slurm of two nodes (munged, slurmctld, two slurmd with 2 CPUs each) and a private Grid Engine cell
(sge_qmaster, sge_execd, one queue of 2 slots) run JOB arrays and a recipe stage.

What the stand-ins of test_runners.py cannot show: that the job script runs under the scheduler
with the environment the submission gives it, that a failing task fails the run, that
--max-jobs-run and --num-threads reach the scheduler, that a task the scheduler drops
(scancel/qdel) fails the run instead of hanging it, that a recipe stage gives the same outputs as
with run.pl, and (Slurm) that ESPnet's multi-node launcher trains with two ranks.

Needs Debian's slurm-wlm, munge and gridengine packages (``make -C tools test-deps``, which
``make test`` runs when CI is set). When the daemons cannot start on a machine, the tests skip
with the daemons' own messages."""

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

from clusters import SGE_PROGRAMS, SLURM_PROGRAMS, SgeCluster, SlurmCluster, missing_programs
from conftest import ROOT, UTILS, have_espeak


def _start(kind, cls, programs, tmp_path_factory, root_needed: bool):
    missing = missing_programs(programs)
    if missing:
        msg = f"{kind} not installed ({', '.join(missing)} missing): run make -C tools test-deps"
        if os.environ.get("CI"):
            pytest.fail(msg)  # make test installs them: missing in CI is a broken install
        pytest.skip(msg)
    if root_needed and os.geteuid() != 0:
        pytest.skip(f"{kind}'s daemons switch users and need root here")
    if (os.cpu_count() or 1) < 2:
        pytest.skip(f"the test {kind} has 2 slots; this machine has fewer CPUs")
    cluster = cls(tmp_path_factory.mktemp(kind.lower().replace(" ", "_")))
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        cluster.stop()
        pytest.skip(f"a {kind} daemon cannot start on this machine: {e}")
    return cluster


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    cluster = _start("Slurm", SlurmCluster, SLURM_PROGRAMS, tmp_path_factory, root_needed=False)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def sge(tmp_path_factory):
    cluster = _start("Grid Engine", SgeCluster, SGE_PROGRAMS, tmp_path_factory, root_needed=True)
    yield cluster
    cluster.stop()


# per scheduler: the runner, cmd.sh's backend, what a task sees of its slots, how to drop one task
BACKENDS = {
    "slurm": dict(runner="slurm.pl", cmd_backend="slurm", slots="$SLURM_CPUS_PER_TASK", job="$SLURM_ARRAY_JOB_ID",
                  drop=lambda job, task: ["scancel", f"{job}_{task}"]),
    "sge": dict(runner="queue.pl", cmd_backend="sge", slots="$NSLOTS", job="$JOB_ID",
                drop=lambda job, task: ["qdel", "-f", job, "-t", str(task)]),
}


@pytest.fixture(params=sorted(BACKENDS))
def scheduler(request):
    return request.param, BACKENDS[request.param], request.getfixturevalue(request.param)


def _run(cmd, cwd, cluster, extra=None, check=True, timeout=300):
    env = {**os.environ, **cluster.env, "TSE2_POLL_SECONDS": "0.3", **(extra or {})}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{cmd} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n{cluster.logs()}")
    return out


def _job_id(submit: Path) -> str:
    return submit.read_text().split("# job id ")[1].split()[0]


def test_job_array_logs_failures_and_limits(tmp_path, scheduler):
    name, b, cluster = scheduler
    stamp = "date +%s.%N > t/JOB.start && sleep 1.5 && date +%s.%N > t/JOB.end"
    show = f"echo task JOB slots={b['slots']} omp=$OMP_NUM_THREADS job={b['job']}"
    (tmp_path / "t").mkdir()
    out = _run([str(UTILS / b["runner"]), "--max-jobs-run", "1", "--num-threads", "2", "JOB=1:4", "log/a.JOB.log",
                f"{show} && {stamp} && test JOB -ne 3"], tmp_path, cluster, check=False)
    assert out.returncode == 1 and "1 / 4 failed, log is in log/a.*.log" in out.stderr, out.stderr
    submit = tmp_path / "log/q/a.JOB.submit"
    flags = {"slurm": ["--array=1-4%1", "--cpus-per-task 2"], "sge": ["-t 1:4", "-tc 1", "-pe smp 2"]}[name]
    assert all(f in submit.read_text() for f in flags) and "# job id " in submit.read_text()
    job_id = _job_id(submit)
    for i in (1, 2, 3, 4):
        log = (tmp_path / f"log/a.{i}.log").read_text()
        # ran under the scheduler, as the array task it names, with the threads it asked for
        assert f"task {i} slots=2 omp=2 job={job_id}\n" in log, log
        assert f"# Ended (code {1 if i == 3 else 0})" in log
    # --max-jobs-run 1: the tasks ran one after another
    spans = sorted((float((tmp_path / f"t/{i}.start").read_text()), float((tmp_path / f"t/{i}.end").read_text()))
                   for i in (1, 2, 3, 4))
    assert all(spans[k][1] <= spans[k + 1][0] for k in range(3)), spans


def test_a_task_the_scheduler_drops_fails_the_run_instead_of_hanging(tmp_path, scheduler):
    name, b, cluster = scheduler
    env = {**os.environ, **cluster.env}
    submit = tmp_path / "log/q/c.JOB.submit"

    def drop_task_2():  # once task 2 runs, delete it as an operator (or a time limit) would
        end = time.monotonic() + 60
        while time.monotonic() < end and not ((tmp_path / "t.2").exists() and "# job id" in
                                              (submit.read_text() if submit.exists() else "")):
            time.sleep(0.2)
        subprocess.run(b["drop"](_job_id(submit), 2), env=env, capture_output=True)

    t = threading.Thread(target=drop_task_2)
    t.start()
    start = time.monotonic()
    out = _run([str(UTILS / b["runner"]), "JOB=1:2", "log/c.JOB.log", "touch t.JOB && { test JOB -eq 1 || sleep 60; }"],
               tmp_path, cluster, extra={"TSE2_LOST_GRACE_SECONDS": "1"}, check=False, timeout=120)
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


OPTS = ["--local_data_opts", "--speakers_per_lang 2,2,2 --utts_per_speaker 2 --langs en,de,zh",
        "--num_train_mix", "4", "--num_valid_mix", "2", "--num_test_mix", "2", "--bank_size", "3",
        "--test_sets", "test", "--nj", "2"]


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    """A tiny recipe dir after stage 1 (espeak synthesis), run once for every scheduler."""
    if not have_espeak():
        pytest.skip("libespeak-ng is not installed (make install)")
    tmp_path = tmp_path_factory.mktemp("recipes")
    local = tmp_path / "egs/tiny/tse2"
    subprocess.run([str(ROOT / "egs/TEMPLATE/tse2/setup.sh"), str(local)], check=True, capture_output=True)
    shutil.copytree(ROOT / "egs/mini_espeak/tse2/local", local / "local", dirs_exist_ok=True)
    shutil.copy(ROOT / "egs/mini_espeak/tse2/run.sh", local / "run.sh")
    out = subprocess.run(["./run.sh", "--stop_stage", "1", *OPTS], cwd=local, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return local


def _copy_with_backend(local: Path, target: Path, backend: str) -> Path:
    shutil.copytree(local, target, symlinks=True)
    cmd = target / "cmd.sh"
    text = cmd.read_text()
    cmd.unlink()  # a symlink to the TEMPLATE's: the copy gets its own
    cmd.write_text(text.replace("cmd_backend=local", f"cmd_backend={backend}"))
    return target


@pytest.fixture(scope="module")
def local_stages_2_3(stage1):
    """Stages 2-3 (attribute extraction and mixing, nj jobs each) with run.pl: the reference."""
    ref = stage1.parent.parent / "tiny_local/tse2"
    shutil.copytree(stage1, ref, symlinks=True)
    out = subprocess.run(["./run.sh", "--stage", "2", "--stop_stage", "3", *OPTS], cwd=ref, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    return ref


@pytest.fixture(scope="module")
def slurm_recipe(stage1, slurm):
    rec = _copy_with_backend(stage1, stage1.parent.parent / "tiny_slurm/tse2", "slurm")
    _run(["./run.sh", "--stage", "2", "--stop_stage", "3", *OPTS], rec, slurm, timeout=900)
    return rec


@pytest.fixture(scope="module")
def sge_recipe(stage1, sge):
    rec = _copy_with_backend(stage1, stage1.parent.parent / "tiny_sge/tse2", "sge")
    _run(["./run.sh", "--stage", "2", "--stop_stage", "3", *OPTS], rec, sge, timeout=900)
    return rec


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_recipe_stages_give_the_same_outputs_as_with_run_pl(name, local_stages_2_3, request):
    rec = request.getfixturevalue(f"{name}_recipe")
    # the copy really went through the scheduler: its stage-2 jobs were submitted to it
    submits = list((rec / "data/train/log/q").glob("*.submit"))
    first = {"slurm": "sbatch ", "sge": "qsub "}[name]
    assert submits and all(s.read_text().startswith(first) and "# job id " in s.read_text() for s in submits)
    assert not (local_stages_2_3 / "data/train/log/q").exists()
    pats = ["data/*/attributes.jsonl", "data/*_mix/*.scp", "data/*_mix/utt2target", "dump/mix/*/wav/*.wav"]
    a, b = _md5s(local_stages_2_3, pats), _md5s(rec, pats)
    assert len(a) > 40 and a == b


def test_two_process_gloo_training_through_espnets_launcher_on_two_nodes(slurm_recipe, slurm):
    """Stage 5 with --num_nodes 2 on CPU: tse2.sh -> espnet2.bin.launch -> slurm.pl --num_nodes 2
    -> sbatch --nodes 2 -> srun: two training processes (ranks 0 and 1, gloo, one per node) of the
    tiny dynamic-mixing separator.  Killed (-9) after its first epoch's checkpoint, the rerun resumes."""
    rec = slurm_recipe
    exp = rec / "exp/sep_dist"
    args = ["--stage", "5", "--stop_stage", "5", *OPTS, "--sep_release", "", "--sep_tag", "dist",
            "--sep_config", "conf/tuning/sep_tflocoformer_tiny_dm.yaml", "--num_nodes", "2",
            "--sep_args", "--max_epoch 4 --num_iters_per_epoch 2 --batch_size 2 --num_workers 0"]
    env = {**os.environ, **slurm.env}

    def kill_after_first_epoch():
        end = time.monotonic() + 240
        while time.monotonic() < end and not (exp / "1epoch.pth").exists():
            time.sleep(0.2)
        jobs = subprocess.run(["squeue", "-h", "-u", getpass.getuser(), "-o", "%A"], env=env,
                              capture_output=True, text=True).stdout.split()
        for j in jobs:  # every process of the job, the batch script included, as a node failure would
            subprocess.run(["scancel", "--signal=KILL", "--full", j], env=env)

    killer = threading.Thread(target=kill_after_first_epoch)
    killer.start()
    first = _run(["./run.sh", *args], rec, slurm, extra={"TSE2_LOST_GRACE_SECONDS": "1"}, check=False, timeout=600)
    killer.join()
    assert first.returncode != 0 and "separator training failed" in first.stderr + first.stdout
    log = (exp / "train.log").read_text()
    submit = (exp / "q/train.submit").read_text()
    first_line = log.splitlines()[0]  # the job log starts with the command the job ran
    assert "sbatch " in submit and "--nodes 2" in submit
    assert first_line.startswith("# srun ") and "--dist_launcher slurm" in first_line and "--dist_backend gloo" in first_line
    # two ranks, gloo, each drawing its own half of every batch (1 of batch_size 2)
    for r in (0, 1):
        assert f"dynamic mixing: rank {r} of 2, epoch 1: 2 examples, 1 a step" in log, log[-3000:]
    import torch

    def epochs_done() -> int:
        return torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)["reporter"]["epoch"]

    killed_at = epochs_done()  # rank 0's checkpoint: 1, or 2 when epoch 2 ended before the kill landed
    assert 1 <= killed_at < 4 and not (exp / "4epoch.pth").exists()

    second = _run(["./run.sh", *args], rec, slurm, check=False, timeout=600)
    log = (exp / "train.log").read_text()
    # the job log's last lines first: a long failure report is cut in the middle
    assert second.returncode == 0, "\n".join(log.splitlines()[-40:]) + "\n" + second.stdout[-2000:] + second.stderr[-3000:]
    assert "The training was resumed using" in log, log[-3000:]
    for r in (0, 1):  # the resumed run goes on after the checkpoint's epoch: that one is not drawn again
        assert f"dynamic mixing: rank {r} of 2, epoch {killed_at + 1}:" in log, log[-3000:]
        assert f"rank {r} of 2, epoch {killed_at}:" not in log
    ckpt = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)
    assert ckpt["reporter"]["epoch"] == 4
    assert "Stage 5" in second.stdout

    # what a single-process run of the same options does per epoch, the two ranks do together:
    # 2 steps of batch_size 2, each rank rendering its half; the same model and keys come out
    single = ["--stage", "5", "--stop_stage", "5", *OPTS, "--sep_release", "", "--sep_tag", "single",
              "--sep_config", "conf/tuning/sep_tflocoformer_tiny_dm.yaml",
              "--sep_args", "--max_epoch 1 --num_iters_per_epoch 2 --batch_size 2 --num_workers 0"]
    _run(["./run.sh", *single], rec, slurm, timeout=600)
    one = (rec / "exp/sep_single/train.log").read_text()
    assert "dynamic mixing: rank 0 of 1, epoch 1: 4 examples, 2 a step" in one and "rank 1 of" not in one
    model_1 = torch.load(rec / "exp/sep_single/1epoch.pth", map_location="cpu", weights_only=True)
    assert {k: v.shape for k, v in model_1.items()} == {k: v.shape for k, v in ckpt["model"].items()}

    # the tiny text classifier (MiniLM + LoRA, a small wav2vec2) on the same path: stage 4's
    # prompts, stage 6's separated candidates (with the separator just trained), stage 7 on 2 ranks
    cls = ["--stage", "4", "--stop_stage", "7", *OPTS, "--sep_release", "", "--sep_tag", "dist",
           "--sep_config", "conf/tuning/sep_tflocoformer_tiny_dm.yaml", "--num_nodes", "2",
           "--sep_args", "--max_epoch 4 --num_iters_per_epoch 2 --batch_size 2 --num_workers 0",
           "--cls_config", "conf/tuning/cls_minilm_w2v_tiny.yaml", "--cls_release", "", "--cls_systems", "text",
           "--cls_train_clean", "",
           "--cls_args", "--max_epoch 1 --num_iters_per_epoch 2 --batch_size 4 --num_workers 0"]
    out = _run(["./run.sh", *cls], rec, slurm, timeout=900)
    assert "Stage 5: already done" in out.stdout  # the separator above, not retrained
    cexp = rec / "exp/cls_minilm_w2v_tiny_text"
    clog = (cexp / "train.log").read_text()
    first_line = clog.splitlines()[0]
    assert first_line.startswith("# srun ") and "--dist_backend gloo" in first_line
    assert "--nodes 2" in (cexp / "q/train.submit").read_text()
    assert "[" in clog and ":0/2]" in clog  # ESPnet's rank prefix: rank 0 of 2 logged the training
    cck = torch.load(cexp / "checkpoint.pth", map_location="cpu", weights_only=False)
    assert cck["reporter"]["epoch"] == 1
