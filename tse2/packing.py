"""The packed model dir: a separator and a selector in one self-contained, relocatable directory.

    tse2_model.json            format, sample rate, software versions, what was packed from where
    separator/config.yaml      the ESPnet enhancement config of stage 5
    separator/model.pth        its checkpoint
    classifier/config.yaml     the ESPnet classifier config of stage 7, model dirs made relative
    classifier/model.pth       its checkpoint
    classifier/text_encoder/   the text model dir with its tokenizer, when it is a local dir
    classifier/speech_encoder/ the pretrained speech model (dir or file), when it is a local one

Checkpoints hold only what was trained (frozen pretrained weights are left out, see
``tse2.models.encoders.exclude_frozen_from_state_dict``), and each pretrained model is stored once:
a local model dir is copied, a model a Python package ships (``pkg://module``) is referenced and
the package's name and version recorded in ``packages`` of ``tse2_model.json``.

:func:`pack` writes it (``tse2.bin.pack``, stage 10); :func:`read_meta` checks and reads it for
:class:`tse2.extractor.TextGuidedExtractor`.  Every path inside is relative to the dir.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Dict, Optional

from tse2.inference.classifier import MODEL_DIR_KEYS

FORMAT = 1
META = "tse2_model.json"


def read_meta(root: Path) -> Dict:
    """The pack's ``tse2_model.json``, or an error saying what ``root`` is not."""
    meta_path = Path(root) / META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{root} is not a packed tse2 model ({META} is missing; "
                                "make one with python -m tse2.bin.pack or stage 10)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{meta_path}: format {meta.get('format')!r}; this tse2 reads format {FORMAT}")
    return meta


def _versions() -> Dict[str, str]:
    from importlib import metadata

    import tse2

    out = {"tse2": tse2.__version__, "python": sys.version.split()[0]}
    for pkg in ("torch", "espnet", "transformers", "peft", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _package_of(model_dir: str) -> Dict[str, str]:
    """The installed package (name, version) that ships a ``pkg://module`` model."""
    from importlib import metadata

    module = model_dir[len("pkg://"):]
    try:
        dist = metadata.packages_distributions().get(module, [module.replace("_", "-")])[0]
        return {"model_dir": model_dir, "package": dist, "version": metadata.version(dist)}
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"{model_dir}: package {module!r} is not installed, cannot pack a reference to it") from None


def pack(out_dir: Path, sep_config: Path, sep_model: Path, cls_config: Optional[Path], cls_model: Optional[Path],
         fs: int, sources: Optional[Dict] = None) -> Path:
    """Copies everything an extractor needs into ``out_dir`` (written next to it, then renamed)."""
    import yaml

    out_dir = Path(out_dir)
    for f in (sep_config, sep_model) + ((cls_config, cls_model) if cls_config else ()):
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: missing, cannot pack it")
    tmp = out_dir.parent / f".{out_dir.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "separator").mkdir(parents=True)
    shutil.copyfile(sep_config, tmp / "separator/config.yaml")
    shutil.copyfile(sep_model, tmp / "separator/model.pth")
    meta = {"format": FORMAT, "fs": int(fs), "versions": _versions(), "sources": sources or {},
            "separator": {"config": "separator/config.yaml", "model": "separator/model.pth"}}
    if cls_config:
        (tmp / "classifier").mkdir()
        with open(cls_config, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
        for key, dirname in MODEL_DIR_KEYS:
            sub = conf.get(key) or {}
            sub.pop("cache_dir", None)  # a feature cache belongs to the recipe, not to the pack
            md = str(sub.get("model_dir") or "")
            if md.startswith("pkg://"):  # shipped by an installed package: referenced, not copied
                meta.setdefault("packages", {})[dirname] = _package_of(md)
            elif md:
                src = Path(md).expanduser()
                if not src.exists():
                    raise FileNotFoundError(f"{cls_config}: {key}.model_dir {md} does not exist")
                if src.is_dir():
                    shutil.copytree(src, tmp / "classifier" / dirname, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    (tmp / "classifier" / dirname).mkdir()
                    shutil.copyfile(src, tmp / "classifier" / dirname / src.name)
                    dirname = f"{dirname}/{src.name}"
                sub["model_dir"] = dirname  # relative to classifier/
        with open(tmp / "classifier/config.yaml", "w", encoding="utf-8") as f:
            yaml.safe_dump(conf, f, allow_unicode=True, sort_keys=False)
        shutil.copyfile(cls_model, tmp / "classifier/model.pth")
        meta["classifier"] = {"config": "classifier/config.yaml", "model": "classifier/model.pth",
                              "cue": conf.get("cue", "text")}
    (tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir
