"""The packed model dir: a model of any kind in one self-contained, relocatable directory.

    tse2_model.json            the manifest (:mod:`tse2.manifest`): format, kind, sample rate,
                               software versions, what was packed from where, and the sha256 of
                               every file in the pack (``files``)
    <part>/config.yaml         the part's ESPnet config, pretrained model dirs made relative
    <part>/model.pth           its checkpoint
    <part>/text_encoder/       the text model dir with its tokenizer, when it is a local dir
    <part>/speech_encoder/     the pretrained speech model (dir or file), when it is a local one

The parts of each kind (:data:`KINDS`): an ``extractor`` holds ``separator/`` (stage 5) and
``classifier/`` (stage 7, optional: without it the pack serves the training-free selector); a
``remixer``, ``cascade`` or ``retrieval`` pack holds one part of that name (a retrieval config
names its styles itself).  Each kind loads with its runtime's ``from_pretrained``.

Checkpoints hold only what was trained (frozen pretrained weights are left out, see
``tse2.models.encoders.exclude_frozen_from_state_dict``), and each pretrained model is stored once:
a local model dir is copied, a model a Python package ships (``pkg://module``) is referenced and
the package's name and version recorded in ``packages`` of ``tse2_model.json``.  The sample rate
is the one the parts' configs record (they must agree).

:func:`pack_parts` writes it (``tse2.bin.pack``, stage 10); :func:`read_meta` checks and reads it
and verifies every file's checksum.  Every path inside is relative to the dir.

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
from typing import Dict, List, Optional

from tse2.models.checkpoint import MODEL_DIR_KEYS
from tse2.manifest import FORMAT, digests, read_manifest
from tse2.utils.fileio import read_yaml_config, umask

META = "tse2_model.json"
# what a pack holds at its top level (``check/``: the wavs of ``tse2.bin.pack --check_mix_dir``)
PACK_ENTRIES = (META, "separator", "classifier", "remixer", "cascade", "retrieval", "check")


class PackError(ValueError):
    """A pack that cannot be written or read as asked; the message names the path."""


def read_meta(root: Path, verify: bool = True) -> Dict:
    """The pack's ``tse2_model.json`` (:func:`tse2.manifest.read_manifest`), or an error saying what
    ``root`` is not.  With ``verify``, every file the pack recorded is checked against its sha256."""
    root = Path(root)
    if not (root / META).is_file():
        raise FileNotFoundError(f"{root} is not a packed tse2 model ({META} is missing; "
                                "make one with python -m tse2.bin.pack or stage 10)")
    meta = read_manifest(root, META, verify, PackError, fix="repack the model")
    meta.setdefault("kind", "extractor")  # packs written before every kind could be packed
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


KINDS = {  # pack kind: the parts it holds, each loaded by its runtime (PACK_KIND of the runtime)
    "extractor": ("separator", "classifier"),  # a separator and (optionally) a classifier
    "remixer": ("remixer",),
    "cascade": ("cascade",),
    "retrieval": ("retrieval",),
}


def pack(out_dir: Path, sep_config: Path, sep_model: Path, cls_config: Optional[Path], cls_model: Optional[Path],
         fs: Optional[int] = None, sources: Optional[Dict] = None) -> Path:
    """Packs an extractor (:func:`pack_parts` of kind ``extractor``); ``fs``, when given, must be
    the rate the models' configs record."""
    parts = {"separator": (sep_config, sep_model)}
    if cls_config:
        parts["classifier"] = (cls_config, cls_model)
    return pack_parts(out_dir, "extractor", parts, sources, fs)


def pack_parts(out_dir: Path, kind: str, parts: Dict[str, tuple], sources: Optional[Dict] = None,
               fs: Optional[int] = None) -> Path:
    """Copies every part ``{name: (config, checkpoint)}`` of a model of ``kind`` (:data:`KINDS`)
    and the pretrained models they name into ``out_dir``: written to a new temporary dir next to
    it, then renamed into place (an existing pack there is swapped out whole, then removed)."""
    out_dir = Path(out_dir)
    if kind not in KINDS:
        raise PackError(f"unknown pack kind {kind!r}; one of {', '.join(KINDS)}")
    unknown = [p for p in parts if p not in KINDS[kind]]
    if unknown or KINDS[kind][0] not in parts:
        raise PackError(f"a packed {kind} holds {' and '.join(KINDS[kind])}, got {', '.join(parts) or 'nothing'}")
    for config, model in parts.values():
        for f in (config, model):
            if not Path(f).is_file():
                raise FileNotFoundError(f"{f}: missing, cannot pack it")
    rate = _common_rate(parts, fs)
    check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        os.chmod(tmp, file_mode_dir(out_dir))  # mkdtemp's 0700 would make the pack private
        _write(tmp, kind, parts, rate, sources)
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


