"""The embedded sound bank of the remix recipe: real recorded sound effects and music that Debian
packages ship as data, curated into categories a person would name.

Every clip below was chosen from its package's own description of it: the OpenSFX catalogue names
each sample ("Steam train station departure", "Tropical: Bird (1)", with author and licence), and
LinCity-NG names its ambience loops by what they accompany (``Water3.wav``, ``Fire1.wav``).  The
LinCity-NG loops whose names do not say what is heard (``Health*``, ``School*``, ``Shanty*``...)
were looked at as spectrograms and left out; ``School*`` holds children's voices, which would be
speech in an audio slot.  The table is the one reviewed list: a category's words for the prompts,
its clips, and whether it is held out of training (the zero-shot "unseen category" row).

| package | licence | what it gives |
|---|---|---|
| ``lincity-ng-data`` | GPL-2+ / CC-BY-SA 2.0 (sound effects dual-licensed) | 4 s ambience loops, 3 music tracks |
| ``openttd-opensfx`` | CC-BY 3.0 / CC0 / CC-BY-SA 3.0 per sample (named in the catalogue) | vehicles, animals, crowds |
| ``sound-theme-freedesktop`` | CC-BY-SA 3.0 / CC-BY 3.0 / GPL-2+ | phone and alarm rings |
| ``oxygen-sounds`` | LGPL-3+ | a phone ring |

``tools/installers/install_apt.sh`` installs the four packages (about 60 MB).  Each package's
``/usr/share/doc/<package>/copyright`` has the full terms; OpenSFX's per-sample credits are in its
``opensfx.cat`` and are copied into the bank's ``utt2credit``.

Splits are clip-disjoint: within a category the clips are sorted, the first goes to ``test``, the
second to ``valid`` and the rest to ``train``; a long clip (the music tracks) is cut into
segments that all stay in its clip's split.  Held-out categories go to ``unseen`` only.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tse2.utils.audio import resample

LINCITY = "lincity-ng-data"
OPENSFX = "openttd-opensfx"
FREEDESKTOP = "sound-theme-freedesktop"
OXYGEN = "oxygen-sounds"

PACKAGE_ROOTS = {
    LINCITY: "usr/share/games/lincity-ng",
    OPENSFX: "usr/share/games/openttd/baseset/opensfx",
    FREEDESKTOP: "usr/share/sounds/freedesktop/stereo",
    OXYGEN: "usr/share/sounds",
}
LICENCES = {
    LINCITY: "GPL-2+ or CC-BY-SA-2.0 (the sound effects and music are dual-licensed)",
    OPENSFX: "per sample: CC-BY-3.0, CC0-1.0 or CC-BY-SA-3.0 (see utt2credit)",
    FREEDESKTOP: "CC-BY-SA-3.0, CC-BY-3.0 or GPL-2+",
    OXYGEN: "LGPL-3.0-or-later",
}
SPLITS = ("train", "valid", "test", "unseen")


@dataclass(frozen=True)
class Clip:
    """One recording: ``member`` is a path under the package's root, or ``sfx:<n>`` for the n-th
    sample of OpenSFX's ``opensfx.cat``."""

    package: str
    member: str

    @property
    def name(self) -> str:
        stem = self.member.split(":")[-1] if self.member.startswith("sfx:") else Path(self.member).stem
        return f"{self.package.split('-')[0]}-{stem}".replace(" ", "_").lower()


@dataclass(frozen=True)
class SoundCategory:
    """A category: its name, the words prompts use for it (``words``: training; ``held_out``: only
    in test prompts), its clips, and ``unseen`` when it is kept out of training altogether."""

    name: str
    words: Tuple[str, ...]
    held_out: Tuple[str, ...]
    clips: Tuple[Clip, ...]
    unseen: bool = False


def _lc(*names: str) -> Tuple[Clip, ...]:
    return tuple(Clip(LINCITY, f"sounds/{n}.wav") for n in names)


def _sfx(*numbers: int) -> Tuple[Clip, ...]:
    return tuple(Clip(OPENSFX, f"sfx:{n}") for n in numbers)


