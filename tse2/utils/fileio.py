"""Atomic file writes: a stage interrupted mid-write never leaves a file a rerun would trust.

Everything tse2 writes goes to a temporary file in the destination's directory and is renamed
over the destination only once it is complete (``os.replace`` is atomic on POSIX).  The
temporary is ``.NAME.tmp.SUFFIX``, locked (``flock``) while it is written, so that the next write of
the same path takes over one a killed run left behind; files get the mode a plain ``open()`` would
give them (tempfile's 0600 would hide a shared recipe dir's outputs from the group).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]


def check_writable(path: PathLike, what: str = "output") -> None:
    """Fails early, naming ``path``, when a file cannot be written there: it is a directory, its
    parent is a file, or its (existing) parent is not writable.  The tools call it before any
    model loads, so a bad output path does not cost a whole run."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: the {what} is a directory; give a file name (e.g. {path / 'out.wav'})")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{path}: cannot write the {what}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: cannot write the {what}: no write permission in {parent}")


def umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(path: PathLike) -> int:
    """The mode a write to ``path`` should leave: an existing file keeps its own, a new one gets
    what a plain ``open()`` gives under the umask (0644 under 0022)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~umask()


def _claim_temporary(path: Path) -> Tuple[int, Path]:
    """An open, locked temporary file for ``path``: ``.NAME.tmp.SUFFIX`` beside it.  A stale one (a
    killed writer's, whose lock died with it) is taken over and emptied; while a live process holds
    it (a concurrent write of the same path), a private ``mkstemp`` name is used instead."""
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    for _ in range(8):
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            break
        try:  # the name may have been renamed onto ``path`` between our open and our lock
            same = os.stat(tmp).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            return fd, tmp
        os.close(fd)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    return fd, Path(name)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yields a temporary path next to ``path``; renames it onto ``path`` on success.

    The result has the mode :func:`file_mode` gives (an overwritten file keeps its mode; a new one
    follows the umask, not ``mkstemp``'s 0600).  The temporary is removed on any error, on SIGTERM
    in the tools (``tse2.utils.cli.run_tool``), and, after a ``kill -9``, by the next write of the
    same path."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    fd, tmp = _claim_temporary(path)
    try:
        os.fchmod(fd, mode)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)  # after the rename: the lock is held until the file is in place


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
