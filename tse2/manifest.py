"""The one manifest format of tse2's model dirs: what a dir holds and the sha256 of every file.

Releases (``release.json``, :mod:`tse2.release`) and packs (``tse2_model.json``,
:mod:`tse2.packing`) write the same JSON object and are read by :func:`read_manifest`:

    format   1
    kind     what the dir holds: separator, remixer, cascade (releases); extractor, remixer,
             retrieval (packs)
    fs       the sample rate the model runs at (read from the model's own config)
    files    {relative path: sha256} of every file the dir holds besides the manifest

and whatever else the writer records (training summary, software versions, sources).
:func:`read_manifest` verifies every listed file before anything is unpickled or loaded: a
truncated, replaced or missing file is an error naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Iterator, Type

from tse2.utils.fileio import sha256

FORMAT = 1


class ManifestError(ValueError):
    """A model dir whose manifest is missing, unreadable or does not match its files."""


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root``, in a fixed order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath, name)


def digests(root: Path) -> Dict[str, str]:
    """{relative posix path: sha256} of every file under ``root``."""
    root = Path(root)
    return {f.relative_to(root).as_posix(): sha256(f) for f in walk_files(root)}


def read_manifest(root: Path, name: str, verify: bool = True, error: Type[ValueError] = ManifestError,
                  missing_hint: str = "", fix: str = "") -> Dict:
    """The manifest ``root/name``, checked: format, and with ``verify`` every file's sha256.

    ``error``: the exception class to raise (a subclass of ValueError); ``missing_hint``: what to
    say when the manifest itself is missing (a FileNotFoundError); ``fix``: appended to a mismatch."""
    root = Path(root)
    path = root / name
    if not path.is_file():
        raise FileNotFoundError(f"{root}: {name} is missing{'; ' + missing_hint if missing_hint else ''}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not valid JSON ({exc}){'; ' + fix if fix else ''}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise error(f"{path}: format {meta.get('format') if isinstance(meta, dict) else None!r}; "
                    f"this tse2 reads format {FORMAT}")
    if verify:
        verify_files(root, meta.get("files") or {}, path, error, fix)
    return meta


def verify_files(root: Path, files: Dict[str, str], manifest: Path, error: Type[ValueError] = ManifestError,
                 fix: str = "") -> None:
    """Every file of ``files`` exists under ``root`` and has its recorded sha256."""
    tail = f"; {fix}" if fix else ""
    for rel, digest in files.items():
        f = Path(root) / rel
        if not f.is_file():
            raise error(f"{f}: missing ({manifest.name} lists it){tail}")
        if sha256(f) != digest:
            raise error(f"{f}: its sha256 differs from the one {manifest.name} recorded (a changed, "
                        f"truncated or replaced file){tail}")

