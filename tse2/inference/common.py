"""What every runtime shares: finding its config and checkpoint in a directory (:class:`Runtime`).

The end-user contract of tse2's three systems (:class:`tse2.TextGuidedExtractor`,
:class:`tse2.Remixer`, :class:`tse2.StyleRetrieval`):

- ``from_pretrained(dir)``: an experiment dir, a release dir or a pack (``tse2-pack``), from any
  working directory;
- ``.fs``: the rate the model runs at, read from its own config (``fs``);
- ``model(audio, prompt, rate=None)`` returning a result dataclass (retrieval: ``index(audio)``
  and ``search(index, query)``); ``audio`` is samples at ``rate`` (default the model's) or a path.
"""

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
    PACK_KIND: Optional[str] = None  # the kind of pack (tse2_model.json "kind") that holds this model alone
    fs: int  # the model's rate: its config's fs (tse2.utils.audio.model_rate)

    @classmethod
    def locate(cls, path: PathLike, checkpoint: Optional[PathLike] = None) -> Tuple[Path, Path]:
        """(config, checkpoint) the runtime would load from ``path`` (a pack of ``PACK_KIND`` too)."""
        from tse2.packing import META, PackError, read_meta

        root = Path(path)
        if cls.PACK_KIND and checkpoint is None and (root / META).is_file():
            meta = read_meta(root)
            if meta.get("kind") != cls.PACK_KIND or cls.PACK_KIND not in meta:
                raise PackError(f"{root}: a packed {meta.get('kind')}, not a packed {cls.PACK_KIND}")
            part = meta[cls.PACK_KIND]
            return root / part["config"], root / part["model"]
        return locate(path, checkpoint, cls.CHECKPOINTS, cls.WHAT, cls.STAGE)

    @classmethod
    def from_pretrained(cls, path: PathLike, checkpoint: Optional[PathLike] = None, device: str = "cpu"):
        return cls(*cls.locate(path, checkpoint), device)
