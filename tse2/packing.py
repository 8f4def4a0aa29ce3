"""The packed model dir: a separator and a selector in one self-contained, relocatable directory.

    tse2_model.json            format, sample rate, software versions, what was packed from where,
                               and the sha256 of every file in the pack (``files``)
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
:class:`tse2.extractor.TextGuidedExtractor`, and verifies every file's checksum.  Every path inside
is relative to the dir.

``pack`` removes nothing it did not write: it writes a fresh temporary dir next to ``out_dir`` and
renames it into place.  An existing ``out_dir`` must be empty or a tse2 pack holding only what a
pack wrote, at any depth (then it is swapped out whole and removed); anything else (a file its
``files`` or ``check`` lists do not name, a symlink) is refused with its name.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from tse2.inference.classifier import MODEL_DIR_KEYS
from tse2.utils.fileio import read_yaml_config, sha256, umask

FORMAT = 1
META = "tse2_model.json"
# what a pack holds at its top level (``check/``: the wavs of ``tse2.bin.pack --check_mix_dir``)
PACK_ENTRIES = (META, "separator", "classifier", "check")


class PackError(ValueError):
    """A pack that cannot be written or read as asked; the message names the path."""


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath, name)


def read_meta(root: Path, verify: bool = True) -> Dict:
    """The pack's ``tse2_model.json``, or an error saying what ``root`` is not.

    With ``verify``, every file the pack recorded is checked against its sha256: a truncated,
    replaced or missing file is an error naming it (before anything is unpickled or loaded)."""
    root = Path(root)
    meta_path = root / META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{root} is not a packed tse2 model ({META} is missing; "
                                "make one with python -m tse2.bin.pack or stage 10)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{meta_path}: not valid JSON ({exc}); repack the model") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PackError(f"{meta_path}: format {meta.get('format') if isinstance(meta, dict) else None!r}; "
                        f"this tse2 reads format {FORMAT}")
    if verify:
        for rel, digest in (meta.get("files") or {}).items():
            path = root / rel
            if not path.is_file():
                raise PackError(f"{path}: missing from the pack ({META} lists it); repack the model")
            if sha256(path) != digest:
                raise PackError(f"{path}: its sha256 differs from the one {META} recorded (a changed, "
                                "truncated or replaced file); repack the model")
    return meta


def check_out_dir(out_dir: Path) -> None:
    """Refuses an ``out_dir`` that pack would have to empty: a file, the current directory or one
    above it, or a non-empty dir that is not a pack holding only what a pack holds."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise PackError(f"{out_dir}: exists and is not a directory; choose another --out_dir")
    here = Path.cwd().resolve()
    if out_dir.resolve() in (here, *here.parents):
        raise PackError(f"{out_dir}: is the current directory or one above it; pack into a new directory")
    entries = sorted(p.name for p in out_dir.iterdir())
    if not entries:
        return
    if META not in entries:
        raise PackError(f"{out_dir}: is not empty and not a tse2 pack (it holds {entries[0]!r}"
                        f"{f' and {len(entries) - 1} more' if len(entries) > 1 else ''}); pack refuses to "
                        "replace it: choose a new --out_dir or empty it yourself")
    foreign = foreign_entries(out_dir)
    if foreign:
        raise PackError(f"{out_dir}: is a tse2 pack that also holds {foreign[0]!r}"
                        f"{f' (and {len(foreign) - 1} more)' if len(foreign) > 1 else ''}, which pack did not "
                        "write; move it away or choose a new --out_dir (nothing was changed)")


def foreign_entries(root: Path) -> List[str]:
    """Paths (relative, at any depth) in an existing pack that pack did not write: files its
    ``tse2_model.json`` does not list (nor the ``check/`` wavs of ``--check_mix_dir``) and symlinks
    (an empty directory is not counted: removing it loses nothing)."""
    try:
        meta = json.loads((root / META).read_text(encoding="utf-8"))
        owned = set((meta.get("files") or {}) if isinstance(meta, dict) else ())
        checks = meta.get("check") if isinstance(meta, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        owned, checks = set(), None
    owned.add(META)
    if isinstance(checks, list):
        owned.update(f"check/{c}" for c in checks)
    else:  # packs written before the check wavs were recorded
        owned.update(p.relative_to(root).as_posix() for p in (root / "check").glob("*_target.wav"))
        owned.update(p.relative_to(root).as_posix() for p in (root / "check").glob("*_other.wav"))
    foreign = []
    for dirpath, dirnames, filenames in os.walk(root):  # symlinks to dirs are listed, not followed
        rel_dir = Path(dirpath).relative_to(root)
        dirnames.sort()
        foreign += [(rel_dir / n).as_posix() + "/" for n in dirnames if os.path.islink(os.path.join(dirpath, n))]
        foreign += [(rel_dir / n).as_posix() for n in sorted(filenames) if (rel_dir / n).as_posix() not in owned]
    return foreign


def record_check_files(root: Path, names: List[str]) -> None:
    """Records the ``check/`` wavs written into a pack (so a later pack knows it wrote them)."""
    from tse2.utils.fileio import atomic_open

    meta = json.loads((root / META).read_text(encoding="utf-8"))
    meta["check"] = sorted(set(meta.get("check") or []) | set(names))
    with atomic_open(root / META) as f:
        f.write(json.dumps(meta, indent=1) + "\n")


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


def file_mode_dir(path: Path) -> int:
    """An existing dir's mode, else what ``mkdir`` gives under the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o777 & ~umask()


def pack(out_dir: Path, sep_config: Path, sep_model: Path, cls_config: Optional[Path], cls_model: Optional[Path],
         fs: int, sources: Optional[Dict] = None) -> Path:
    """Copies everything an extractor needs into ``out_dir``: written to a new temporary dir next
    to it, then renamed into place (an existing pack there is swapped out whole, then removed)."""
    out_dir = Path(out_dir)
    for f in (sep_config, sep_model) + ((cls_config, cls_model) if cls_config else ()):
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: missing, cannot pack it")
    check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        os.chmod(tmp, file_mode_dir(out_dir))  # mkdtemp's 0700 would make the pack private
        _write(tmp, sep_config, sep_model, cls_config, cls_model, fs, sources)
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rename(out_dir, old / out_dir.name)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old)
    return out_dir


def _write(tmp: Path, sep_config: Path, sep_model: Path, cls_config: Optional[Path], cls_model: Optional[Path],
           fs: int, sources: Optional[Dict]) -> None:
    import yaml

    (tmp / "separator").mkdir(parents=True)
    shutil.copyfile(sep_config, tmp / "separator/config.yaml")
    shutil.copyfile(sep_model, tmp / "separator/model.pth")
    meta = {"format": FORMAT, "fs": int(fs), "versions": _versions(), "sources": sources or {},
            "separator": {"config": "separator/config.yaml", "model": "separator/model.pth"}}
    if cls_config:
        (tmp / "classifier").mkdir()
        conf = read_yaml_config(cls_config)
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
    meta["files"] = {f.relative_to(tmp).as_posix(): sha256(f) for f in _files(tmp)}
    (tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