CATEGORIES: Tuple[SoundCategory, ...] = (
    SoundCategory("birds", ("the birds", "the birdsong", "the chirping birds", "the tweeting"),
                  ("the songbirds",), _lc("Green1", "Green2", "Green3", "Green4") + _sfx(66, 72)),
    SoundCategory("water", ("the water", "the flowing water", "the splashing water", "the stream"),
                  ("the babbling brook",), _lc("Water1", "Water2", "Water3", "Water4", "Water5",
                                                "ParklandLake1", "ParklandLake2")),
    SoundCategory("fire", ("the fire", "the crackling fire", "the flames", "the burning"),
                  ("the blaze",), _lc("Fire1", "Fire2", "Fire3", "FireWasteland1")),
    SoundCategory("train", ("the train", "the railway", "the locomotive", "the passing train"),
                  ("the rail car",), _lc("RailTrain1", "RailTrain2", "RailTrain3") + _sfx(4, 5, 10, 65, 71)),
    SoundCategory("traffic", ("the traffic", "the cars", "the road noise", "the street traffic"),
                  ("the rush hour",), _lc("TraficHigh1", "TraficHigh2", "TraficHigh3",
                                            "TraficLow1", "TraficLow2", "TraficLow3")),
    SoundCategory("engine", ("the engine", "the motor", "the bus engine", "the truck starting"),
                  ("the revving",), _sfx(25, 27, 28)),
    SoundCategory("crowd", ("the crowd", "the cheering", "the applause", "the audience"),
                  ("the spectators",), _lc("SportsCroud1", "SportsCroud2", "SportsCroud3") + _sfx(29)),
    SoundCategory("hammering", ("the hammering", "the hammer", "the banging on metal", "the blacksmith"),
                  ("the anvil",), _lc("Blacksmith1", "Blacksmith2", "Blacksmith3") + _sfx(39)),
    SoundCategory("airplane", ("the airplane", "the plane", "the jet", "the aircraft"),
                  ("the plane taking off",), _sfx(8, 9, 59, 61, 69, 70)),
    SoundCategory("explosion", ("the explosion", "the blast", "the crash", "the bang"),
                  ("the detonation",), _lc("RocketExplosion1") + _sfx(17, 18, 19)),
    SoundCategory("music", ("the music", "the song", "the melody", "the background music"),
                  ("the tune",), (Clip(LINCITY, "music/default/01 - pronobozo - lincity.ogg"),
                                  Clip(LINCITY, "music/default/02 - Robert van Herk - City Blues.ogg"),
                                  Clip(LINCITY, "music/default/03 - Robert van Herk - Architectural Contemplations.ogg"))),
    SoundCategory("ringing", ("the ringing", "the phone", "the ringing phone", "the alarm"),
                  ("the ringtone",), (Clip(FREEDESKTOP, "phone-incoming-call.oga"),
                                      Clip(FREEDESKTOP, "alarm-clock-elapsed.oga"),
                                      Clip(FREEDESKTOP, "phone-outgoing-calling.oga"),
                                      Clip(OXYGEN, "Oxygen-Im-Phone-Ring.ogg")) + _sfx(14)),
    SoundCategory("farm animals", ("the farm animals", "the animals", "the cow", "the livestock"),
                  ("the barnyard",), _lc("Farm1", "Farm2", "Farm3") + _sfx(36, 37, 38)),
    SoundCategory("rocket", ("the rocket", "the rocket launch", "the roaring rocket", "the liftoff"),
                  ("the spacecraft",), _lc("Rocket1", "Rocket2", "Rocket3", "Rocket4", "RocketTakeoff1")),
    # held out of training: the zero-shot "unseen category" row of Table III
    SoundCategory("wild animals", ("the wild animals", "the lion", "the monkeys", "the jungle animals"),
                  (), _sfx(67, 68), unseen=True),
    SoundCategory("power tools", ("the power tools", "the chainsaw", "the saw", "the jackhammer"),
                  (), _sfx(33, 40, 56), unseen=True),
    SoundCategory("horn", ("the horn", "the ship horn", "the whistle", "the honking"),
                  (), _sfx(3, 6, 7, 35), unseen=True),
)


