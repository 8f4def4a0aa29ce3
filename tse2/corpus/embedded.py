"""The embedded corpus: a small multilingual multi-speaker corpus synthesized offline.

Every speaker is an espeak-ng voice with its own language, gender, voice variant, age, pitch
level, pitch range, speaking rate and amplitude, drawn from the distributions below; every
utterance is one sentence of the recipe's per-language text list, spoken with a per-utterance
emotion (a prosody offset) and small jitter.  The synthesizer's word events give exact word
alignments (``words.ctm``), so later stages can test their aligners against ground truth.

Three steps, so synthesis can run as a JOB array (``local/data.sh``):

1. :func:`make_plan` draws speakers and utterances for every split and writes ``plan.jsonl``;
2. :func:`synthesize_plan` synthesizes a (split) plan file, one wav + alignment sidecar each,
   skipping utterances already synthesized from an identical plan line (restartable);
3. :func:`write_data_dirs` gathers the sidecars into Kaldi data dirs.

Determinism: a speaker's parameters depend only on (seed, speaker id); an utterance's only on
(seed, utterance id).  Changing ``scale`` adds speakers without changing existing ones.

Distributions (espeak-ng units; pitch and range 0..99, rate in words per minute, amplitude 0..200):

| parameter | distribution |
|---|---|
| age (years) | U{18..75} |
| pitch level | N(50, 12) clipped to [10, 90] on top of the voice variant's own register |
| pitch range | N(50, 15) clipped to [10, 95] |
| speaking rate | N(165, 22) − 0.5 · (age − 40), clipped to [110, 230]; ×1.2 for Mandarin syllables |
| amplitude | N(100, 15) clipped to [60, 150] |

Emotions (per utterance; probability, pitch +, range +, rate ×, amplitude ×):
neutral 0.55 (0, 0, 1, 1); happy 0.15 (+8, +15, 1.10, 1.10); sad 0.15 (−6, −15, 0.85, 0.80);
angry 0.15 (+4, +10, 1.15, 1.30).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tse2.utils.datadir import CtmWord, spk2utt_from_utt2spk, text_lines, write_ctm, write_map
from tse2.utils.fileio import atomic_open, read_jsonl, write_wav
from tse2.utils.audio import DEFAULT_FS

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class LangSpec:
    voice: str  # espeak-ng voice name
    rate_scale: float  # words/min multiplier (Mandarin: a "word" is one syllable)


LANGS: Dict[str, LangSpec] = {
    "en": LangSpec("en-us", 1.0),
    "fr": LangSpec("fr", 1.0),
    "de": LangSpec("de", 1.0),
    "es": LangSpec("es", 1.0),
    # The `cmn` voice reads Chinese characters as pinyin spelled out in English ("jin one");
    # `cmn-latn-pinyin` speaks tone-numbered pinyin correctly, so Chinese text goes through pypinyin.
    "zh": LangSpec("cmn-latn-pinyin", 1.2),
}
VARIANTS = {"f": tuple(f"f{i}" for i in range(1, 6)), "m": tuple(f"m{i}" for i in range(1, 8))}
EMOTIONS: Dict[str, Tuple[float, float, float, float, float]] = {
    # name: (probability, pitch offset, range offset, rate factor, amplitude factor)
    "neutral": (0.55, 0.0, 0.0, 1.00, 1.00),
    "happy": (0.15, 8.0, 15.0, 1.10, 1.10),
    "sad": (0.15, -6.0, -15.0, 0.85, 0.80),
    "angry": (0.15, 4.0, 10.0, 1.15, 1.30),
}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_PINYIN = re.compile(r"^[a-zü]+[1-5]$")
_CJK_PUNCT = {"，": ",", "。": ".", "？": "?", "！": "!", "、": ",", "；": ";", "：": ":"}


@dataclass(frozen=True)
class Speaker:
    spk: str
    split: str
    lang: str
    gender: str
    age: int
    variant: str
    pitch: float
    pitch_range: float
    rate: float
    volume: float


@dataclass(frozen=True)
class Utterance:
    utt: str
    spk: str
    split: str
    lang: str
    text: str
    emotion: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    volume: int

    def digest(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def read_sentences(sentence_dir: Path, langs: Sequence[str]) -> Dict[str, List[str]]:
    """Reads ``<lang>.txt`` (one sentence a line, ``#`` comments) for every language."""
    out = {}
    for lang in langs:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; the embedded corpus speaks {sorted(LANGS)}")
        path = Path(sentence_dir) / f"{lang}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: sentence list for language {lang!r} is missing")
        lines = [ln.strip() for _, ln in text_lines(path)]
        out[lang] = [ln for ln in lines if ln and not ln.startswith("#")]
        if not out[lang]:
            raise ValueError(f"{path}: no sentences")
    return out


