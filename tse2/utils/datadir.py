"""Kaldi-style data directories: reading, atomic sorted writing, and validation.

A data dir holds one file per relation, one ``<key> <value>`` line each, sorted with
``LC_ALL=C`` (byte order).  File formats are documented once, in ``egs/TEMPLATE/tse2/README.md``.
Keys of ``utt2*``, ``wav.scp``, ``text`` and ``*.scp`` files are utterance ids; keys of ``spk2*``
files are speaker ids.  ``words.ctm`` is the one multi-line-per-key file (NIST CTM).

Validation is code, not a shell script that exits 0 on error: :func:`validate_data_dir` returns
every problem as ``file:line: message`` and the CLI (``python -m tse2.bin.validate_data_dir``)
exits non-zero when there is any.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from tse2.utils.audio import AudioError, check_audio
from tse2.utils.fileio import MissingEntry, atomic_open

PathLike = Union[str, os.PathLike]

REQUIRED_FILES = ("wav.scp", "utt2spk", "spk2utt")
CTM_FILE = "words.ctm"
GENDERS = ("f", "m")
# Metadata a corpus may know for only some speakers/utterances (e.g. age only for AISHELL-3
# speakers in a multi-corpus dir; gender not for a child or an acted voice of the voices corpus):
# keys must be known, but need not cover every one.
PARTIAL_FILES = ("spk2age", "utt2emotion", "spk2gender")


class DataDirError(ValueError):
    """A data-dir file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Line:
    key: str
    value: str
    lineno: int


def c_sort_key(text: str) -> bytes:
    """The order of ``LC_ALL=C sort``: plain bytes."""
    return text.encode("utf-8")


def text_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """(line number, line without its newline) of a UTF-8 text file; a line that is not UTF-8 is a
    :class:`DataDirError` naming the file, the line and the byte (Kaldi files are UTF-8 here)."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataDirError(f"{path}:{n}: not UTF-8 text (byte {exc.start + 1} of the line is "
                                   f"0x{raw[exc.start]:02x}); convert the file, e.g. iconv -f latin1 -t utf-8") from None
            yield n, line[:-1] if line.endswith("\n") else line


def read_lines(path: PathLike) -> List[Line]:
    """Reads ``<key> <value>`` lines; raises :class:`DataDirError` on blank or keyless lines."""
    out = []
    for n, line in text_lines(path):
        if not line.strip():
            raise DataDirError(f"{path}:{n}: empty line")
        if line != line.strip():
            raise DataDirError(f"{path}:{n}: leading or trailing white space")
        key, _, value = line.partition(" ")
        out.append(Line(key, value, n))
    return out


class Table(dict):
    """A key → value file's contents; looking up a key it lacks is a KeyError naming the file."""

    def __init__(self, source: str = "") -> None:
        super().__init__()
        self.source = source

    def __missing__(self, key):
        raise MissingEntry(f"{self.source}: no entry for {key!r} ({len(self)} entries); the data dir's files disagree: "
                       "check it with utils/validate_data_dir.sh or rerun the stage that wrote it")


def _read_table(path: PathLike, value: Callable[[Line], object]) -> Dict:
    """A key → ``value(line)`` :class:`Table` of a file, refusing duplicate keys."""
    out = Table(str(path))
    for ln in read_lines(path):
        if ln.key in out:
            raise DataDirError(f"{path}:{ln.lineno}: duplicate key {ln.key!r}")
        out[ln.key] = value(ln)
    return out


def read_map(path: PathLike, allow_empty_value: bool = False) -> Dict[str, str]:
    """Reads a key → value file (a :class:`Table`), refusing duplicate keys and (by default) empty values."""
    def value(ln: Line) -> str:
        if not ln.value and not allow_empty_value:
            raise DataDirError(f"{path}:{ln.lineno}: key {ln.key!r} has no value")
        return ln.value

    return _read_table(path, value)


