"""Loading a checkpoint into a built model: tensors only, strictly, errors naming the file.

ESPnet's loader unpickles checkpoints (``weights_only=False``) and ignores missing or unexpected
keys.  Every tse2 runtime (separator and classifier) loads through :func:`load_state` instead: a
pickle with code, a truncated or empty file, or another model's checkpoint is a one-line
``ValueError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Union

PathLike = Union[str, Path]

# the config keys that name a pretrained model dir, and the dir a pack copies each one into
MODEL_DIR_KEYS = (("text_encoder_conf", "text_encoder"), ("speech_encoder_conf", "speech_encoder"))


def resolved_config(config: PathLike) -> Dict:
    """A model config with its relative pretrained-model dirs (and text adapter) found: next to the
    config (a pack), else as written (relative to the recipe, where training ran)."""
    from tse2.utils.fileio import read_yaml_config

    config = Path(config)
    conf = read_yaml_config(config)
    for key, _ in MODEL_DIR_KEYS:
        sub = conf.get(key) or {}
        md = sub.get("model_dir")
        if md and not str(md).startswith("pkg://") and not Path(md).is_absolute() and (config.parent / md).exists():
            sub["model_dir"] = str(config.parent / md)
    text = conf.get("text_encoder_conf") or {}
    ad = str(text.get("adapter") or "")
    if ad and not ad.startswith("tse2://") and not Path(ad).is_absolute() and (config.parent / ad).is_dir():
        text["adapter"] = str(config.parent / ad)  # a pack's copy of a local text adapter
    return conf


def build_named(build, args, config_file: PathLike, what: str):
    """``build(args)``; a config of another kind (a missing key) or with an unknown option is a
    ValueError naming ``config_file``."""
    try:
        return build(args)
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"{config_file}: not a usable {what} config ({exc})") from None


def load_state(model, model_file: PathLike, config_file: PathLike, device: str = "cpu") -> None:
    """Loads ``model_file`` into ``model`` (built from ``config_file``, named in the error)."""
    import torch

    try:
        state = torch.load(model_file, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{model_file}: checkpoint does not exist") from None
    except Exception as exc:  # truncated, empty, not a checkpoint, or pickled code
        raise ValueError(f"{model_file}: not a loadable checkpoint of tensors ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{model_file}: holds a {type(state).__name__}, not a state dict")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{model_file} does not fit {config_file}: missing keys {list(missing)[:3]}, "
                         f"unexpected keys {list(unexpected)[:3]}")