def categories(names: Optional[Sequence[str]] = None) -> Tuple[SoundCategory, ...]:
    if not names:
        return CATEGORIES
    by_name = {c.name: c for c in CATEGORIES}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown sound categories {unknown}; known: {sorted(by_name)}")
    return tuple(by_name[n] for n in names)


def category_words(category: str, held_out: bool = False) -> Tuple[str, ...]:
    """The words prompts use for ``category`` (with ``held_out``: the test-only ones too; a category
    with none uses its training words).  A category outside the table (an open-vocabulary corpus
    label such as VGGSound's "dog barking") is named by its label."""
    by_name = {c.name: c for c in CATEGORIES}
    if category not in by_name:
        label = category.replace("_", " ").strip()
        if not label:
            raise ValueError("an empty sound category has no words")
        return (f"the sound of {label}",) if held_out else (f"the {label}", f"the {label} sound", f"the {label} noise")
    c = by_name[category]
    return (c.held_out or c.words) if held_out else c.words


class SoundBankError(ValueError):
    """A package of the sound bank is not installed, or one of its clips is missing or unreadable."""


def read_opensfx(path: Path) -> List[Tuple[str, bytes]]:
    """The (description, WAV bytes) samples of OpenSFX's ``opensfx.cat``: a table of (offset, size)
    pairs, then per sample a length-prefixed NUL-terminated name followed by a RIFF file.  Read
    here because no library reads OpenTTD's container."""
    data = path.read_bytes()
    if len(data) < 8:
        raise SoundBankError(f"{path}: too short for an OpenTTD sound catalogue")
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    out = []
    for k in range(count):
        off, size = struct.unpack_from("<II", data, 8 * k)
        off &= 0x7FFFFFFF
        if off + size > len(data) or size < 1:
            raise SoundBankError(f"{path}: sample {k} lies outside the file (corrupt catalogue)")
        n = data[off]
        name = data[off + 1: off + 1 + n].rstrip(b"\0").decode("latin-1")
        out.append((name, data[off + 1 + n: off + size]))
    return out


@dataclass
class ClipAudio:
    clip: Clip
    audio: np.ndarray
    credit: str = ""


_SFX_CATALOGUES: Dict[str, List[Tuple[str, bytes]]] = {}  # opensfx.cat read once per process


def load_clip(clip: Clip, fs: int, root: str = "/") -> ClipAudio:
    """The clip as mono float32 at ``fs`` Hz, leading and trailing near-silence trimmed."""
    import soundfile as sf

    base = Path(root) / PACKAGE_ROOTS[clip.package]
    credit = ""
    try:
        if clip.member.startswith("sfx:"):
            cat = base / "opensfx.cat"
            if not cat.is_file():
                raise SoundBankError(f"{cat}: missing; install the Debian package {clip.package}")
            key = str(cat)
            if key not in _SFX_CATALOGUES:
                _SFX_CATALOGUES[key] = read_opensfx(cat)
            credit, wav = _SFX_CATALOGUES[key][int(clip.member[4:])]
            audio, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
        else:
            path = base / clip.member
            if not path.is_file():
                raise SoundBankError(f"{path}: missing; install the Debian package {clip.package}")
            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except SoundBankError:
        raise
    except Exception as exc:
        raise SoundBankError(f"{clip.package}:{clip.member}: unreadable ({exc})") from None
    audio = resample(audio.mean(axis=1), int(rate), fs)
    return ClipAudio(clip, trim(audio, fs), credit)


