"""Data preparation of the paper's expressive corpora: IEMOCAP, ESD (English) and Expresso (read).

Each reader walks the corpus's standard release layout and returns :class:`Item` rows (utterance,
speaker, audio path, style, split); :func:`write_sets` writes one Kaldi data dir per split with
``utt2style``. The style names are the paper's 22 (``PAPER_STYLES``); corpus labels are mapped
to them by the tables below, and labels the paper leaves out are skipped (and counted).

Layouts (paths come from ``db.sh``):

- IEMOCAP: ``<root>/Session{1..5}/sentences/wav/<dialog>/<utt>.wav`` and
  ``<root>/Session*/dialog/EmoEvaluation/<dialog>.txt``, whose lines
  ``[start - end]<TAB>utt<TAB>label<TAB>[v, a, d]`` give each utterance's label. The paper trains on
  all of IEMOCAP (9 of its 10 classes; "oth" and the no-agreement "xxx" are left out).
- ESD: ``<root>/<speaker>/<Emotion>/[train|evaluation|test/]<speaker>_<nnnnnn>.wav``; English is
  speakers 0011-0020. With the split sub-directories they decide the split; without them, the
  standard split by the utterance's place in its emotion block of 350 (1-20 test, 21-50
  evaluation, the rest train).
- Expresso: ``<root>/audio_48khz/read/<speaker>/<style>/{base,longform}/<speaker>_<style>_<n>.wav``
  and the standard split lists ``<root>/splits/{train,dev,test}.txt`` (one file name stem per
  line). Only read speech is used here: the conversational part is long two-channel dialogues
  that need the corpus's segment times, which this reader does not take yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from tse2.utils.datadir import spk2utt_from_utt2spk, write_map
from tse2.utils.audio import DEFAULT_FS

PAPER_STYLES = ("angry", "awe", "bored", "calm", "confused", "desire", "disgusted", "enunciated", "excited", "fast",
                "fearful", "frustrated", "happy", "laughing", "neutral", "projected", "sad", "sarcastic", "sleepy",
                "surprised", "sympathetic", "whispered")
IEMOCAP_STYLES = {"neu": "neutral", "hap": "happy", "sad": "sad", "ang": "angry", "exc": "excited",
                  "fru": "frustrated", "sur": "surprised", "fea": "fearful", "dis": "disgusted"}
ESD_STYLES = {"Angry": "angry", "Happy": "happy", "Neutral": "neutral", "Sad": "sad", "Surprise": "surprised"}
ESD_ENGLISH = tuple(f"{i:04d}" for i in range(11, 21))
ESD_SPLIT_DIRS = {"train": "train", "evaluation": "dev", "test": "test"}
EXPRESSO_STYLES = {"default": "neutral", "confused": "confused", "enunciated": "enunciated", "happy": "happy",
                   "laughing": "laughing", "sad": "sad", "whisper": "whispered", "angry": "angry", "awe": "awe",
                   "bored": "bored", "calm": "calm", "desire": "desire", "disgusted": "disgusted", "fast": "fast",
                   "fearful": "fearful", "projected": "projected", "sarcastic": "sarcastic", "sleepy": "sleepy",
                   "sympathetic": "sympathetic"}
_IEMOCAP_LINE = re.compile(r"^\[[\d.]+ - [\d.]+\]\t(\S+)\t(\S+)\t")


@dataclass(frozen=True)
class Item:
    utt: str
    spk: str
    path: str
    style: str
    split: str
    corpus: str


def _need(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: missing; is {what} set right in db.sh?")
    return path


def read_iemocap(root: Path) -> Tuple[List[Item], Dict[str, int]]:
    """Every labelled IEMOCAP utterance of the 9 classes, all in the training split (as the paper)."""
    _need(Path(root), "IEMOCAP")
    items, skipped = [], {}
    sessions = sorted(Path(root).glob("Session[1-5]"))
    if not sessions:
        raise FileNotFoundError(f"{root}: no Session1..Session5 directories (is IEMOCAP set right in db.sh?)")
    for session in sessions:
        for ev in sorted((session / "dialog/EmoEvaluation").glob("*.txt")):
            for line in ev.read_text(encoding="utf-8", errors="replace").splitlines():
                m = _IEMOCAP_LINE.match(line)
                if not m:
                    continue
                utt, label = m.groups()
                if label not in IEMOCAP_STYLES:
                    skipped[label] = skipped.get(label, 0) + 1
                    continue
                dialog = utt.rsplit("_", 1)[0]
                wav = session / "sentences/wav" / dialog / f"{utt}.wav"
                if not wav.is_file():
                    raise FileNotFoundError(f"{ev}: labels {utt}, but {wav} does not exist")
                spk = utt[:5] + utt.rsplit("_", 1)[1][0]  # Ses01 + F/M: the actor
                items.append(Item(f"iemocap_{utt}", f"iemocap_{spk}", str(wav), IEMOCAP_STYLES[label], "train",
                                  "iemocap"))
    return items, skipped


def read_esd(root: Path, speakers: Tuple[str, ...] = ESD_ENGLISH) -> Tuple[List[Item], Dict[str, int]]:
    """ESD's English speakers with the standard split."""
    _need(Path(root), "ESD")
    items, skipped = [], {}
    present = [s for s in speakers if (Path(root) / s).is_dir()]
    if not present:
        raise FileNotFoundError(f"{root}: none of the English speaker dirs {speakers[0]}..{speakers[-1]}")
    if len(present) < len(speakers):
        skipped["speaker dirs missing"] = len(speakers) - len(present)
    for spk in present:
        sd = Path(root) / spk
        for emo_dir in sorted(p for p in sd.iterdir() if p.is_dir()):
            if emo_dir.name not in ESD_STYLES:
                skipped[emo_dir.name] = skipped.get(emo_dir.name, 0) + 1
                continue
            for wav in sorted(emo_dir.rglob("*.wav")):
                sub = wav.parent.name
                if sub in ESD_SPLIT_DIRS:
                    split = ESD_SPLIT_DIRS[sub]
                else:
                    n = int(wav.stem.split("_")[-1])
                    k = (n - 1) % 350 + 1
                    split = "test" if k <= 20 else "dev" if k <= 50 else "train"
                items.append(Item(f"esd_{wav.stem}", f"esd_{spk}", str(wav), ESD_STYLES[emo_dir.name], split, "esd"))
    return items, skipped


