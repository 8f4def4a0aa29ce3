"""Two-speaker reverberant mixtures: pairing, the paper's overlap rule, SIR scaling, target choice.

One mixture is a pure function of (seed, mixture id) and the inputs (utterance list, stage-2
attributes, RIR bank): :func:`plan_mixture` draws everything with a generator seeded by both, so
a mixture regenerated alone, or by a job of another ``nj``, is bit-identical.

Overlap rule (paper IV-A(2)), applied to the silence-trimmed signals (stage-2 trim points), each
first cropped to ``max_len`` (6 s; the rule's 6 s total presumes it):

- if either signal is shorter than ``short`` (3 s): the overlap is the shorter signal; it is
  zero-padded at the start by an offset drawn uniformly from [0, len_long − len_short]; the
  mixture is as long as the longer signal;
- otherwise the overlap is len1 + len2 − 6 s: S1 starts at 0 and S2 at 6 s − len2; the mixture is
  6 s long.

SIR: the reverberant S2 is kept and S1 is scaled so that the ratio of their active-speech powers
(RMS over their stage-2 segments, shifted into the mixture) is the drawn SIR ∈ U(−6, 6) dB.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
from scipy.signal import fftconvolve

from tse2.attributes.energy import active_rms_db
from tse2.attributes.segments import speaking_duration
from tse2.utils.audio import DEFAULT_FS
from tse2.utils.datadir import read_map, read_map_if_present

# optional per-utterance / per-speaker metadata of a clean data dir, carried into mixtures.jsonl
METADATA_FILES = ("utt2lang", "text", "utt2emotion", "spk2gender", "spk2age")
# stage-2 attributes carried into the metadata (speaking duration and RMS are measured in the mixture)
ATTRIBUTE_KEYS = ("f0_mean", "f0_span", "speaking_rate", "syllables", "duration")


@dataclass(frozen=True)
class MixConfig:
    fs: int = DEFAULT_FS
    short: float = 3.0  # s: below this, the "shorter signal" branch of the overlap rule
    max_len: float = 6.0  # s: sources are cropped to this; the mixture of two long ones is this long
    sir_range: Tuple[float, float] = (-6.0, 6.0)  # dB
    peak: float = 0.9  # mixtures whose peak exceeds this are scaled down (SIR unchanged)


@dataclass(frozen=True)
class MixturePlan:
    mix: str
    utt1: str
    utt2: str
    target: int  # 1 or 2
    sir_db: float
    bank_id: int  # room of both speakers (sources 0 and 1 of that bank entry)
    enroll_utt: str  # another utterance of the target speaker
    enroll_bank_id: int  # room of the enrollment (its source 2)
    offset1: int  # samples
    offset2: int
    len1: int  # samples after trimming and cropping
    len2: int
    length: int  # samples of the mixture


def mixture_rng(seed: int, mix: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(mix.encode("utf-8"))])


def trimmed_span(attrs: Mapping, fs: int, max_len: float) -> Tuple[int, int]:
    """(first sample, number of samples) of an utterance after trimming and cropping."""
    dur = int(round(attrs["duration"] * fs))
    start = int(round((attrs.get("speech_start") or 0.0) * fs))
    end = int(round(attrs["speech_end"] * fs)) if attrs.get("speech_end") is not None else dur
    start, end = max(0, min(start, dur)), max(0, min(end, dur))
    n = min(end - start, int(round(max_len * fs)))
    if n <= 0:
        raise ValueError(f"utterance {attrs.get('utt')} has no speech to mix (trim points {start}..{end})")
    return start, n


def overlap_layout(len1: int, len2: int, fs: int, rng: np.random.Generator, cfg: MixConfig = MixConfig()) -> Tuple[int, int, int]:
    """(offset1, offset2, mixture length) in samples by the paper's rule (module doc)."""
    short, total = int(round(cfg.short * fs)), int(round(cfg.max_len * fs))
    if min(len1, len2) < short:
        gap = abs(len1 - len2)
        offset = int(rng.integers(0, gap + 1))
        if len1 <= len2:
            return offset, 0, len2
        return 0, offset, len1
    if max(len1, len2) > total:
        raise ValueError(f"sources of {len1} and {len2} samples exceed max_len ({total}); crop them first")
    return 0, total - len2, total