def read_targets(path: PathLike) -> Dict[str, int]:
    """Reads ``utt2target`` (mixture → 1 or 2, the talker to extract); any other value is an error
    naming the file and line."""
    def value(ln: Line) -> int:
        if ln.value not in ("1", "2"):
            raise DataDirError(f"{path}:{ln.lineno}: the target of {ln.key} must be 1 or 2, got {ln.value!r}")
        return int(ln.value)

    return _read_table(path, value)


def read_keys(path: PathLike) -> List[str]:
    """The keys of a key list (ESPnet's ``--key_file``): the first field of each line, so bare ids
    and ``<key> <value>`` lines alike; a blank line or a repeated key is an error naming the line."""
    out, seen = [], set()
    for n, line in text_lines(path):
        fields = line.split()
        if not fields:
            raise DataDirError(f"{path}:{n}: empty line")
        if fields[0] in seen:
            raise DataDirError(f"{path}:{n}: duplicate key {fields[0]!r}")
        seen.add(fields[0])
        out.append(fields[0])
    return out


def check_keys(key_file: PathLike, keys: List[str], table: PathLike, known) -> None:
    """Every key of ``key_file`` must be in ``known`` (the keys of ``table``): else an error naming
    the first missing one with its line."""
    for n, key in enumerate(keys, 1):
        if key not in known:
            raise DataDirError(f"{key_file}:{n}: {key!r} is not in {table} ({len(known)} entries): the key list "
                               "belongs to another data dir, or the dir was rebuilt; split its own keys again")


def read_map_if_present(path: PathLike) -> Dict[str, str]:
    """:func:`read_map` of an optional metadata file (empty values allowed); ``{}`` when it is absent."""
    return read_map(path, allow_empty_value=True) if Path(path).is_file() else {}


def write_map(path: PathLike, mapping: Union[Mapping[str, str], Iterable[Tuple[str, str]]]) -> None:
    """Writes ``key value`` lines sorted in C order, atomically."""
    items = list(mapping.items()) if isinstance(mapping, Mapping) else list(mapping)
    items.sort(key=lambda kv: c_sort_key(kv[0]))
    with atomic_open(path) as f:
        for key, value in items:
            if not key or any(c.isspace() for c in key):
                raise DataDirError(f"{path}: invalid key {key!r} (empty or containing white space)")
            f.write(f"{key} {value}\n")


def spk2utt_from_utt2spk(utt2spk: Mapping[str, str]) -> Dict[str, str]:
    spk2utts: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk, key=c_sort_key):
        spk2utts.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in spk2utts.items()}


@dataclass(frozen=True)
class CtmWord:
    utt: str
    start: float
    dur: float
    word: str


def read_ctm(path: PathLike) -> Dict[str, List[CtmWord]]:
    """Reads ``<utt> <channel> <start> <dur> <word>`` lines into per-utterance word lists."""
    out: Dict[str, List[CtmWord]] = {}
    for n, raw in text_lines(path):
        parts = raw.split()
        if len(parts) != 5:
            raise DataDirError(f"{path}:{n}: expected '<utt> <channel> <start> <dur> <word>', got {raw.strip()!r}")
        try:
            start, dur = float(parts[2]), float(parts[3])
        except ValueError:
            raise DataDirError(f"{path}:{n}: start/duration are not numbers: {raw.strip()!r}") from None
        out.setdefault(parts[0], []).append(CtmWord(parts[0], start, dur, parts[4]))
    return out


def write_ctm(path: PathLike, words: Iterable[CtmWord]) -> None:
    rows = sorted(words, key=lambda w: (c_sort_key(w.utt), w.start))
    with atomic_open(path) as f:
        for w in rows:
            f.write(f"{w.utt} 1 {w.start:.3f} {w.dur:.3f} {w.word}\n")


def _is_utt_file(name: str) -> bool:
    return name.startswith("utt2") or name.endswith(".scp") or name == "text"