def sample_speaker(seed: int, spk: str, split: str, lang: str, gender: str) -> Speaker:
    r = _rng(seed, spk)
    age = int(r.integers(18, 76))
    rate = float(np.clip(r.normal(165, 22) - 0.5 * (age - 40), 110, 230))
    return Speaker(
        spk=spk, split=split, lang=lang, gender=gender, age=age,
        variant=str(r.choice(VARIANTS[gender])),
        pitch=float(np.clip(r.normal(50, 12), 10, 90)),
        pitch_range=float(np.clip(r.normal(50, 15), 10, 95)),
        rate=rate,
        volume=float(np.clip(r.normal(100, 15), 60, 150)),
    )


def make_plan(
    sentences: Mapping[str, Sequence[str]],
    speakers_per_lang: Mapping[str, int],
    utts_per_speaker: int,
    seed: int = 0,
) -> Tuple[List[Speaker], List[Utterance]]:
    """Draws speakers (speaker-disjoint splits, genders alternating) and their utterances."""
    speakers: List[Speaker] = []
    utts: List[Utterance] = []
    emotions = list(EMOTIONS)
    probs = np.array([EMOTIONS[e][0] for e in emotions])
    for split in SPLITS:
        n = int(speakers_per_lang.get(split, 0))
        for lang, texts in sentences.items():
            if utts_per_speaker > len(texts):
                raise ValueError(
                    f"{lang}: {utts_per_speaker} utterances per speaker but only {len(texts)} sentences"
                )
            for i in range(n):
                gender = "f" if i % 2 == 0 else "m"
                spk = f"{lang}_{split}_{gender}{i:02d}"
                s = sample_speaker(seed, spk, split, lang, gender)
                speakers.append(s)
                r = _rng(seed, spk + "/sentences")
                for k in sorted(r.choice(len(texts), size=utts_per_speaker, replace=False).tolist()):
                    utt = f"{spk}_s{k:03d}"
                    u = _rng(seed, utt)
                    emo = str(u.choice(emotions, p=probs))
                    _, dp, dr, fr, fa = EMOTIONS[emo]
                    utts.append(Utterance(
                        utt=utt, spk=spk, split=split, lang=lang, text=texts[k], emotion=emo,
                        voice=f"{LANGS[lang].voice}+{s.variant}",
                        rate=int(np.clip(s.rate * fr * (1 + u.normal(0, 0.03)) * LANGS[lang].rate_scale, 80, 450)),
                        pitch=int(np.clip(round(s.pitch + dp + u.normal(0, 2)), 0, 99)),
                        pitch_range=int(np.clip(round(s.pitch_range + dr + u.normal(0, 3)), 0, 99)),
                        volume=int(np.clip(round(s.volume * fa), 20, 200)),
                    ))
    return speakers, utts


def write_plan(path: Path, speakers: Iterable[Speaker], utts: Iterable[Utterance]) -> None:
    with atomic_open(Path(path)) as f:
        for s in speakers:
            f.write(json.dumps({"speaker": asdict(s)}, ensure_ascii=False) + "\n")
        for u in utts:
            f.write(json.dumps({"utterance": asdict(u)}, ensure_ascii=False) + "\n")


def read_plan(path: Path) -> Tuple[List[Speaker], List[Utterance]]:
    speakers, utts = [], []
    for row in read_jsonl(path, "remake the corpus plan"):
        try:
            if "speaker" in row:
                speakers.append(Speaker(**row["speaker"]))
            elif "utterance" in row:
                utts.append(Utterance(**row["utterance"]))
            else:
                raise ValueError(f"{row.source}: neither a speaker nor an utterance")
        except TypeError as exc:  # a field missing or unknown
            raise ValueError(f"{row.source}: {exc}") from None
    return speakers, utts


