"""Stage training's resume rule (utils/lib/stages.sh): a run resumes the checkpoints of the same
training, a larger epoch budget included (in the config or as --max_epoch); another training's
(other options or data) are set aside under EXP/superseded/<time>/, never deleted (a lost 40-minute
run prompted it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bash(script: str) -> subprocess.CompletedProcess:
    """``script`` run by bash after sourcing the stage machinery."""
    return subprocess.run(["bash", "-c", f'. "{ROOT}/utils/lib/stages.sh"; {script}'], capture_output=True,
                          text=True, timeout=30)


def _call(exp: Path, signature: str) -> subprocess.CompletedProcess:
    return _bash(f'_unit_signature={signature}; resume_or_set_aside "{exp}/.resume_key" "{exp}" "{exp}"/*.pth '
                 f'"{exp}/images" "{exp}/config.yaml" "{exp}/train.log"')


def test_checkpoints_of_other_options_are_set_aside_and_the_same_unit_resumes(tmp_path):
    exp = tmp_path / "exp/remix_x"
    exp.mkdir(parents=True)
    assert _call(exp, "first").returncode == 0  # a fresh dir: nothing to move, the key written
    assert (exp / ".resume_key").read_text().strip() == "first" and not (exp / "superseded").exists()
    (exp / "20epoch.pth").write_bytes(b"weights of 20 epochs")
    (exp / "latest.pth").symlink_to("20epoch.pth")
    (exp / "train.log").write_text("log\n")
    (exp / "images").mkdir()
    # the same unit (an interrupted run): everything stays for ESPnet's --resume
    same = _call(exp, "first")
    assert same.returncode == 0 and (exp / "20epoch.pth").is_file() and not (exp / "superseded").exists()
    # other options: moved aside with one line naming where, the key now the new unit's
    other = _call(exp, "second")
    assert other.returncode == 0, other.stderr
    (aside,) = (exp / "superseded").iterdir()
    assert (aside / "20epoch.pth").read_bytes() == b"weights of 20 epochs"
    assert (aside / "latest.pth").resolve() == (aside / "20epoch.pth").resolve()  # the link still points home
    assert (aside / "train.log").is_file() and (aside / "images").is_dir()
    assert not list(exp.glob("*.pth")) and not (exp / "train.log").exists()
    assert f"moved them to {aside}" in other.stdout and "--init_param" in other.stdout
    assert (exp / ".resume_key").read_text().strip() == "second"


def _launch(exp: Path, signature: str) -> subprocess.CompletedProcess:
    """launch_training as a stage calls it, with python stubbed out (it records its calls)."""
    return _bash(f'python() {{ echo "python $*" >> "{exp}.calls"; }}; ngpu=0 cpu_threads=1 gpu_cmd=run.pl '
                 f'_stage_script=remix.sh; _unit_signature="{signature}"; '
                 f'launch_training 3 "{exp}" remixer python -m tse2.bin.remix_train --output_dir "{exp}"')


def test_a_larger_epoch_budget_goes_on_from_the_checkpoints_and_other_options_start_over(tmp_path):
    conf = tmp_path / "remix.yaml"
    conf.write_text("batch_size: 8\nmax_epoch: 20  # the budget\npatience: 100\n")
    sig = lambda: _bash(f'training_signature "{conf}"').stdout
    first = sig()
    assert first.endswith(" max_epoch=20") and first.startswith("config=")
    conf.write_text("batch_size: 8\nmax_epoch: 45\npatience: 100\n")
    assert sig() == first.replace("max_epoch=20", "max_epoch=45")  # the rest of the config is the same
    exp = tmp_path / "exp/remix_x"
    assert _launch(exp, f"{first} args= ngpu=0 inputs=abc").returncode == 0
    (exp / "20epoch.pth").write_bytes(b"20 epochs")
    (exp / "checkpoint.pth").write_bytes(b"state")
    for budget in (f"{sig()} args= ngpu=0 inputs=abc", f"{sig()} args=--max_epoch 60 ngpu=0 inputs=abc"):
        more = _launch(exp, budget)  # the same training, longer: ESPnet's --resume goes on from epoch 20
        assert more.returncode == 0, more.stderr
        assert (exp / "20epoch.pth").is_file() and not (exp / "superseded").exists()
    assert "--resume true" in (exp.parent / "remix_x.calls").read_text()
    other = _launch(exp, f"{sig()} args=--max_epoch 60 --optim_conf lr=1e-4 ngpu=0 inputs=abc")
    assert other.returncode == 0, other.stderr
    (aside,) = (exp / "superseded").iterdir()
    assert (aside / "20epoch.pth").is_file() and not (exp / "20epoch.pth").exists()
    # other data: starts over too
    (exp / "3epoch.pth").write_bytes(b"3 epochs")
    assert _launch(exp, f"{sig()} args=--max_epoch 60 --optim_conf lr=1e-4 ngpu=0 inputs=def").returncode == 0
    assert not (exp / "3epoch.pth").exists() and list((exp / "superseded").glob("*/3epoch.pth"))
