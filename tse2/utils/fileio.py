"""Atomic file writes: a stage interrupted mid-write never leaves a file a rerun would trust.

Everything tse2 writes goes to a temporary file in the destination's directory and is renamed
over the destination only once it is complete (``os.replace`` is atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

import numpy as np

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yields a temporary path next to ``path``; renames it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", encoding: str = "utf-8"):
    """``open`` for writing whose result appears at ``path`` only when the block succeeds."""
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding}
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_wav(path: PathLike, audio: np.ndarray, sample_rate: int) -> None:
    """Writes 16-bit PCM WAV atomically; values are clipped to [-1, 1]."""
    import soundfile as sf

    audio = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, int(sample_rate), subtype="PCM_16", format="WAV")


class MissingEntry(KeyError):
    """A KeyError whose message names the file (``str()`` of a plain KeyError is the repr of its key,
    so a tool would print ``ERROR 'kind'``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Record(dict):
    """A JSON-lines record that knows where it came from: a missing field is a KeyError naming the
    file, the line and the field (``ERROR prompts.jsonl:3: no "kind" field``), not ``ERROR 'kind'``."""

    def __init__(self, data, source: str = "") -> None:
        super().__init__(data)
        self.source = source

    def __missing__(self, key):
        raise MissingEntry(f"{self.source}: no {key!r} field in this record (fields: {', '.join(map(str, self)) or 'none'}); "
                       "was the file written by the stage before?")


def read_jsonl(path: PathLike, what: str = "run the previous stage") -> list:
    """Reads a JSON-lines file of objects (:class:`Record`). A missing file is a FileNotFoundError
    saying what makes it; a line that is not valid UTF-8, not JSON or not an object is a ValueError
    naming the file and line."""
    import json

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing ({what})")
    out = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{n}: not UTF-8 (byte {exc.start + 1} of the line); {what}") from None
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg}, column {exc.colno}); fix the line or "
                                 f"{what}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}; {what}")
            out.append(Record(row, f"{path}:{n}"))
    return out


def sha256(path: PathLike) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_yaml_config(path: PathLike) -> dict:
    """A model or recipe config (a YAML mapping, safe tags only), or a ValueError naming the file
    and, where the parser knows it, the line."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the config is missing")
    try:
        with open(path, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{path}{where}: not a valid config ({problem}; tse2 reads plain YAML, "
                         "without python/object tags)") from None
    if not isinstance(conf, dict):
        raise ValueError(f"{path}: a config must be a YAML mapping, got {type(conf).__name__}")
    return conf


def inputs_digest(files=(), audio_paths=()) -> str:
    """A fingerprint of a job's inputs: the bytes of small text ``files`` (missing ones count as
    absent) and the size and modification time of ``audio_paths``.  Stored with a job's output,
    it lets a rerun trust the output only when nothing it was made from has changed."""
    import hashlib

    h = hashlib.sha1()
    for f in files:
        p = Path(f)
        h.update(str(p).encode())
        h.update(p.read_bytes() if p.is_file() else b"<absent>")
    for a in audio_paths:
        st = os.stat(a)
        h.update(f"{a}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()