def to_spoken_text(lang: str, text: str) -> Tuple[str, Optional[List[str]]]:
    """Returns (what espeak reads, display words or None).

    For Chinese the spoken text is tone-numbered pinyin, one syllable per character, and the
    display words are the characters, so a CTM word is the character the transcript shows.
    """
    if lang != "zh":
        return text, None
    from pypinyin import Style, lazy_pinyin

    chars = CJK.findall(text)
    syllables = []
    # Whole-sentence conversion lets pypinyin use its phrase dictionary (得 in 记得 is de5).
    for item in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True):
        if _PINYIN.match(item):
            syllables.append(item)
        else:
            syllables.extend(_CJK_PUNCT[ch] for ch in item if ch in _CJK_PUNCT)
    if sum(1 for s in syllables if _PINYIN.match(s)) != len(chars):
        raise ValueError(f"pinyin conversion lost characters of {text!r}")
    return " ".join(syllables).replace(" ,", ",").replace(" .", ".").replace(" ?", "?").replace(" !", "!"), chars


_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")


def render_digest(u: Utterance) -> str:
    """What a synthesized utterance's sidecar must hold: the plan line's digest, and for an MBROLA
    voice the version of its rendering (:data:`tse2.corpus.mbrola.MBROLA_RENDER`)."""
    if u.voice.startswith("mb-"):
        from tse2.corpus.mbrola import MBROLA_RENDER

        return f"{u.digest()}/{MBROLA_RENDER}"
    return u.digest()


def synthesize_plan(
    utts: Sequence[Utterance], wav_dir: Path, sample_rate: int = DEFAULT_FS, synth=None,
    voices_dir: Optional[Path] = None,
) -> int:
    """Synthesizes every utterance not yet done; returns how many were synthesized now.

    MBROLA voices (``mb-*``, :mod:`tse2.corpus.mbrola`) need ``voices_dir``, where ``make -C tools
    voices-mbrola`` put them; a voice ending in ``+whisper`` there is whisperized after synthesis.
    """
    from tse2.corpus.espeak import EspeakSynth
    from tse2.corpus.mbrola import MbrolaRenderer, mbrola_synth

    if synth is None:
        if any(u.voice.startswith("mb-") for u in utts):
            if voices_dir is None:
                raise ValueError("the plan has MBROLA voices (mb-*): give the voices dir (--voices_dir)")
            synth = mbrola_synth(voices_dir)
        else:
            synth = EspeakSynth()
    mbrola = MbrolaRenderer(synth, sample_rate)
    made = 0
    for u in utts:
        wav = Path(wav_dir) / u.spk / f"{u.utt}.wav"
        side = wav.with_suffix(".json")
        digest = render_digest(u)
        if wav.is_file() and side.is_file():
            try:
                if json.loads(side.read_text(encoding="utf-8")).get("plan_digest") == digest:
                    continue
            except json.JSONDecodeError:
                pass  # a damaged sidecar: synthesize again
        spoken, display = to_spoken_text(u.lang, u.text)
        if u.voice.startswith("mb-"):
            out = mbrola(u, spoken, seed=zlib.crc32(u.utt.encode("utf-8")))
        else:
            out = synth.synthesize(spoken, u.voice, rate=u.rate, pitch=u.pitch, pitch_range=u.pitch_range,
                                   volume=u.volume, sample_rate=sample_rate)
        words = []
        for w in out.words:
            token = _EDGE_PUNCT.sub("", w.word)
            if token:
                words.append([token, w.start, w.end])
        if display is not None:
            if len(display) != len(words):
                raise RuntimeError(
                    f"{u.utt}: espeak reported {len(words)} syllables for {len(display)} characters"
                )
            words = [[ch, s, e] for ch, (_, s, e) in zip(display, words)]
        peak = float(np.max(np.abs(out.audio))) if out.audio.size else 0.0
        if peak == 0.0 or not words:
            raise RuntimeError(f"{u.utt}: espeak produced no audible speech for {u.text!r}")
        write_wav(wav, out.audio, sample_rate)
        with atomic_open(side) as f:
            json.dump({"plan_digest": digest, "duration": len(out.audio) / sample_rate,
                       "sample_rate": sample_rate, "espeak_version": synth.version, "words": words},
                      f, ensure_ascii=False)
        made += 1
    return made


