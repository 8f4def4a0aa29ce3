"""An experiment dir left by a job killed while ESPnet wrote its epoch files is put right before
training resumes (tse2.tasks.resume, run by launch_training)."""

from __future__ import annotations

import torch
import yaml
from espnet2.train.reporter import Reporter

from tse2.tasks.resume import main, repair_for_resume


def _exp(tmp_path, losses):
    """An exp dir as ESPnet leaves it after len(losses) epochs (valid loss per epoch)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    reporter = Reporter()
    for epoch, loss in enumerate(losses, 1):
        reporter.set_epoch(epoch)
        with reporter.observe("valid") as sub:
            sub.register({"loss": loss})
            sub.next()
        torch.save({k: v + epoch for k, v in model.state_dict().items()}, tmp_path / f"{epoch}epoch.pth")
    state = {k: v + len(losses) for k, v in model.state_dict().items()}
    torch.save({"model": state, "reporter": reporter.state_dict(), "optimizers": [], "schedulers": [], "scaler": None},
               tmp_path / "checkpoint.pth")
    (tmp_path / "latest.pth").symlink_to(f"{len(losses)}epoch.pth")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"best_model_criterion": [["valid", "loss", "min"]]}))
    return state


def test_a_sound_dir_is_left_alone(tmp_path):
    _exp(tmp_path, [2.0, 1.0])
    (tmp_path / "valid.loss.best.pth").symlink_to("2epoch.pth")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert repair_for_resume(tmp_path) == []
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert repair_for_resume(tmp_path / "no_such_exp") == []


def test_the_last_epoch_file_half_written_is_written_again_from_the_checkpoint(tmp_path):
    state = _exp(tmp_path, [2.0, 1.0, 1.5])
    whole = (tmp_path / "3epoch.pth").read_bytes()
    (tmp_path / "3epoch.pth").write_bytes(whole[: len(whole) // 2])  # killed mid-write
    (tmp_path / "latest.pth").unlink()
    (tmp_path / "latest.pth").symlink_to("2epoch.pth")  # the link was not updated yet
    # the best link was never made for epoch 2 (killed before it, in an earlier run)
    done = repair_for_resume(tmp_path)
    assert any("3epoch.pth: unreadable" in line for line in done), done
    repaired = torch.load(tmp_path / "3epoch.pth", weights_only=True)
    assert all(torch.equal(repaired[k], state[k]) for k in state)
    assert (tmp_path / "latest.pth").readlink().name == "3epoch.pth"
    assert (tmp_path / "valid.loss.best.pth").readlink().name == "2epoch.pth"
    assert repair_for_resume(tmp_path) == []  # now sound


def test_a_missing_last_epoch_file_is_written(tmp_path):
    _exp(tmp_path, [2.0])
    (tmp_path / "1epoch.pth").unlink()
    assert main([str(tmp_path)]) == 0
    assert torch.load(tmp_path / "1epoch.pth", weights_only=True).keys() == {"weight", "bias"}


def test_an_unreadable_checkpoint_restarts_training_and_keeps_the_file(tmp_path):
    _exp(tmp_path, [2.0, 1.0])
    whole = (tmp_path / "checkpoint.pth").read_bytes()
    (tmp_path / "checkpoint.pth").write_bytes(whole[:100])
    done = repair_for_resume(tmp_path)
    assert len(done) == 1 and "training starts again at epoch 1" in done[0] and "checkpoint.pth" in done[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth.unreadable", "config.yaml"]