def plan_mixture(
    seed: int, mix: str, utts: Sequence[str], utt2spk: Mapping[str, str], spk2utts: Mapping[str, Sequence[str]],
    attrs: Mapping[str, Mapping], bank_size: int, cfg: MixConfig = MixConfig(),
) -> MixturePlan:
    """Draws the pair, room, SIR, target, enrollment and layout of one mixture."""
    return draw_plan(mixture_rng(seed, mix), mix, utts, utt2spk, spk2utts, attrs, bank_size, cfg)


def draw_plan(
    rng: np.random.Generator, mix: str, utts: Sequence[str], utt2spk: Mapping[str, str],
    spk2utts: Mapping[str, Sequence[str]], attrs: Mapping[str, Mapping], bank_size: int, cfg: MixConfig = MixConfig(),
) -> MixturePlan:
    """:func:`plan_mixture` with the generator given (dynamic mixing seeds it its own way)."""
    utt1 = utts[int(rng.integers(len(utts)))]
    others = [u for u in utts if utt2spk[u] != utt2spk[utt1]]
    if not others:
        raise ValueError("mixtures need at least two speakers in the split")
    utt2 = others[int(rng.integers(len(others)))]
    target = int(rng.integers(1, 3))
    sir = float(rng.uniform(*cfg.sir_range))
    bank_id = int(rng.integers(bank_size))
    tgt_utt = utt1 if target == 1 else utt2
    enroll_choices = [u for u in spk2utts[utt2spk[tgt_utt]] if u != tgt_utt]
    if not enroll_choices:
        raise ValueError(f"speaker {utt2spk[tgt_utt]} has a single utterance: no enrollment possible")
    enroll = enroll_choices[int(rng.integers(len(enroll_choices)))]
    enroll_bank = int(rng.integers(bank_size))
    (_, len1), (_, len2) = trimmed_span(attrs[utt1], cfg.fs, cfg.max_len), trimmed_span(attrs[utt2], cfg.fs, cfg.max_len)
    off1, off2, length = overlap_layout(len1, len2, cfg.fs, rng, cfg)
    return MixturePlan(mix, utt1, utt2, target, sir, bank_id, enroll, enroll_bank, off1, off2, len1, len2, length)


def _shifted_segments(attrs: Mapping, start: int, n: int, offset: int, fs: int) -> List[Tuple[float, float]]:
    """The utterance's speech segments moved to where the trimmed signal sits in the mixture."""
    out = []
    lo, hi = offset / fs, (offset + n) / fs
    for s, e in attrs.get("segments") or []:
        s2, e2 = s - start / fs + offset / fs, e - start / fs + offset / fs
        s2, e2 = max(s2, lo), min(e2, hi)
        if e2 > s2:
            out.append((s2, e2))
    return out or [(lo, hi)]


def reverberate(signal: np.ndarray, rir: np.ndarray, length: int) -> np.ndarray:
    return fftconvolve(signal, rir)[:length].astype(np.float64)


def render_enrollment(plan: MixturePlan, audio: Mapping[str, np.ndarray], attrs: Mapping[str, Mapping],
                      bank_rirs: Mapping[int, np.ndarray], cfg: MixConfig = MixConfig()) -> np.ndarray:
    """The target's other utterance, cropped or zero-padded to the mixture length, in its own room."""
    e_start, e_n = trimmed_span(attrs[plan.enroll_utt], cfg.fs, cfg.max_len)
    enroll = np.zeros(plan.length)
    n = min(e_n, plan.length)
    seg = audio[plan.enroll_utt][e_start: e_start + n]
    enroll[: len(seg)] = seg
    enroll = reverberate(enroll, bank_rirs[plan.enroll_bank_id][2], plan.length)
    return enroll * min(1.0, cfg.peak / max(float(np.max(np.abs(enroll))), 1e-9))


@dataclass
class Mixture:
    mixture: np.ndarray
    sources: Tuple[np.ndarray, np.ndarray]  # reverberant, scaled, as in the mixture
    enrollment: np.ndarray
    meta: Dict


