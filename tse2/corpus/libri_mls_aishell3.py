"""Data preparation for the paper's corpora: LibriSpeech (en), MLS (fr, de, es), AISHELL-3 (zh).

Reads each corpus in its published layout and writes speaker-disjoint Kaldi data dirs
(``wav.scp utt2spk spk2utt text utt2lang spk2gender utt2dur``, plus ``spk2age`` for the AISHELL-3
speakers, whose corpus gives an age group).  Ids are prefixed by language so that speakers of
different corpora can never collide: speaker ``en-103``, utterance ``en-103-1240-0000``.

Layouts read (``<root>`` is the directory given for each corpus):

- LibriSpeech: ``<root>/LibriSpeech/<subset>/<spk>/<chapter>/<spk>-<chapter>.trans.txt`` with
  ``<utt> <TEXT>`` lines and ``<utt>.flac`` beside it; ``<root>/LibriSpeech/SPEAKERS.TXT`` rows
  ``ID | SEX | SUBSET | MINUTES | NAME`` (``;`` comments).
- MLS: ``<root>/mls_<language>/<split>/transcripts.txt`` with ``<utt>\\t<text>`` lines, audio
  ``<split>/audio/<spk>/<book>/<utt>.flac`` (or ``.opus``); ``<root>/mls_<language>/metainfo.txt``
  rows ``SPEAKER | GENDER | PARTITION | MINUTES | BOOK ID | TITLE | CHAPTER`` after a header.
- AISHELL-3: ``<root>/data_aishell3/{train,test}/content.txt`` with
  ``<utt>.wav\\t<char> <pinyin> <char> <pinyin> ...``, audio ``{train,test}/wav/<spk>/<utt>.wav``
  (44.1 kHz), and ``<root>/data_aishell3/spk-info.txt`` rows ``<spk> <age group> <gender> <accent>``.
  AISHELL-3 has no dev split: the last ``aishell3_dev_speakers`` training speakers (sorted) form it.

Audio whose sample rate differs from ``fs`` is resampled once into ``resample_dir`` (16-bit WAV,
atomic writes, skipped when already there).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from tse2.utils.audio import AudioError, audio_info, read_audio
from tse2.utils.datadir import spk2utt_from_utt2spk, text_lines, write_map
from tse2.utils.fileio import write_wav

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
LIBRISPEECH_SUBSETS = {"train": ("train-clean-100",), "dev": ("dev-clean",), "test": ("test-clean",)}
MLS_LANGS = {"french": "fr", "german": "de", "spanish": "es"}
# AISHELL-3 gives age groups; we record a representative age in years (documented approximation).
AISHELL3_AGE_GROUPS = {"A": 12, "B": 20, "C": 33, "D": 50}


class CorpusLayoutError(ValueError):
    """A corpus directory does not have the published layout."""


def _lines(path: Path):
    """(line number, line) of a corpus text file, without CR/LF; not UTF-8: file:line and byte."""
    return ((n, line.rstrip("\r")) for n, line in text_lines(path))


@dataclass(frozen=True)
class CorpusUtt:
    utt: str
    spk: str
    path: Path
    text: str
    lang: str
    gender: str
    age: Optional[int] = None


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise CorpusLayoutError(f"{path}: missing ({what})")
    return path


def _gender(value: str, where: str) -> str:
    g = value.strip().lower()[:1]
    if g not in ("f", "m"):
        raise CorpusLayoutError(f"{where}: unknown gender {value.strip()!r}")
    return g


def read_librispeech(root: Path, subsets: Dict[str, Sequence[str]] = LIBRISPEECH_SUBSETS) -> Dict[str, List[CorpusUtt]]:
    base = _need(Path(root) / "LibriSpeech", "LibriSpeech directory")
    spk_file = _need(base / "SPEAKERS.TXT", "LibriSpeech speaker table")
    genders = {}
    for n, line in _lines(spk_file):
        if not line.strip() or line.startswith(";"):
            continue
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 2:
            raise CorpusLayoutError(f"{spk_file}:{n}: expected 'ID | SEX | ...'")
        genders[cols[0]] = _gender(cols[1], f"{spk_file}:{n}")
    out: Dict[str, List[CorpusUtt]] = {s: [] for s in SPLITS}
    for split, names in subsets.items():
        for name in names:
            sub = _need(base / name, f"LibriSpeech subset for {split}")
            for trans in sorted(sub.glob("*/*/*.trans.txt")):
                for n, line in _lines(trans):
                    if not line.strip():
                        continue
                    utt, _, text = line.partition(" ")
                    spk = utt.split("-")[0]
                    if spk not in genders:
                        raise CorpusLayoutError(f"{trans}:{n}: speaker {spk} is not in {spk_file}")
                    out[split].append(CorpusUtt(f"en-{utt}", f"en-{spk}", trans.parent / f"{utt}.flac",
                                                text.strip(), "en", genders[spk]))
    return out


def read_mls(root: Path, languages: Iterable[str] = tuple(MLS_LANGS)) -> Dict[str, List[CorpusUtt]]:
    out: Dict[str, List[CorpusUtt]] = {s: [] for s in SPLITS}
    for language in languages:
        if language not in MLS_LANGS:
            raise ValueError(f"unknown MLS language {language!r}; known: {sorted(MLS_LANGS)}")
        code = MLS_LANGS[language]
        base = _need(Path(root) / f"mls_{language}", f"MLS {language} directory")
        meta = _need(base / "metainfo.txt", "MLS speaker table")
        genders = {}
        for n, line in _lines(meta):
            cols = [c.strip() for c in line.split("|")]
            if n == 1 or len(cols) < 2 or not cols[0].isdigit():
                continue  # header
            genders[cols[0]] = _gender(cols[1], f"{meta}:{n}")
        for split in SPLITS:
            trans = _need(base / split / "transcripts.txt", f"MLS {language} {split} transcripts")
            for n, line in _lines(trans):
                if not line.strip():
                    continue
                utt, sep, text = line.partition("\t")
                if not sep:
                    raise CorpusLayoutError(f"{trans}:{n}: expected '<utt>\\t<text>'")
                spk, book = utt.split("_")[:2]
                if spk not in genders:
                    raise CorpusLayoutError(f"{trans}:{n}: speaker {spk} is not in {meta}")
                audio = base / split / "audio" / spk / book / f"{utt}.flac"
                if not audio.exists() and audio.with_suffix(".opus").exists():
                    audio = audio.with_suffix(".opus")
                out[split].append(CorpusUtt(f"{code}-{utt}", f"{code}-{spk}", audio, text.strip(), code, genders[spk]))
    return out


_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def read_aishell3(root: Path, dev_speakers: int = 8) -> Dict[str, List[CorpusUtt]]:
    base = _need(Path(root) / "data_aishell3", "AISHELL-3 directory")
    info = _need(base / "spk-info.txt", "AISHELL-3 speaker table")
    speakers = {}
    for n, line in _lines(info):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split()
        if len(cols) < 3:
            raise CorpusLayoutError(f"{info}:{n}: expected '<spk> <age group> <gender> <accent>'")
        if cols[1] not in AISHELL3_AGE_GROUPS:
            raise CorpusLayoutError(f"{info}:{n}: unknown age group {cols[1]!r} (A, B, C or D)")
        speakers[cols[0]] = (_gender(cols[2], f"{info}:{n}"), AISHELL3_AGE_GROUPS[cols[1]])
    out: Dict[str, List[CorpusUtt]] = {s: [] for s in SPLITS}
    for part in ("train", "test"):
        content = _need(base / part / "content.txt", f"AISHELL-3 {part} transcripts")
        for n, line in _lines(content):
            if not line.strip():
                continue
            name, _, rest = line.partition("\t")
            utt = name.strip().removesuffix(".wav")
            spk = utt[:7]
            if spk not in speakers:
                raise CorpusLayoutError(f"{content}:{n}: speaker {spk} is not in {info}")
            text = "".join(tok for tok in rest.split() if _HANZI.fullmatch(tok))
            if not text:
                raise CorpusLayoutError(f"{content}:{n}: no Chinese characters in {rest!r}")
            gender, age = speakers[spk]
            out[part].append(CorpusUtt(f"zh-{utt}", f"zh-{spk}", base / part / "wav" / spk / f"{utt}.wav",
                                       text, "zh", gender, age))
    train_spks = sorted({u.spk for u in out["train"]})
    dev = set(train_spks[-dev_speakers:]) if 0 < dev_speakers < len(train_spks) else set()
    out["dev"] = [u for u in out["train"] if u.spk in dev]
    out["train"] = [u for u in out["train"] if u.spk not in dev]
    return out


def _audio_for(u: CorpusUtt, fs: int, resample_dir: Path) -> tuple:
    """Returns (path to use, duration in s), resampling into ``resample_dir`` when needed."""
    rate, channels, frames = audio_info(str(u.path))
    if channels != 1:
        raise AudioError(f"{u.path}: has {channels} channels, expected mono")
    if frames == 0:
        raise AudioError(f"{u.path}: contains no samples")
    if rate == fs:
        return u.path.resolve(), frames / rate
    target = (Path(resample_dir) / u.spk / f"{u.utt}.wav").resolve()
    if not target.exists():
        from tse2.utils.audio import resample

        audio, _ = read_audio(str(u.path))
        write_wav(target, resample(audio, rate, fs), fs)
    return target, frames / rate


def write_data_dirs(
    corpora: Sequence[Dict[str, List[CorpusUtt]]], data_root: Path, fs: int, resample_dir: Path,
    skip_bad_audio: bool = False,
) -> Dict[str, int]:
    """Merges corpora per split into data dirs; returns utterances written per split."""
    owner: Dict[str, str] = {}
    for split in SPLITS:
        for u in (u for c in corpora for u in c.get(split, [])):
            if owner.setdefault(u.spk, split) != split:
                raise CorpusLayoutError(f"speaker {u.spk} is in both {owner[u.spk]} and {split}; splits must be speaker-disjoint")
    counts = {}
    for split in SPLITS:
        utts = [u for c in corpora for u in c.get(split, [])]
        if not utts:
            continue
        t: Dict[str, Dict[str, str]] = {k: {} for k in ("wav.scp", "utt2spk", "text", "utt2lang", "utt2dur")}
        genders, ages = {}, {}
        for u in utts:
            if u.utt in t["utt2spk"]:
                raise CorpusLayoutError(f"{u.path}: utterance id {u.utt} appears twice")
            try:
                path, dur = _audio_for(u, fs, resample_dir)
            except AudioError as exc:
                if not skip_bad_audio:
                    raise
                log.warning("skipping %s: %s", u.utt, exc)
                continue
            t["wav.scp"][u.utt] = str(path)
            t["utt2spk"][u.utt] = u.spk
            t["text"][u.utt] = " ".join(u.text.split())
            t["utt2lang"][u.utt] = u.lang
            t["utt2dur"][u.utt] = f"{dur:.3f}"
            genders[u.spk] = u.gender
            if u.age is not None:
                ages[u.spk] = str(u.age)
        if not t["utt2spk"]:
            raise CorpusLayoutError(f"{split}: every one of its {len(utts)} utterances had unusable audio")
        d = Path(data_root) / split
        for name, table in t.items():
            write_map(d / name, table)
        write_map(d / "spk2utt", spk2utt_from_utt2spk(t["utt2spk"]))
        write_map(d / "spk2gender", genders)
        if ages:
            write_map(d / "spk2age", ages)
        counts[split] = len(t["utt2spk"])
    return counts