def trim(audio: np.ndarray, fs: int, floor_db: float = -40.0) -> np.ndarray:
    """Cuts leading and trailing 20 ms frames quieter than ``floor_db`` below the loudest one."""
    hop = max(1, fs // 50)
    n = len(audio) // hop
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    return audio[loud[0] * hop: (loud[-1] + 1) * hop]


def split_of(category: SoundCategory, clip: Clip) -> str:
    if category.unseen:
        return "unseen"
    order = sorted(category.clips, key=lambda c: (c.package, c.member))
    i = order.index(clip)
    return "test" if i == 0 else "valid" if i == 1 else "train"


@dataclass
class BankItem:
    uid: str
    category: str
    split: str
    audio: np.ndarray
    credit: str
    source: str = field(default="")


def iter_bank(fs: int, segment: float = 4.0, max_segments: int = 24, root: str = "/",
              names: Optional[Sequence[str]] = None) -> Iterator[BankItem]:
    """Every bank item: clips longer than 1.5 ``segment`` are cut into ``segment``-second pieces
    (at most ``max_segments`` per clip, evenly spread), the others are kept whole."""
    for cat in categories(names):
        if len(cat.clips) < (1 if cat.unseen else 3):
            raise SoundBankError(f"category {cat.name!r} needs 3 clips for clip-disjoint splits")
        for clip in cat.clips:
            item = load_clip(clip, fs, root)
            split = split_of(cat, clip)
            seg = int(segment * fs)
            prefix = cat.name.replace(" ", "_")
            source = f"{clip.package}:{clip.member}"
            if len(item.audio) <= 1.5 * seg:
                yield BankItem(f"{prefix}-{clip.name}", cat.name, split, item.audio, item.credit, source)
                continue
            n = len(item.audio) // seg
            picks = np.unique(np.linspace(0, n - 1, min(n, max_segments)).round().astype(int))
            for k in picks:
                yield BankItem(f"{prefix}-{clip.name}-{k:03d}", cat.name, split,
                               item.audio[k * seg: (k + 1) * seg], item.credit, source)


def write_bank(out_dir: str, data_root: str, fs: int, segment: float = 4.0, root: str = "/",
               prefix: str = "sounds") -> Dict[str, int]:
    """Writes the bank's wavs under ``out_dir`` and the data dirs ``<data_root>/<prefix>_<split>``
    (``wav.scp``, ``utt2category``, ``utt2spk`` and ``spk2utt`` with the category as speaker,
    ``utt2dur``, ``utt2source``, ``utt2credit``; category names with "_" for spaces); returns the
    item count per split.  Files are written atomically, so a rerun redoes only what is missing."""
    from tse2.utils.datadir import spk2utt_from_utt2spk, write_map
    from tse2.utils.fileio import write_wav

    tables: Dict[str, Dict[str, Dict[str, str]]] = {s: {} for s in SPLITS}
    for item in iter_bank(fs, segment, root=root):
        wav = Path(out_dir) / item.split / f"{item.uid}.wav"
        if not wav.is_file():
            peak = float(np.max(np.abs(item.audio))) or 1.0
            write_wav(wav, item.audio * (0.9 / peak), fs)
        t = tables[item.split]
        t.setdefault("wav.scp", {})[item.uid] = str(wav.resolve())
        t.setdefault("utt2category", {})[item.uid] = item.category.replace(" ", "_")
        t.setdefault("utt2spk", {})[item.uid] = item.category.replace(" ", "_")  # a Kaldi data dir: category = "speaker"
        t.setdefault("utt2dur", {})[item.uid] = f"{len(item.audio) / fs:.3f}"
        t.setdefault("utt2source", {})[item.uid] = item.source.replace(" ", "_")
        t.setdefault("utt2credit", {})[item.uid] = item.credit or LICENCES[item.source.split(":")[0]]
    counts = {}
    for split, files in tables.items():
        d = Path(data_root) / f"{prefix}_{split}"
        for name, mapping in files.items():
            write_map(d / name, mapping)
        if files:
            write_map(d / "spk2utt", spk2utt_from_utt2spk(files["utt2spk"]))
        counts[split] = len(files.get("wav.scp", {}))
    return counts


def bank_report(counts: Dict[str, int]) -> str:
    """The category table in Markdown (for the recipe's corpus report)."""
    lines = ["| category | words (training) | held-out words | clips | split |", "|---|---|---|---|---|"]
    for c in CATEGORIES:
        lines.append(f"| {c.name} | {', '.join(c.words)} | {', '.join(c.held_out) or '-'} | {len(c.clips)} | "
                     f"{'unseen (zero-shot only)' if c.unseen else 'train / valid / test'} |")
    lines.append("")
    lines.append("Items per split: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    return "\n".join(lines) + "\n"
