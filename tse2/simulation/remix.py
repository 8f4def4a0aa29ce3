"""Soundscape mixtures for remixing: speech from the embedded espeak corpus, audio from the sound
bank (:mod:`tse2.corpus.sounds`), each source cut or padded to the mixture's length.

A mixture is drawn as a :class:`MixRecipe` (which files, where, how loud) and rendered from it, so
the same recipe always gives the same sources.  Training draws a fresh recipe for every example
(dynamic mixing, as the paper's instruction set is large and our bank is small); validation and
test sets are written once, as wavs.

Levels: the paper's text gives none, but the test manifests its authors published (LCR's
``test/.../prompts/test_*k.json``: ``snr1..4``) put every source within [-3, 3] dB, so each source
is scaled to unit RMS over its active part and then by U(-3, 3) dB; the whole mixture is scaled to
``rms_db`` dBFS, and further down if twice a source (a "volume up" target) could clip.  The paper's
mixtures last 5 s; ours 4 s (``length``), for the CPU.  Two speakers of one mixture always differ in gender or speaking style, two
audio sources in category, so that every source can be named (the paper's assumption, III-A).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tse2.simulation.remix_tasks import AUDIO, SPEECH, Source


@dataclass
class PoolItem:
    uid: str
    path: str
    kind: str
    speaker: str = ""
    gender: str = ""
    style: str = ""
    category: str = ""


@dataclass
class Pool:
    speech: List[PoolItem]
    audio: List[PoolItem]

    def categories(self) -> List[str]:
        return sorted({a.category for a in self.audio})


def load_pool(speech_dir: Optional[str], sound_dir: Optional[str], styles: Optional[Sequence[str]] = None) -> Pool:
    """Speech from a data dir with ``utt2spk``, ``spk2gender`` and ``utt2style`` (or ``utt2emotion``);
    audio from a sound-bank data dir with ``utt2category``.  Either may be None (no such sources)."""
    from tse2.utils.datadir import DataDirError, read_map

    speech: List[PoolItem] = []
    if speech_dir:
        d = Path(speech_dir)
        wav, utt2spk, spk2gender = read_map(d / "wav.scp"), read_map(d / "utt2spk"), read_map(d / "spk2gender")
        style_file = d / "utt2style" if (d / "utt2style").is_file() else d / "utt2emotion"
        utt2style = read_map(style_file)
        for uid in sorted(wav):
            if uid not in utt2spk or uid not in utt2style or utt2spk[uid] not in spk2gender:
                raise DataDirError(f"{d}: {uid} lacks its speaker, gender or style (utt2spk, spk2gender, {style_file.name})")
            if styles and utt2style[uid] not in styles:
                continue
            speech.append(PoolItem(uid, wav[uid], SPEECH, utt2spk[uid], spk2gender[utt2spk[uid]], utt2style[uid]))
        if not speech:
            raise DataDirError(f"{d}: no utterance of the styles {list(styles or [])}")
    audio: List[PoolItem] = []
    if sound_dir:
        d = Path(sound_dir)
        wav, cat = read_map(d / "wav.scp"), read_map(d / "utt2category")
        for uid in sorted(wav):
            if uid not in cat:
                raise DataDirError(f"{d}/utt2category: no category for {uid}")
            audio.append(PoolItem(uid, wav[uid], AUDIO, category=cat[uid].replace("_", " ")))
        if not audio:
            raise DataDirError(f"{d}: no sound")
    return Pool(speech, audio)


@dataclass
class SourceRecipe:
    uid: str
    path: str
    kind: str
    gender: str
    style: str
    category: str
    start: int  # first sample read from the file
    offset: int  # where it starts in the mixture
    n: int  # samples
    gain_db: float

    def source(self) -> Source:
        return Source(self.kind, self.gender, self.style, self.category)


@dataclass
class MixRecipe:
    mix_id: str
    length: int
    rms_db: float
    sources: List[SourceRecipe] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "MixRecipe":
        d = json.loads(text)
        return cls(d["mix_id"], d["length"], d["rms_db"], [SourceRecipe(**s) for s in d["sources"]])

    def described(self) -> List[Source]:
        return [s.source() for s in self.sources]


class AudioCache:
    """Source audio kept in memory as int16, read once per file."""

    def __init__(self, fs: int) -> None:
        self.fs, self._audio = fs, {}

    def get(self, path: str) -> np.ndarray:
        if path not in self._audio:
            from tse2.utils.audio import read_audio

            x, _ = read_audio(path, fs=self.fs)
            self._audio[path] = (np.clip(x, -1, 1) * 32767).astype(np.int16)
        return self._audio[path]

    def length(self, path: str) -> int:
        return len(self.get(path))


def _place(total: int, length: int, rng: np.random.Generator) -> Tuple[int, int, int]:
    """(start in the file, offset in the mixture, samples) of a ``total``-sample file in a
    ``length``-sample mixture: a random window of a longer file, a random position of a shorter."""
    if total >= length:
        return int(rng.integers(0, total - length + 1)), 0, length
    return 0, int(rng.integers(0, length - total + 1)), total


def draw_recipe(mix_id: str, pool: Pool, cache: AudioCache, rng: np.random.Generator, n_speech: int = 2,
                n_audio: int = 2, length: int = 64000, rms_db: float = -25.0,
                speech_spread_db: float = 3.0, audio_spread_db: float = 3.0) -> MixRecipe:
    """A random mixture of ``n_speech`` distinguishable speakers and ``n_audio`` categories."""
    if n_speech > 0 and len({s.speaker for s in pool.speech}) < n_speech:
        raise ValueError(f"the speech pool has fewer than {n_speech} speakers")
    if n_audio > len(pool.categories()):
        raise ValueError(f"the sound pool has {len(pool.categories())} categories, {n_audio} needed")
    chosen: List[PoolItem] = []
    for _ in range(1000):
        chosen = []
        for _k in range(n_speech):
            cand = pool.speech[int(rng.integers(len(pool.speech)))]
            if all(c.speaker != cand.speaker and (c.gender != cand.gender or c.style != cand.style) for c in chosen):
                chosen.append(cand)
        if len(chosen) == n_speech:
            break
    else:
        raise ValueError("cannot draw speakers that differ in gender or style")
    cats = pool.categories()
    for c in rng.choice(len(cats), size=n_audio, replace=False):
        items = [a for a in pool.audio if a.category == cats[int(c)]]
        chosen.append(items[int(rng.integers(len(items)))])
    recipe = MixRecipe(mix_id, length, rms_db)
    for k, item in enumerate(chosen):
        start, offset, n = _place(cache.length(item.path), length, rng)
        if item.kind == SPEECH:
            gain = float(rng.uniform(-speech_spread_db, speech_spread_db))
        else:
            gain = float(rng.uniform(-audio_spread_db, audio_spread_db))
        recipe.sources.append(SourceRecipe(item.uid, item.path, item.kind, item.gender, item.style, item.category,
                                           start, offset, n, round(gain, 2)))
    return recipe


def active_rms(x: np.ndarray, fs: int, floor_db: float = -40.0) -> float:
    """RMS over the 20 ms frames within ``floor_db`` of the loudest (the source's active part)."""
    hop = max(1, fs // 50)
    n = len(x) // hop
    if n == 0:
        return float(np.sqrt(np.mean(x ** 2) + 1e-12))
    e = np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12
    keep = e >= e.max() * 10 ** (floor_db / 10)
    return float(np.sqrt(e[keep].mean()))


def render(recipe: MixRecipe, cache: AudioCache, max_gain: float = 2.0) -> np.ndarray:
    """(N, T) float32 sources of the recipe; the mixture is their sum."""
    out = np.zeros((len(recipe.sources), recipe.length), dtype=np.float32)
    for k, s in enumerate(recipe.sources):
        x = cache.get(s.path)[s.start: s.start + s.n].astype(np.float32) / 32767
        x = x / max(active_rms(x, cache.fs), 1e-6) * 10 ** (s.gain_db / 20)
        out[k, s.offset: s.offset + len(x)] = x
    mix = out.sum(0)
    scale = 10 ** (recipe.rms_db / 20) / max(float(np.sqrt(np.mean(mix ** 2))), 1e-8)
    # no target of up to max_gain x every source may clip (|sum g_i s_i| <= max_gain sum |s_i|)
    scale = min(scale, 0.99 / max(max_gain * float(np.abs(out).sum(0).max()), 1e-8))
    return out * scale


def write_set(out_dir: str, wav_dir: str, pool: Pool, fs: int, num: int, seed: int, n_speech: int = 2,
              n_audio: int = 2, length: float = 4.0, prefix: str = "mix", tasks: Optional[Sequence[str]] = None,
              write_sources: bool = True, absent: bool = False) -> Dict[str, int]:
    """A fixed remix set: every mixture's recipe, one instruction (the tasks the composition allows
    in turn, so each has the same count), its prompt in training words, in held-out words and in the
    hand-written sentences, and the wavs of the mixture, the target and (``write_sources``) each
    source.  Data dir files:

    ``wav.scp`` (mixture), ``spk1.scp`` (target), ``src<k>.scp``, ``prompt``, ``prompt_heldout``, ``prompt_handwritten``,
    ``task``, ``gains``, ``recipe`` (the JSON recipe), ``utt2num_samples``.
    Mixtures whose wavs exist are not rewritten (a rerun completes an interrupted one).

    ``absent``: every prompt names a source the mixture lacks (the tasks of
    :data:`tse2.simulation.remix_tasks.ABSENT_TASKS` in turn; a missing speaker gender every third cycle where
    the speakers share one, else a missing sound category of the pool)."""
    from tse2.simulation.remix_tasks import (ABSENT_TASKS, absent_instruction, absent_source, available_tasks,
                                             handwritten_prompt, remix_target, sample_instruction, write_prompt)
    from tse2.simulation.mixing import mixture_rng
    from tse2.utils.datadir import write_map
    from tse2.utils.fileio import write_wav

    cache = AudioCache(fs)
    tables: Dict[str, Dict[str, str]] = {}
    counts: Dict[str, int] = {}
    n_src = n_speech + n_audio
    for i in range(num):
        mix_id = f"{prefix}{i:05d}"
        rng = mixture_rng(seed, mix_id)
        recipe = draw_recipe(mix_id, pool, cache, rng, n_speech, n_audio, int(round(length * fs)))
        allowed = [t for t in available_tasks([s.kind for s in recipe.sources]) if not tasks or t in tasks]
        if not allowed:
            raise ValueError(f"none of the tasks {list(tasks or [])} exists for {n_speech} speech + {n_audio} audio")
        held = np.random.default_rng([seed, i, 7])
        hand = np.random.default_rng([seed, i, 11])
        if absent:
            kind = SPEECH if (i // len(ABSENT_TASKS)) % 3 == 2 else AUDIO
            missing = absent_source(recipe.described(), rng, pool.categories(), kind)
            if missing is None:
                raise ValueError(f"{mix_id}: the pool has no sound category or speaker gender this mixture lacks")
            task = ABSENT_TASKS[i % len(ABSENT_TASKS)]
            ins = absent_instruction(recipe.described(), missing, rng, task)
            prompt_heldout = absent_instruction(recipe.described(), missing, held, task, held_out=True).prompt
            prompt_hand = absent_instruction(recipe.described(), missing, hand, task, handwritten=True).prompt
        else:
            ins = sample_instruction(recipe.described(), rng, task=allowed[i % len(allowed)])  # balanced tasks
            prompt_heldout = write_prompt(ins.task, ins.gains, recipe.described(), held, held_out=True)
            prompt_hand = handwritten_prompt(ins.task, ins.gains, recipe.described(), hand)
        d = Path(wav_dir) / mix_id
        paths = {"wav.scp": d / "mix.wav", "spk1.scp": d / "target.wav"}
        if write_sources:
            paths.update({f"src{k + 1}.scp": d / f"s{k + 1}.wav" for k in range(n_src)})
        if not all(p.is_file() for p in paths.values()):
            src = render(recipe, cache)
            # quantize the sources first: the mixture and target are then exact sums of what is on disk
            src = np.round(np.clip(src, -1, 1 - 2 ** -15) * 32768) / 32768  # soundfile PCM_16 steps
            if write_sources:
                for k in range(n_src):
                    write_wav(d / f"s{k + 1}.wav", src[k], fs)
            write_wav(d / "target.wav", remix_target(src, ins.gains), fs)
            write_wav(d / "mix.wav", src.sum(0), fs)
        for name, p in paths.items():
            tables.setdefault(name, {})[mix_id] = str(p.resolve())
        tables.setdefault("prompt", {})[mix_id] = ins.prompt
        tables.setdefault("prompt_heldout", {})[mix_id] = prompt_heldout
        tables.setdefault("prompt_handwritten", {})[mix_id] = prompt_hand
        tables.setdefault("task", {})[mix_id] = ins.task
        tables.setdefault("gains", {})[mix_id] = " ".join(f"{g:g}" for g in ins.gains)
        tables.setdefault("recipe", {})[mix_id] = recipe.to_json()
        tables.setdefault("utt2num_samples", {})[mix_id] = str(recipe.length)
        counts[ins.task] = counts.get(ins.task, 0) + 1
    for name, mapping in tables.items():
        write_map(Path(out_dir) / name, mapping)
    return counts


def write_slots(out_dir: str, num: int, length: int, n_speech: int = 2, n_audio: int = 2, prefix: str = "dyn") -> None:
    """A training "set" for dynamic mixing: ``num`` slots, each a fresh mixture of the given
    composition every time it is read (``recipe`` holds the composition, ``utt2num_samples`` the length)."""
    from tse2.utils.datadir import write_map

    comp = json.dumps({"n_speech": n_speech, "n_audio": n_audio, "length": length}, separators=(",", ":"))
    ids = [f"{prefix}{i:06d}" for i in range(num)]
    write_map(Path(out_dir) / "recipe", {i: comp for i in ids})
    write_map(Path(out_dir) / "utt2num_samples", {i: str(length) for i in ids})
