"""Released models: made from an ESPnet experiment dir, verified and installed where stage 6 looks."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch
import yaml

from conftest import ROOT
from tse2.bin import release as tool
from tse2.inference import Separator
from tse2.release import ReleaseError, read_release, training_curve, write_state
from tse2.tasks.enh import Tse2EnhancementTask

LOG = """[vm] 2026-12-01 12:07:06,161 (trainer:394) INFO: 1epoch results: [train] iter_time=0.070, si_snr_loss=5.543, \
loss=5.543, train_time=1.428, time=1 hour, 2 minutes and 7.31 seconds, total_count=5, [valid] si_snr_loss=-0.020, \
loss=-0.020, time=20.44 seconds, total_count=43
[vm] 2026-12-01 12:07:37,514 (trainer:394) INFO: 2epoch results: [train] iter_time=0.055, si_snr_loss=-0.045, \
loss=-0.045, train_time=1.5, time=30.5 seconds, total_count=10, [valid] si_snr_loss=-1.5, loss=-1.5, \
time=19 seconds, total_count=43
"""


@pytest.fixture
def exp_dir(tmp_path):
    exp = tmp_path / "exp/sep_x"
    exp.mkdir(parents=True)
    config = ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_blstm_256x2_dm.yaml"
    args = Tse2EnhancementTask.get_parser().parse_args(["--config", str(config), "--output_dir", str(exp)])
    args.num_iters_per_epoch = 5
    (exp / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in vars(args).items()
                                                     if isinstance(v, (str, int, float, bool, list, dict, type(None)))}))
    torch.save(Tse2EnhancementTask.build_model(args).state_dict(), exp / "valid.si_snr_loss.best.pth")
    (exp / "train.log").write_text(LOG)
    return exp


def test_training_curve_reads_espnet_logs(exp_dir):
    curve = training_curve(exp_dir / "train.log")
    assert [r["epoch"] for r in curve] == [1, 2]
    assert curve[1]["valid"]["si_snr_loss"] == -1.5 and curve[0]["train"]["time"] == "1 hour, 2 minutes and 7.31 seconds"


def test_resumed_run_reads_every_log_with_its_threads(exp_dir, tmp_path):
    # ESPnet's launcher moves the first run's log to train.1.log when --resume continues it
    first, second = LOG.split("[vm] 2026-12-01 12:07:37")
    (exp_dir / "train.1.log").write_text(first)
    (exp_dir / "train.log").write_text("[vm] 2026-12-01 12:07:37" + second)
    rel = tmp_path / "released/sep_r"
    args = ["make", "--exp_dir", str(exp_dir), "--checkpoint", str(exp_dir / "valid.si_snr_loss.best.pth"),
            "--out_dir", str(rel), "--command", "./run.sh", "--corpus", ""]
    assert tool.main(args + ["--threads", "1,2,4"]) == 1  # three counts for two logs: refused
    assert tool.main(args + ["--threads", "1,2"]) == 0
    t = read_release(rel)["training"]
    assert t["epochs"] == 2 and t["threads"] == "1/2"
    assert t["cpu_hours"] == pytest.approx((3727.31 + 2 * 30.5) / 3600, abs=1e-3)


def test_make_install_and_tamper(exp_dir, tmp_path):
    rel = tmp_path / "released/sep_x"
    (tmp_path / "summary.json").write_text(json.dumps({"mean_pit_sisdri": 9.5, "mean_sisdri": 10.2}))
    assert tool.main(["make", "--exp_dir", str(exp_dir), "--checkpoint", str(exp_dir / "valid.si_snr_loss.best.pth"),
                      "--out_dir", str(rel), "--threads", "2", "--command", "./run.sh --stage 5",
                      "--corpus", "--scale 10", "--results", f"test={tmp_path / 'summary.json'}"]) == 0
    meta = read_release(rel)
    assert meta["training"]["steps"] == 10 and meta["training"]["best_epoch"] == 2
    assert meta["training"]["wall_hours"] == pytest.approx((3727.31 + 30.5) / 3600, abs=1e-3)
    assert meta["training"]["cpu_hours"] == pytest.approx(2 * (3727.31 + 30.5) / 3600, abs=1e-3)
    assert [v["si_snr_loss"] for v in meta["validation"]] == [-0.02, -1.5]
    assert "./run.sh --stage 5" in (rel / "README.md").read_text()

    target = tmp_path / "exp/sep_released"
    assert tool.main(["install", "--release_dir", str(rel), "--exp_dir", str(target)]) == 0
    assert Separator.locate(target)[1] == target / "released.pth"  # what stages 6 and 10 pick
    model, _ = Tse2EnhancementTask.build_model_from_file(target / "config.yaml", target / "released.pth")
    assert sum(p.numel() for p in model.parameters()) == meta["parameters"]

    data = bytearray((rel / "model.pth").read_bytes())  # one flipped byte: refused, naming the file
    data[-100] ^= 1
    (rel / "model.pth").write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="model.pth: its sha256 differs"):
        read_release(rel)
    assert tool.main(["install", "--release_dir", str(rel), "--exp_dir", str(tmp_path / "other")]) == 1
    assert not (tmp_path / "other").exists()
    with pytest.raises(ReleaseError, match="not a tse2 release"):
        read_release(tmp_path)


def _floats(model):
    return {k: v.dtype for k, v in model.state_dict().items() if v.is_floating_point()}


def test_weights_are_stored_in_float16_and_load_as_float32(exp_dir, tmp_path):
    trained = torch.load(exp_dir / "valid.si_snr_loss.best.pth", weights_only=True)
    make = ["make", "--exp_dir", str(exp_dir), "--checkpoint", str(exp_dir / "valid.si_snr_loss.best.pth"),
            "--threads", "2", "--command", "./run.sh", "--corpus", ""]
    rel, full = tmp_path / "released/sep_h", tmp_path / "released/sep_f"
    assert tool.main(make + ["--out_dir", str(rel)]) == 0  # float16 by default
    assert tool.main(make + ["--out_dir", str(full), "--stored_dtype", "float32"]) == 0
    meta = read_release(rel)
    assert meta["stored_dtype"] == "float16" and read_release(full)["stored_dtype"] == "float32"
    stored = torch.load(rel / "model.pth", weights_only=True)
    assert {v.dtype for v in stored.values()} == {torch.float16} and stored.keys() == trained.keys()
    assert (rel / "model.pth").stat().st_size < 0.6 * (full / "model.pth").stat().st_size
    assert "stored in float16 and loaded as float32" in (rel / "README.md").read_text()

    # stage 5 installs it; the model stages 6-10 build computes in float32 with the rounded weights
    target = tmp_path / "exp/sep_h"
    assert tool.main(["install", "--release_dir", str(rel), "--exp_dir", str(target)]) == 0
    model, _ = Tse2EnhancementTask.build_model_from_file(target / "config.yaml", target / "released.pth")
    assert set(_floats(model).values()) == {torch.float32}
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, trained[k].half().float(), rtol=0, atol=0)
    sep = Separator.from_pretrained(target)
    assert {p.dtype for p in sep.model.parameters()} == {torch.float32}

    # an older float32 release, compacted: new sha256 (verified), the measured figure in the README
    before = read_release(full)["files"]["model.pth"]
    assert tool.main(["compact", "--release_dir", str(full), "--measured", "test 6.50 dB -> 6.50 dB"]) == 0
    meta = read_release(full)
    assert meta["files"]["model.pth"] != before and meta["stored_dtype"] == "float16"
    assert meta["stored_dtype_check"] == "test 6.50 dB -> 6.50 dB"
    assert "loaded as float32 (test 6.50 dB -> 6.50 dB)." in (full / "README.md").read_text()
    assert (full / "model.pth").read_bytes() == (rel / "model.pth").read_bytes()


def test_only_floating_tensors_are_cast_and_an_overflow_is_refused(tmp_path):
    src = tmp_path / "a.pth"
    torch.save({"w": torch.tensor([1.0, 1 / 3]), "steps": torch.tensor([3], dtype=torch.long),
                "big": torch.arange(4.0)[1:3]}, src)  # a view: saved without its base
    write_state(src, tmp_path / "b.pth")
    out = torch.load(tmp_path / "b.pth", weights_only=True)
    assert out["w"].dtype == torch.float16 and out["steps"].dtype == torch.long and out["big"].tolist() == [1.0, 2.0]
    torch.save({"w": torch.tensor([1e5])}, src)
    with pytest.raises(ReleaseError, match="w has values beyond the range of float16"):
        write_state(src, src)
    assert torch.load(src, weights_only=True)["w"].dtype == torch.float32  # left as it was


def test_the_tracked_tree_stays_small():
    """The released checkpoints are most of the repository: stored in float16, the tree is < 50 MiB."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no tracked files to measure")
    files = [ROOT / f for f in out.stdout.decode().split("\0") if f]
    total = sum(os.lstat(f).st_size for f in files if os.path.lexists(f))
    assert total <= 50 * 1024 * 1024, f"tracked files: {total / 2 ** 20:.1f} MiB"


def test_a_classifier_release_keeps_its_best_validation_accuracy_a_separator_its_lowest_loss():
    from tse2.release import best_epoch

    curve = [{"epoch": 1, "valid": {"acc": 0.6, "loss": 0.9}}, {"epoch": 2, "valid": {"acc": 0.8, "loss": 1.1}},
             {"epoch": 3, "valid": {"acc": 0.7, "loss": 0.5}}]
    assert best_epoch(curve, "classifier")["epoch"] == 2
    assert best_epoch(curve, "separator")["epoch"] == 3
    assert best_epoch([{"epoch": 1, "valid": {}}, {"epoch": 2, "valid": {}}], "classifier")["epoch"] == 2
    with pytest.raises(ReleaseError, match="release kind 'tagger'"):
        from tse2.release import make_release

        make_release(ROOT, ROOT / "nowhere", ROOT / "README.md", "tagger", "x", "y", 1)