def render_mixture(
    plan: MixturePlan, audio: Mapping[str, np.ndarray], attrs: Mapping[str, Mapping],
    bank_rirs: Mapping[int, np.ndarray], cfg: MixConfig = MixConfig(), enrollment: bool = True,
) -> Mixture:
    """Builds the signals of a planned mixture.  ``bank_rirs[k]`` is bank entry k, shape (3, T).

    ``enrollment=False`` skips the enrollment signal (``Mixture.enrollment`` is then empty): a
    separator's training mixtures do not need it."""
    fs = cfg.fs
    placed, segs, spans = [], [], []
    for utt, off, n in ((plan.utt1, plan.offset1, plan.len1), (plan.utt2, plan.offset2, plan.len2)):
        start, _ = trimmed_span(attrs[utt], fs, cfg.max_len)
        x = np.zeros(plan.length, dtype=np.float64)
        seg = audio[utt][start: start + n]  # attributes round the duration: the file may be a sample shorter
        x[off: off + len(seg)] = seg
        placed.append(x)
        segs.append(_shifted_segments(attrs[utt], start, n, off, fs))
        spans.append(start)
    rirs = bank_rirs[plan.bank_id]
    rev1, rev2 = reverberate(placed[0], rirs[0], plan.length), reverberate(placed[1], rirs[1], plan.length)
    p1, p2 = active_rms_db(rev1, fs, segs[0]), active_rms_db(rev2, fs, segs[1])
    if p1 is None or p2 is None:
        raise ValueError(f"{plan.mix}: a source is silent after reverberation")
    rev1 = rev1 * 10 ** ((p2 + plan.sir_db - p1) / 20)
    mixture = rev1 + rev2
    gain = min(1.0, cfg.peak / max(float(np.max(np.abs(mixture))), 1e-9))
    rev1, rev2, mixture = rev1 * gain, rev2 * gain, mixture * gain

    tgt = plan.utt1 if plan.target == 1 else plan.utt2
    enroll = render_enrollment(plan, audio, attrs, bank_rirs, cfg) if enrollment else np.zeros(0)

    def side(k: int, utt: str, rev: np.ndarray, off: int, n: int, seg) -> Dict:
        # speaking duration of what the mixture holds (equal to stage 2's unless the source was cropped)
        return {"utt": utt, "onset": round(off / fs, 4), "length": round(n / fs, 4),
                "trim_start": round(spans[k] / fs, 4), "rms_db": round(active_rms_db(rev, fs, seg), 4),
                "speaking_duration": round(speaking_duration([(a, b, "") for a, b in seg]), 4),
                "segments": [[round(a, 4), round(b, 4)] for a, b in seg], "bank_source": k}

    meta = {
        "mix": plan.mix, "target": plan.target, "target_utt": tgt, "sir_db": round(plan.sir_db, 4),
        "length": round(plan.length / fs, 4), "num_samples": plan.length, "bank_id": plan.bank_id,
        "enroll": {"utt": plan.enroll_utt, "bank_id": plan.enroll_bank_id},
        "s1": side(0, plan.utt1, rev1, plan.offset1, plan.len1, segs[0]),
        "s2": side(1, plan.utt2, rev2, plan.offset2, plan.len2, segs[1]),
    }
    return Mixture(mixture=mixture, sources=(rev1, rev2), enrollment=enroll, meta=meta)




def read_metadata(data_dir) -> Dict[str, Dict[str, str]]:
    """``utt2spk`` and the optional metadata files of a clean data dir (absent ones are empty)."""
    from pathlib import Path

    d = Path(data_dir)
    out = {name: read_map_if_present(d / name) for name in METADATA_FILES}
    out["utt2spk"] = read_map(d / "utt2spk")
    return out


def speaker_meta(utt: str, tables: Mapping[str, Mapping[str, str]], attrs: Mapping[str, Mapping], room: Mapping,
                 src: int) -> Dict:
    """One talker's record in ``mixtures.jsonl``: corpus metadata, distance, stage-2 attributes."""
    spk = tables["utt2spk"][utt]
    age = tables["spk2age"].get(spk)
    a = attrs[utt]
    return {
        "spk": spk, "lang": tables["utt2lang"].get(utt), "gender": tables["spk2gender"].get(spk),
        "age": float(age) if age else None, "emotion": tables["utt2emotion"].get(utt), "text": tables["text"].get(utt),
        "distance": round(room["distances"][src], 4),
        **{k: a.get(k) for k in ATTRIBUTE_KEYS}, "clean_rms_db": a.get("rms_db"),
    }


def mixture_row(m: Mixture, plan: MixturePlan, tables: Mapping[str, Mapping[str, str]], attrs: Mapping[str, Mapping],
                room: Mapping) -> Dict:
    """The ``mixtures.jsonl`` row of a rendered mixture (without its wav paths): what stage 4 labels."""
    row = m.meta
    row["room"] = {"size": [round(x, 3) for x in room["size"]], "rt60": round(room["rt60"], 4)}
    row["s1"].update(speaker_meta(plan.utt1, tables, attrs, room, 0))
    row["s2"].update(speaker_meta(plan.utt2, tables, attrs, room, 1))
    return row