def _common_rate(parts: Dict[str, tuple], fs: Optional[int]) -> int:
    """The rate every part's config records (they must agree, and agree with ``fs`` when given)."""
    from tse2.utils.audio import model_rate

    rates = {name: model_rate(read_yaml_config(config), str(config)) for name, (config, _) in parts.items()}
    if fs is not None:
        rates["--fs"] = int(fs)
    if len(set(rates.values())) > 1:
        raise PackError("the parts run at different rates (" + ", ".join(f"{k}: {v} Hz" for k, v in rates.items())
                        + "); pack models trained at one rate")
    return next(iter(rates.values()))


def _write(tmp: Path, kind: str, parts: Dict[str, tuple], fs: int, sources: Optional[Dict]) -> None:
    meta = {"format": FORMAT, "kind": kind, "fs": int(fs), "versions": _versions(), "sources": sources or {}}
    for name, (config, model) in parts.items():
        (tmp / name).mkdir(parents=True)
        conf = _write_config(tmp / name, Path(config), meta)
        shutil.copyfile(model, tmp / name / "model.pth")
        meta[name] = {"config": f"{name}/config.yaml", "model": f"{name}/model.pth"}
        if name == "classifier":
            meta[name]["cue"] = conf.get("cue", "text")
    meta["files"] = digests(tmp)
    (tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def _write_config(part_dir: Path, config: Path, meta: Dict) -> Dict:
    """Writes ``part_dir/config.yaml``: the config as it is when nothing in it points outside (a
    separator's), else with its pretrained model dirs copied in (or, for a ``pkg://`` model,
    referenced with the package's version; a ``tools://`` one, which ``make install`` puts in
    ``tools/models/``, referenced by name) and a retrieval model's style names written in.
    Returns the config as written."""
    import yaml

    conf = read_yaml_config(config)
    changed = any(key in conf for key, _ in MODEL_DIR_KEYS)  # rewritten (model dirs made relative)
    for key, dirname in MODEL_DIR_KEYS:
        sub = conf.get(key) or {}
        sub.pop("cache_dir", None)  # a feature cache belongs to the recipe, not to the pack
        md = str(sub.get("model_dir") or "")
        if md.startswith("pkg://"):  # shipped by an installed package: referenced, not copied
            meta.setdefault("packages", {})[dirname] = _package_of(md)
        elif md.startswith("tools://"):  # installed by make install (tools/models/): referenced, not copied
            meta.setdefault("tools_models", {})[dirname] = md
        elif md:
            src = Path(md).expanduser()
            if not src.exists():
                raise FileNotFoundError(f"{config}: {key}.model_dir {md} does not exist")
            if src.is_dir():
                shutil.copytree(src, part_dir / dirname, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                (part_dir / dirname).mkdir()
                shutil.copyfile(src, part_dir / dirname / src.name)
                dirname = f"{dirname}/{src.name}"
            sub["model_dir"] = dirname  # relative to the part's dir
    text_conf = conf.get("text_encoder_conf") or {}
    adapter = str(text_conf.get("adapter") or "")
    if adapter and not adapter.startswith("tse2://"):  # a local text adapter: copied (tse2:// ships with tse2)
        from tse2.models.text_adapter import resolve_adapter_dir

        shutil.copytree(resolve_adapter_dir(adapter), part_dir / "text_adapter")
        text_conf["adapter"] = "text_adapter"  # relative to the part's dir
    if "style_list" in conf and not conf.get("styles"):  # a retrieval model trained before it named its styles
        from tse2.models.retrieval import read_style_list

        conf["styles"] = read_style_list(conf["style_list"])
        changed = True
    if changed:
        with open(part_dir / "config.yaml", "w", encoding="utf-8") as f:
            yaml.safe_dump(conf, f, allow_unicode=True, sort_keys=False)
    else:
        shutil.copyfile(config, part_dir / "config.yaml")
    return conf