def validate_data_dir(
    data_dir: PathLike, check_audio_files: bool = True, fs: Optional[int] = None
) -> List[str]:
    """Checks a data dir; returns a list of ``file:line: problem`` strings (empty when valid).

    Checks: required files exist; every file parses (no blank lines, no duplicate keys) and is
    sorted in C order; utterance-keyed files (``utt2*``, ``*.scp``, ``text``) cover exactly the
    utterances of ``utt2spk``; speaker-keyed files (``spk2*``) exactly its speakers (``spk2age`` and
    ``utt2emotion`` may cover a subset); ``spk2utt``
    agrees with ``utt2spk``; utterance ids start with their speaker id; ``spk2gender`` is f/m,
    ``spk2age`` numeric; ``words.ctm`` words are numeric, positive, ordered and inside known
    utterances; every ``wav.scp`` path exists and, with ``check_audio_files``, is non-empty mono
    audio (at ``fs`` Hz when given).
    """
    d = Path(data_dir)
    errors: List[str] = []
    if not d.is_dir():
        return [f"{d}: not a directory"]
    for name in REQUIRED_FILES:
        if not (d / name).is_file():
            errors.append(f"{d / name}: required file is missing")
    if errors:
        return errors

    tables = _read_tables(d, errors)
    if "utt2spk" not in tables or "spk2utt" not in tables:
        return errors
    utt2spk = {ln.key: ln.value for ln in tables["utt2spk"]}
    _check_speakers(d, tables, utt2spk, errors)
    speakers = set(utt2spk.values())
    for name, lines in tables.items():
        if name == "utt2spk":
            continue
        want, kind = (speakers, "speaker") if name.startswith("spk2") else (set(utt2spk), "utterance")
        _coverage(errors, d / name, lines, want, kind, "utt2spk", complete=name not in PARTIAL_FILES)
    _check_speaker_values(d, tables, errors)

    if (d / CTM_FILE).is_file():
        errors.extend(_validate_ctm(d / CTM_FILE, set(utt2spk)))

    for ln in tables.get("wav.scp", []):
        errors.extend(_validate_wav_entry(d / "wav.scp", ln, check_audio_files, fs))
    return errors


