"""Stage training's resume rule (utils/lib/stages.sh): a run resumes only the checkpoints of its
own unit of work; another unit's (other options, e.g. a larger --max_epoch) are set aside under
EXP/superseded/<time>/, never deleted (a lost 40-minute run prompted it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _call(exp: Path, signature: str) -> subprocess.CompletedProcess:
    script = (f'. "{ROOT}/utils/lib/stages.sh"; _unit_signature={signature}; '
              f'resume_or_set_aside "{exp}/.resume_key" "{exp}" "{exp}"/*.pth "{exp}/images" "{exp}/config.yaml" '
              f'"{exp}/train.log"')
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)


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
