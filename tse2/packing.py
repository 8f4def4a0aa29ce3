"""The packed model dir: a separator and a selector in one self-contained, relocatable directory.

    tse2_model.json            format, sample rate, software versions, what was packed from where
    separator/config.yaml      the ESPnet enhancement config of stage 5
    separator/model.pth        its checkpoint
    classifier/config.yaml     the ESPnet classifier config of stage 7, model dirs made relative
    classifier/model.pth       its checkpoint
    classifier/text_encoder/   the text model dir with its tokenizer (when the classifier has one)
    classifier/speech_encoder/ the pretrained speech model dir (when it was built from one)

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


def pack(out_dir: Path, sep_config: Path, sep_model: Path, cls_config: Optional[Path], cls_model: Optional[Path],
         fs: int, sources: Optional[Dict] = None) -> Path:
    """Copies everything an extractor needs into ``out_dir`` (written next to it, then renamed)."""
    import yaml

    from tse2.models.encoders import resolve_model_dir

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
            if sub.get("model_dir"):
                src = resolve_model_dir(str(sub["model_dir"]))
                shutil.copytree(src, tmp / "classifier" / dirname, ignore=shutil.ignore_patterns("__pycache__"))
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