def _read_tables(d: Path, errors: List[str]) -> Dict[str, List[Line]]:
    """Every key/value table of ``d``, each checked for parsing, duplicate keys, values and C order."""
    tables: Dict[str, List[Line]] = {}
    for p in sorted(d.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.name == CTM_FILE:
            continue
        if not (_is_utt_file(p.name) or p.name.startswith("spk2")):
            continue  # reports, logs, configs: not key/value tables
        try:
            lines = read_lines(p)
        except (DataDirError, UnicodeDecodeError) as exc:
            errors.append(str(exc))
            continue
        tables[p.name] = lines
        seen: Dict[str, int] = {}
        prev: Optional[Line] = None
        for ln in lines:
            if ln.key in seen:
                errors.append(f"{p}:{ln.lineno}: duplicate key {ln.key!r} (first on line {seen[ln.key]})")
            else:
                seen[ln.key] = ln.lineno
            if not ln.value and p.name != "text":
                errors.append(f"{p}:{ln.lineno}: key {ln.key!r} has no value")
            if prev is not None and c_sort_key(ln.key) < c_sort_key(prev.key):
                errors.append(
                    f"{p}:{ln.lineno}: not sorted: {ln.key!r} comes after {prev.key!r} "
                    "(sort with LC_ALL=C)"
                )
            prev = ln
    return tables


def _check_speakers(d: Path, tables: Dict[str, List[Line]], utt2spk: Dict[str, str], errors: List[str]) -> None:
    """utt2spk: one speaker id that prefixes the utterance id; spk2utt agrees with it."""
    for ln in tables["utt2spk"]:
        if len(ln.value.split()) != 1:
            errors.append(f"{d / 'utt2spk'}:{ln.lineno}: expected one speaker id, got {ln.value!r}")
        elif not ln.key.startswith(ln.value):
            errors.append(
                f"{d / 'utt2spk'}:{ln.lineno}: utterance id {ln.key!r} is not prefixed by its "
                f"speaker id {ln.value!r}"
            )
    expected = {ln.key: set(ln.value.split()) for ln in tables["spk2utt"]}
    actual: Dict[str, set] = {}
    for utt, spk in utt2spk.items():
        actual.setdefault(spk, set()).add(utt)
    for ln in tables["spk2utt"]:
        if expected[ln.key] != actual.get(ln.key, set()):
            errors.append(f"{d / 'spk2utt'}:{ln.lineno}: utterances of speaker {ln.key!r} disagree with utt2spk")


def _check_speaker_values(d: Path, tables: Dict[str, List[Line]], errors: List[str]) -> None:
    for ln in tables.get("spk2gender", []):
        if ln.value not in GENDERS:
            errors.append(f"{d / 'spk2gender'}:{ln.lineno}: gender {ln.value!r} is not one of {GENDERS}")
    for ln in tables.get("spk2age", []):
        try:
            age = float(ln.value)
            if not 0 < age < 130:
                raise ValueError
        except ValueError:
            errors.append(f"{d / 'spk2age'}:{ln.lineno}: age {ln.value!r} is not a number of years")


def _coverage(
    errors: List[str], path: Path, lines: List[Line], want: set, kind: str, ref: str, complete: bool = True
) -> None:
    have = {ln.key for ln in lines}
    for ln in lines:
        if ln.key not in want:
            errors.append(f"{path}:{ln.lineno}: {kind} {ln.key!r} is not in {ref}")
    if not complete:
        return
    missing = sorted(want - have, key=c_sort_key)
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        errors.append(f"{path}: {len(missing)} {kind}(s) of {ref} are missing here: {shown}")


def _validate_ctm(path: Path, utts: set) -> List[str]:
    errors = []
    prev: Optional[Tuple[bytes, float]] = None
    try:
        lines = list(text_lines(path))
    except DataDirError as exc:
        return [str(exc)]
    for n, raw in lines:
        parts = raw.split()
        if len(parts) != 5:
            errors.append(f"{path}:{n}: expected '<utt> <channel> <start> <dur> <word>'")
            continue
        try:
            start, dur = float(parts[2]), float(parts[3])
        except ValueError:
            errors.append(f"{path}:{n}: start/duration are not numbers")
            continue
        if parts[0] not in utts:
            errors.append(f"{path}:{n}: utterance {parts[0]!r} is not in utt2spk")
        if start < 0 or dur <= 0:
            errors.append(f"{path}:{n}: word needs start >= 0 and duration > 0 (got {start}, {dur})")
        cur = (c_sort_key(parts[0]), start)
        if prev is not None and cur < prev:
            errors.append(f"{path}:{n}: not sorted by utterance id, then start time")
        prev = cur
    return errors


def _validate_wav_entry(path: Path, ln: Line, check_audio_files: bool, fs: Optional[int]) -> List[str]:
    value = ln.value
    # tse2's readers take audio files (soundfile); Kaldi's extended filenames are refused here,
    # where the line is known, rather than by a later stage
    if value.endswith("|"):
        return [f"{path}:{ln.lineno}: {ln.key}: pipe entries ('<command> |') are not supported; write the "
                "audio to files first (e.g. with sox) and list the files"]
    if re.search(r"\.ark:\d+$", value):
        return [f"{path}:{ln.lineno}: {ln.key}: Kaldi archive entries ('<file.ark>:<offset>') are not "
                "supported; extract the audio to files first (e.g. wav-copy) and list the files"]
    audio = value
    if not os.path.isfile(audio):
        return [f"{path}:{ln.lineno}: audio file of {ln.key!r} does not exist: {audio}"]
    if check_audio_files:
        try:
            check_audio(audio, fs=fs)
        except AudioError as exc:
            return [f"{path}:{ln.lineno}: {ln.key}: {exc}"]
    return []
