"""What every runtime shares: finding its config and checkpoint in a directory (:class:`Runtime`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

PathLike = Union[str, Path]


def locate(path: PathLike, checkpoint: Optional[PathLike], names: Sequence[str], what: str,
           stage: int) -> Tuple[Path, Path]:
    """(config.yaml, checkpoint) of a model directory.

    ``checkpoint`` may be a path or a file name inside ``path``; without it, the first of ``names``
    that exists.  Errors name the directory and the stage that makes what is missing."""
    root = Path(path)
    config = root / "config.yaml"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: missing; {root} holds no {what} (run stage {stage})")
    if checkpoint is not None:
        ckpt = Path(checkpoint)
        if not ckpt.is_file() and (root / ckpt).is_file():
            ckpt = root / ckpt
        if not ckpt.is_file():
            raise FileNotFoundError(f"{checkpoint}: checkpoint does not exist (neither as a path nor in {root})")
        return config, ckpt
    for name in names:
        if (root / name).is_file():
            return config, root / name
    raise FileNotFoundError(f"{root} holds no checkpoint ({', '.join(names)}): run stage {stage}")


class Runtime:
    """``locate`` and ``from_pretrained`` of a runtime whose constructor takes (config, checkpoint, device).

    A subclass sets ``CHECKPOINTS`` (the file names it looks for, in order), ``WHAT`` (for messages)
    and ``STAGE`` (the stage that trains it)."""

    CHECKPOINTS: Tuple[str, ...] = ()
    WHAT = "model"
    STAGE = 0

    @classmethod
    def locate(cls, path: PathLike, checkpoint: Optional[PathLike] = None) -> Tuple[Path, Path]:
        """(config, checkpoint) the runtime would load from ``path``."""
        return locate(path, checkpoint, cls.CHECKPOINTS, cls.WHAT, cls.STAGE)

    @classmethod
    def from_pretrained(cls, path: PathLike, checkpoint: Optional[PathLike] = None, device: str = "cpu"):
        return cls(*cls.locate(path, checkpoint), device)
