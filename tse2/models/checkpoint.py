"""Loading a checkpoint into a built model: tensors only, strictly, errors naming the file.

ESPnet's loader unpickles checkpoints (``weights_only=False``) and ignores missing or unexpected
keys.  Every tse2 runtime (separator and classifier) loads through :func:`load_state` instead: a
pickle with code, a truncated or empty file, or another model's checkpoint is a one-line
``ValueError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Union

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


LORA_KEYS = (".lora_A.default.weight", ".lora_B.default.weight")
PEFT_PREFIX = ".base_model.model."  # peft's wrapping of the model: <encoder>.model.base_model.model.<layer>


def merged_lora_conf(conf: Dict) -> Optional[float]:
    """For inference: a prompt encoder trained with LoRA (``text_encoder_conf.lora_r`` > 0) is built
    frozen instead (``lora_r: 0``: the lite BERT, no peft or transformers import, ~5 s at each
    start) and its LoRA factors are merged into the weights by :func:`load_state` (``W += s·B·A``,
    s = lora_alpha / lora_r, as peft scales them).  Changes ``conf`` in place; returns s, or None
    when there is nothing to merge."""
    text = conf.get("text_encoder_conf")
    if not isinstance(text, dict) or int(text.get("lora_r", 0) or 0) <= 0:
        return None
    r = int(text["lora_r"])
    scale = float(text.get("lora_alpha", r)) / r
    for key in ("lora_alpha", "lora_dropout", "lora_target_modules"):
        text.pop(key, None)
    text["lora_r"] = 0
    return scale


def add_lora(model, factors: Dict, scale: float, where: str) -> None:
    """Adds ``scale · B · A`` to the weight of each linear layer of ``model`` that ``factors``
    names (``{module name: (A (r, in), B (out, r))}``), in place; an unknown module or a shape that
    does not fit is a ValueError starting with ``where``.  Shared by the text adapters
    (:func:`tse2.models.text_adapter.merge_adapter`) and the checkpoints' LoRA (:func:`load_state`)."""
    import torch

    with torch.no_grad():
        for name, (a, b) in factors.items():
            try:
                layer = model.get_submodule(name)
            except AttributeError:
                raise ValueError(f"{where}: the model has no module {name}") from None
            if not isinstance(layer, torch.nn.Linear) or layer.weight.shape != (b.shape[0], a.shape[1]):
                raise ValueError(f"{where}: {name} is not a linear layer of shape {(b.shape[0], a.shape[1])}")
            layer.weight += (scale * (b.float() @ a.float())).to(layer.weight.dtype)


def _merge_lora(model, state: Dict, lora_scale: float, model_file: PathLike) -> None:
    """Pops the LoRA factors out of ``state`` and merges them (:func:`add_lora`); peft's key
    ``x.model.base_model.model.y.lora_A.default.weight`` belongs to the layer ``x.model.y``."""
    factors = {}
    for name in sorted({k[: -len(LORA_KEYS[0])] for k in state if k.endswith(LORA_KEYS[0])}):
        a, b = state.pop(name + LORA_KEYS[0]), state.pop(name + LORA_KEYS[1], None)
        if b is None:
            raise ValueError(f"{model_file}: {name} has a LoRA A factor but no B")
        factors[name.replace(PEFT_PREFIX, ".", 1)] = (a, b)
    add_lora(model, factors, lora_scale, f"{model_file}: LoRA factors")


def load_state(model, model_file: PathLike, config_file: PathLike, device: str = "cpu",
               lora_scale: Optional[float] = None) -> None:
    """Loads ``model_file`` into ``model`` (built from ``config_file``, named in the error).
    ``lora_scale`` (from :func:`merged_lora_conf`): the checkpoint's LoRA factors are merged into
    the frozen encoder's weights."""
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
    if lora_scale is not None:
        state = dict(state)
        _merge_lora(model, state, lora_scale, model_file)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{model_file} does not fit {config_file}: missing keys {list(missing)[:3]}, "
                         f"unexpected keys {list(unexpected)[:3]}")