def write_data_dirs(
    speakers: Sequence[Speaker], utts: Sequence[Utterance], wav_dir: Path, data_root: Path
) -> Dict[str, Dict[str, float]]:
    """Writes one Kaldi data dir per split from the synthesized wavs and their sidecars.

    Returns per-split statistics (utterances, speakers, hours) for the corpus report.
    """
    by_spk = {s.spk: s for s in speakers}
    stats: Dict[str, Dict[str, float]] = {}
    for split in dict.fromkeys(list(SPLITS) + [u.split for u in utts]):  # e.g. test_real after test
        su = [u for u in utts if u.split == split]
        if not su:
            continue
        tables: Dict[str, Dict[str, str]] = {k: {} for k in ("wav.scp", "utt2spk", "text", "utt2lang", "utt2emotion", "utt2dur")}
        ctm: List[CtmWord] = []
        hours = 0.0
        for u in su:
            wav = (Path(wav_dir) / u.spk / f"{u.utt}.wav").resolve()
            side = wav.with_suffix(".json")
            if not side.is_file():
                raise FileNotFoundError(f"{side}: utterance {u.utt} was not synthesized (did a synthesis job fail?)")
            meta = json.loads(side.read_text(encoding="utf-8"))
            if meta.get("plan_digest") != render_digest(u):
                raise RuntimeError(f"{side}: synthesized from another plan; rerun the synthesis step")
            tables["wav.scp"][u.utt] = str(wav)
            tables["utt2spk"][u.utt] = u.spk
            tables["text"][u.utt] = u.text
            tables["utt2lang"][u.utt] = u.lang
            tables["utt2emotion"][u.utt] = u.emotion
            tables["utt2dur"][u.utt] = f"{meta['duration']:.3f}"
            hours += meta["duration"] / 3600
            ctm.extend(CtmWord(u.utt, s, round(e - s, 3), w) for w, s, e in meta["words"])
        d = Path(data_root) / split
        for name, table in tables.items():
            write_map(d / name, table)
        write_map(d / "spk2utt", spk2utt_from_utt2spk(tables["utt2spk"]))
        spks = sorted(set(tables["utt2spk"].values()))
        write_map(d / "spk2gender", {s: by_spk[s].gender for s in spks})
        write_map(d / "spk2age", {s: str(by_spk[s].age) for s in spks})
        write_ctm(d / "words.ctm", ctm)
        stats[split] = {"utterances": len(su), "speakers": len(spks), "hours": hours}
    return stats


def corpus_report(speakers: Sequence[Speaker], utts: Sequence[Utterance], stats: Mapping[str, Mapping[str, float]]) -> str:
    """A markdown summary: counts per split, language and gender; emotion counts; hours."""
    lines = ["# Embedded espeak-ng corpus", "", "| split | utterances | speakers | hours | per language (f/m speakers) |", "|---|---|---|---|---|"]
    for split, st in stats.items():
        per = []
        for lang in dict.fromkeys(list(LANGS) + [s.lang for s in speakers]):  # MBROLA voices speak more
            f = sum(1 for s in speakers if s.split == split and s.lang == lang and s.gender == "f")
            m = sum(1 for s in speakers if s.split == split and s.lang == lang and s.gender == "m")
            if f or m:
                per.append(f"{lang} {f}/{m}")
        lines.append(f"| {split} | {int(st['utterances'])} | {int(st['speakers'])} | {st['hours']:.3f} | {', '.join(per)} |")
    lines += ["", "| emotion or style | utterances |", "|---|---|"]
    extra = [e for e in dict.fromkeys(u.emotion for u in utts) if e not in EMOTIONS]  # the styles corpus
    for emo in list(EMOTIONS) + extra:
        lines.append(f"| {emo} | {sum(1 for u in utts if u.emotion == emo)} |")
    return "\n".join(lines) + "\n"