def read_expresso(root: Path) -> Tuple[List[Item], Dict[str, int]]:
    """Expresso's read speech with its standard split lists."""
    read = _need(Path(root) / "audio_48khz/read", "EXPRESSO")
    split_of: Dict[str, str] = {}
    for split in ("train", "dev", "test"):
        lst = Path(root) / "splits" / f"{split}.txt"
        if not lst.is_file():
            raise FileNotFoundError(f"{lst}: missing (Expresso's standard split lists)")
        for line in lst.read_text(encoding="utf-8").split():
            split_of[Path(line).stem] = split
    items, skipped = [], {}
    for wav in sorted(read.glob("*/*/*/*.wav")):
        spk, style = wav.parts[-4], wav.parts[-3]
        if style not in EXPRESSO_STYLES:
            skipped[style] = skipped.get(style, 0) + 1
            continue
        split = split_of.get(wav.stem)
        if split is None:
            skipped["not in a split list"] = skipped.get("not in a split list", 0) + 1
            continue
        items.append(Item(f"expresso_{wav.stem}", f"expresso_{spk}", str(wav), EXPRESSO_STYLES[style], split,
                          "expresso"))
    return items, skipped


def audio_at_rate(src: str, dest: Path, fs: int = DEFAULT_FS) -> Tuple[str, float]:
    """(path, seconds) of ``src`` as ``fs`` mono: itself when it is, else ``dest``, written once
    (averaged to mono and resampled; a rerun reuses it)."""
    from tse2.utils.audio import audio_info, read_for_model
    from tse2.utils.fileio import write_wav

    rate, channels, frames = audio_info(src)
    if frames == 0:
        raise ValueError(f"{src}: contains no samples")
    path = Path(src).resolve()
    if (rate, channels) != (fs, 1):
        path = Path(dest).resolve()
        if not path.is_file():
            write_wav(path, read_for_model(src, fs, min_seconds=0.1), fs)
    return str(path), frames / rate


def write_sets(items: Iterable[Item], data_root: Path, resample_dir: Path, fs: int = DEFAULT_FS) -> Dict[str, int]:
    """``data/<split>/{wav.scp,utt2spk,spk2utt,utt2style,utt2corpus,utt2dur}``. Audio that is not
    ``fs`` mono (Expresso is 48 kHz) is averaged to mono and resampled once into ``resample_dir``
    (written atomically; a rerun reuses it)."""
    if fs != DEFAULT_FS:
        raise ValueError(f"the retrieval recipes run at {DEFAULT_FS} Hz, not {fs}")
    by_split: Dict[str, List[Item]] = {}
    for it in items:
        by_split.setdefault(it.split, []).append(it)
    counts = {}
    for split, rows in by_split.items():
        rows = sorted(rows, key=lambda r: r.utt)
        utts = [r.utt for r in rows]
        if len(set(utts)) != len(utts):
            raise ValueError(f"{split}: duplicate utterance ids")
        wav, dur = {}, {}
        for r in rows:
            path, seconds = audio_at_rate(r.path, Path(resample_dir) / r.spk / f"{r.utt}.wav", fs)
            wav[r.utt], dur[r.utt] = path, f"{seconds:.3f}"
        d = Path(data_root) / split
        utt2spk = {r.utt: r.spk for r in rows}
        write_map(d / "wav.scp", wav)
        write_map(d / "utt2spk", utt2spk)
        write_map(d / "spk2utt", spk2utt_from_utt2spk(utt2spk))
        write_map(d / "utt2style", {r.utt: r.style for r in rows})
        write_map(d / "utt2corpus", {r.utt: r.corpus for r in rows})
        write_map(d / "utt2dur", dur)
        counts[split] = len(rows)
    return counts


def shared_speakers(items: Iterable[Item]) -> List[str]:
    """The speakers found in more than one split (ESD and Expresso split by utterance, not speaker,
    as their standard splits do; the paper follows them, so this is reported, not refused)."""
    seen: Dict[str, set] = {}
    for it in items:
        seen.setdefault(it.spk, set()).add(it.split)
    return sorted(s for s, v in seen.items() if len(v) > 1)
