"""Making an ESPnet experiment dir safe to resume after its job was killed.

Usage (``launch_training`` does it): ``python -m tse2.tasks.resume exp/sep_tflocoformer_tiny``

ESPnet's Trainer ends each epoch N by writing ``checkpoint.pth`` (model, optimizer, reporter), then
``Nepoch.pth`` (the model), then the ``latest.pth`` and ``<phase>.<key>.best.pth`` links, with
plain ``torch.save`` calls.  A job killed by the scheduler (time limit, preemption, a lost node)
between or during those writes leaves a dir that ``--resume true`` accepts but that fails hours
later: the truncated ``Nepoch.pth`` is read only when the n best epochs are averaged at the end.

:func:`repair_for_resume` runs before every training launch (``launch_training`` in
``utils/lib/stages.sh``) and puts the dir back in the state ESPnet would have left after epoch N:

- ``checkpoint.pth`` unreadable (killed while writing it): the epoch's optimizer state is lost, so
  the checkpoint is kept aside as ``checkpoint.pth.unreadable`` and the epoch files go: training
  starts again at epoch 1;
- ``Nepoch.pth`` of the checkpoint's epoch missing or unreadable: written again, atomically, from
  the checkpoint's model (the same tensors ESPnet was writing);
- ``latest.pth`` and the best-model links: set again from the checkpoint's reporter and the
  ``best_model_criterion`` of the experiment's ``config.yaml``.

Only the last epoch's files can be half-written (each earlier one was complete before the next
epoch began), so one model is read, whatever the number of epochs kept.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path
from typing import List, Optional, Union

PathLike = Union[str, Path]
EPOCH_FILE = re.compile(r"^(\d+)epoch\.pth$")


def _readable(path: Path, weights_only: bool):
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as exc:  # truncated or empty: torch names the zip defect
        return exc


def _relink(link: Path, target: str) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def repair_for_resume(exp_dir: PathLike) -> List[str]:
    """Repairs ``exp_dir`` in place; returns one line for each thing it changed (none: all was well)."""
    import torch
    from espnet2.train.reporter import Reporter

    from tse2.utils.fileio import atomic_path, read_yaml_config

    exp = Path(exp_dir)
    ckpt = exp / "checkpoint.pth"
    if not ckpt.exists():
        return []
    done: List[str] = []
    state = _readable(ckpt, weights_only=False)
    if isinstance(state, Exception) or not isinstance(state, dict) or "reporter" not in state or "model" not in state:
        why = f"{type(state).__name__}: {str(state).splitlines()[0]}" if isinstance(state, Exception) else "no model/reporter"
        ckpt.replace(exp / "checkpoint.pth.unreadable")
        removed = sorted(p.name for p in exp.glob("*.pth") if p.is_symlink() or EPOCH_FILE.match(p.name))
        for name in removed:
            (exp / name).unlink()
        done.append(f"{ckpt}: unreadable ({why}), the job was killed while writing it; kept as "
                    f"checkpoint.pth.unreadable, removed {len(removed)} epoch files and links: training starts "
                    "again at epoch 1")
        return done

    reporter = Reporter()
    reporter.load_state_dict(state["reporter"])
    epoch = reporter.get_epoch()
    if epoch < 1:
        return done
    model_file = exp / f"{epoch}epoch.pth"
    bad = None if not model_file.exists() else _readable(model_file, weights_only=True)
    if not model_file.exists() or isinstance(bad, Exception):
        with atomic_path(model_file) as tmp:
            torch.save(state["model"], tmp)
        why = "missing" if not model_file.exists() else f"unreadable ({type(bad).__name__})"
        done.append(f"{model_file}: {why}, the job was killed while writing it; written again from "
                    f"checkpoint.pth (epoch {epoch})")
    if not (exp / "latest.pth").resolve() == model_file.resolve():
        _relink(exp / "latest.pth", model_file.name)
        done.append(f"{exp / 'latest.pth'} -> {model_file.name}")
    config = exp / "config.yaml"
    criteria = (read_yaml_config(config).get("best_model_criterion") or []) if config.exists() else []
    for phase, key, mode in criteria:
        if not reporter.has(phase, key):
            continue
        best = reporter.get_best_epoch(phase, key, mode)
        link = exp / f"{phase}.{key}.best.pth"
        if (exp / f"{best}epoch.pth").exists() and (not link.is_symlink() or link.readlink().name != f"{best}epoch.pth"):
            _relink(link, f"{best}epoch.pth")
            done.append(f"{link} -> {best}epoch.pth")
    for line in done:
        logging.warning(line)
    return done


def main(argv: Optional[List[str]] = None) -> int:
    from tse2.utils.cli import run_tool

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exp_dir", type=Path, help="the experiment dir training resumes in")

    def repair(args: argparse.Namespace) -> int:
        repair_for_resume(args.exp_dir)  # each change is logged as a warning
        return 0

    return run_tool(parser, repair, argv)


if __name__ == "__main__":
    raise SystemExit(main())
