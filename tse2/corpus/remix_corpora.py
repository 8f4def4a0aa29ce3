"""Data preparation of the remix paper's corpora: TextrolSpeech speech, VGGSound and FSD50K sounds.

Listen, Chat, and Remix mixes two TextrolSpeech utterances (speech with gender, pitch, tempo,
energy and emotion labels) with two sound clips of VGGSound or FSD50K.  The readers below walk
each release's layout and return rows for :func:`write_speech` and :func:`write_sounds`, which
write the data dirs the remix recipe's stage 1 asks for (``remix.sh``): speech dirs with
``utt2spk``, ``spk2gender`` and ``utt2style``; sound dirs ``sounds_{train,valid,test,unseen}``
with ``utt2category``.

Layouts (paths come from ``db.sh``):

- TextrolSpeech: a caption table (CSV with a header) whose columns include ``wav_fp`` (the audio
  path, relative to the corpus root), ``gender`` (M/F), ``pitch``, ``tempo``, ``energy``
  (low/normal/high) and ``emotion``.  This column set is the one public readers of the release
  use; it was not checked against the file itself here (no copy of the corpus on this machine),
  so a table without them is refused with the names it lacks.  The speaker is the sub-corpus (the
  first directory of ``wav_fp``) with the file name's first ``_`` field (LibriTTS ``84_121123_...``,
  VCTK ``p225_001``, ESD ``0011_000001``), else with the file's directory.  The release has no
  standard split: speakers are split by a hash of their name (1/20 test, 1/20 dev, the rest train),
  so the splits are speaker-disjoint and stable as the corpus grows.
- One style per utterance, since a prompt names a speaker by one style: an emotion other than
  neutral, else a high or low pitch, else a fast or slow tempo, else "neutral" (energy is not
  named; :data:`TEXTROL_EMOTIONS` maps the emotion labels).
- VGGSound: ``vggsound.csv`` (no header: ``ytid,start,label,split``, split train/test) and the
  clips the user extracted as ``<audio_dir>/<ytid>_<start:06d>.{wav,flac}``; clips not on disk
  are counted and skipped (YouTube videos disappear).  A stable 1/20 of the training clips is
  the validation split.
- FSD50K: ``FSD50K.ground_truth/dev.csv`` (``fname,labels,mids,split``, split train/val) and
  ``eval.csv`` (``fname,labels,mids``), audio ``FSD50K.dev_audio/<fname>.wav`` and
  ``FSD50K.eval_audio/<fname>.wav``.  A clip's category is the first of its labels (FSD50K lists
  a clip's leaf label before its ancestors).
- ``unseen``: categories kept out of training, validation and test, for the zero-shot row.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tse2.corpus.expressive import Item
from tse2.utils.datadir import spk2utt_from_utt2spk, write_map
from tse2.utils.audio import DEFAULT_FS

TEXTROL_COLUMNS = ("wav_fp", "gender", "pitch", "tempo", "emotion")
TEXTROL_EMOTIONS = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
                    "surprise": "surprised", "surprised": "surprised", "fear": "fearful", "fearful": "fearful",
                    "disgust": "disgusted", "disgusted": "disgusted", "contempt": "contemptuous",
                    "contemptuous": "contemptuous"}
AUDIO_EXTENSIONS = (".wav", ".flac")


class CorpusError(ValueError):
    """A corpus file is missing or is not in the release's format."""


def _bucket(name: str, n: int = 20) -> int:
    return int(hashlib.md5(name.encode()).hexdigest()[:8], 16) % n


def _split_of(name: str) -> str:
    b = _bucket(name)
    return "test" if b == 0 else "dev" if b == 1 else "train"


def textrol_style(pitch: str, tempo: str, emotion: str) -> str:
    emotion = emotion.strip().lower()
    if emotion and emotion not in TEXTROL_EMOTIONS:
        raise CorpusError(f"unknown emotion {emotion!r} (known: {sorted(TEXTROL_EMOTIONS)})")
    if emotion and TEXTROL_EMOTIONS[emotion] != "neutral":
        return TEXTROL_EMOTIONS[emotion]
    pitch, tempo = pitch.strip().lower(), tempo.strip().lower()
    if pitch in ("high", "low"):
        return f"{pitch}-pitched"
    if tempo in ("high", "fast"):
        return "fast"
    if tempo in ("low", "slow"):
        return "slow"
    return "neutral"


@dataclass(frozen=True)
class SpeechRow:
    item: Item
    gender: str


def read_textrolspeech(root: Path, captions: Path) -> Tuple[List[SpeechRow], Dict[str, int]]:
    """The utterances of the caption table whose audio is under ``root``; the counts of rows left
    out by reason."""
    if not Path(captions).is_file():
        raise CorpusError(f"{captions}: no TextrolSpeech caption table")
    rows: List[SpeechRow] = []
    skipped: Dict[str, int] = {}
    with open(captions, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        lacking = [c for c in TEXTROL_COLUMNS if c not in (reader.fieldnames or [])]
        if lacking:
            raise CorpusError(f"{captions}: not a TextrolSpeech caption table, it lacks the columns {lacking} "
                              f"(has {reader.fieldnames})")
        for line, r in enumerate(reader, start=2):
            rel = r["wav_fp"].strip().lstrip("/")
            path = Path(root) / rel
            if not path.is_file():
                skipped["audio not found"] = skipped.get("audio not found", 0) + 1
                continue
            gender = {"m": "m", "male": "m", "f": "f", "female": "f"}.get(r["gender"].strip().lower())
            if gender is None:
                raise CorpusError(f"{captions}:{line}: gender {r['gender']!r} is not M or F")
            try:
                style = textrol_style(r["pitch"], r["tempo"], r["emotion"])
            except CorpusError as e:
                raise CorpusError(f"{captions}:{line}: {e}") from None
            corpus = Path(rel).parts[0] if len(Path(rel).parts) > 1 else "textrol"
            stem = path.stem
            spk = f"{corpus}-{stem.split('_')[0] if '_' in stem else path.parent.name}".replace(" ", "_")
            utt = f"{spk}-{stem}".replace(" ", "_")
            rows.append(SpeechRow(Item(utt, spk, str(path), style, _split_of(spk), corpus), gender))
    if not rows:
        raise CorpusError(f"{captions}: none of its audio files is under {root}")
    return rows, skipped


def write_speech(rows: Sequence[SpeechRow], data_root: Path, resample_dir: Path, fs: int = DEFAULT_FS) -> Dict[str, int]:
    """The speech data dirs (``train``, ``dev``, ``test``) with ``spk2gender`` besides what
    :func:`tse2.corpus.expressive.write_sets` writes."""
    from tse2.corpus.expressive import write_sets

    genders: Dict[str, str] = {}
    for r in rows:
        if genders.setdefault(r.item.spk, r.gender) != r.gender:
            raise CorpusError(f"speaker {r.item.spk} is labelled both {genders[r.item.spk]} and {r.gender}")
    counts = write_sets([r.item for r in rows], data_root, resample_dir, fs)
    for split in counts:
        write_map(Path(data_root) / split / "spk2gender",
                  {r.item.spk: r.gender for r in rows if r.item.split == split})
    return counts


@dataclass(frozen=True)
class SoundRow:
    uid: str
    path: str
    category: str
    split: str  # train / valid / test
    corpus: str


def _label(text: str) -> str:
    return " ".join(text.replace("_and_", " and ").replace("_", " ").replace(",", " ").split()).lower()


def read_vggsound(root: Path, audio_dir: Optional[Path] = None) -> Tuple[List[SoundRow], Dict[str, int]]:
    table = Path(root) / "vggsound.csv"
    if not table.is_file():
        raise CorpusError(f"{table}: no VGGSound table")
    audio_dir = Path(audio_dir) if audio_dir else Path(root) / "audio"
    rows, skipped = [], {}
    with open(table, newline="", encoding="utf-8") as f:
        for line, r in enumerate(csv.reader(f), start=1):
            if not r:
                continue
            if len(r) != 4:
                raise CorpusError(f"{table}:{line}: expected ytid,start,label,split, got {r}")
            ytid, start, label, split = (x.strip() for x in r)
            if split not in ("train", "test"):
                raise CorpusError(f"{table}:{line}: split {split!r} is not train or test")
            try:
                name = f"{ytid}_{int(start):06d}"
            except ValueError:
                raise CorpusError(f"{table}:{line}: start {start!r} is not a whole second") from None
            path = next((audio_dir / f"{name}{e}" for e in AUDIO_EXTENSIONS if (audio_dir / f"{name}{e}").is_file()), None)
            if path is None:
                skipped["clip not on disk"] = skipped.get("clip not on disk", 0) + 1
                continue
            if split == "train" and _bucket(name) == 0:
                split = "valid"
            rows.append(SoundRow(f"vgg-{name}", str(path), _label(label), split, "vggsound"))
    return rows, skipped


def read_fsd50k(root: Path) -> Tuple[List[SoundRow], Dict[str, int]]:
    gt = Path(root) / "FSD50K.ground_truth"
    rows, skipped = [], {}
    for table, audio, has_split in ((gt / "dev.csv", Path(root) / "FSD50K.dev_audio", True),
                                    (gt / "eval.csv", Path(root) / "FSD50K.eval_audio", False)):
        if not table.is_file():
            raise CorpusError(f"{table}: missing (the FSD50K ground truth)")
        with open(table, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            need = ["fname", "labels"] + (["split"] if has_split else [])
            lacking = [c for c in need if c not in (reader.fieldnames or [])]
            if lacking:
                raise CorpusError(f"{table}: lacks the columns {lacking}")
            for line, r in enumerate(reader, start=2):
                split = {"train": "train", "val": "valid"}.get(r["split"].strip()) if has_split else "test"
                if split is None:
                    raise CorpusError(f"{table}:{line}: split {r['split']!r} is not train or val")
                labels = [x for x in r["labels"].split(",") if x.strip()]
                if not labels:
                    raise CorpusError(f"{table}:{line}: clip {r['fname']} has no label")
                path = audio / f"{r['fname'].strip()}.wav"
                if not path.is_file():
                    skipped["clip not on disk"] = skipped.get("clip not on disk", 0) + 1
                    continue
                rows.append(SoundRow(f"fsd-{r['fname'].strip()}", str(path), _label(labels[0]), split, "fsd50k"))
    return rows, skipped


def write_sounds(rows: Iterable[SoundRow], data_root: Path, resample_dir: Path, fs: int = DEFAULT_FS,
                 unseen: Sequence[str] = (), prefix: str = "sounds") -> Dict[str, int]:
    """``<prefix>_{train,valid,test,unseen}`` with ``wav.scp``, ``utt2category`` (spaces as "_"),
    ``utt2spk``/``spk2utt`` (the category as speaker), ``utt2dur`` and ``utt2source``; clips of the
    ``unseen`` categories (any split) go to ``unseen`` only.  Audio that is not ``fs`` mono is
    averaged to mono and resampled once into ``resample_dir``."""
    from tse2.corpus.expressive import audio_at_rate

    if fs != DEFAULT_FS:
        raise ValueError(f"the remix recipes resample to {DEFAULT_FS} Hz, not {fs}")
    unseen_set = {_label(u) for u in unseen}
    tables: Dict[str, Dict[str, Dict[str, str]]] = {}
    for r in sorted(rows, key=lambda r: (r.category, r.uid)):
        split = "unseen" if r.category in unseen_set else r.split
        path, seconds = audio_at_rate(r.path, Path(resample_dir) / split / f"{r.uid}.wav", fs)
        t = tables.setdefault(split, {})
        cat = r.category.replace(" ", "_")
        uid = f"{cat}-{r.uid}"  # a Kaldi data dir: the "speaker" (category) prefixes the id
        for name, value in (("wav.scp", path), ("utt2category", cat), ("utt2spk", cat),
                            ("utt2dur", f"{seconds:.3f}"), ("utt2source", r.corpus)):
            t.setdefault(name, {})[uid] = value
    missing = unseen_set - {c.replace("_", " ") for c in tables.get("unseen", {}).get("utt2category", {}).values()}
    if missing:
        raise CorpusError(f"no clip of the unseen categories {sorted(missing)}")
    counts = {}
    for split, files in tables.items():
        d = Path(data_root) / f"{prefix}_{split}"
        for name, mapping in files.items():
            write_map(d / name, mapping)
        write_map(d / "spk2utt", spk2utt_from_utt2spk(files["utt2spk"]))
        counts[split] = len(files["wav.scp"])
    return counts
