"""The training-free selector: measure the prompt's cues on both candidates, pick the one that fits.

Beyond the paper.  :func:`tse2.cues.parse.parse_prompt` turns the prompt into cue relations
("higher pitch" → pitch, target larger); each measurable cue is measured on both candidates with
stage 2's measurements and compared:

| cue | measurement on a candidate |
|---|---|
| pitch, pitch range | mean F0, F0 span over voiced frames (:mod:`tse2.attributes.f0`, Praat) |
| loudness | RMS dB over its speech segments (:func:`tse2.attributes.energy.active_rms_db`) |
| speaking duration | speech segments (Silero VAD) with pauses ≤ 0.6 s (:func:`speaking_duration`) |
| temporal order | onset of its first speech segment |
| speaking rate | syllable nuclei per minute of speaking duration (:func:`syllable_nuclei`) |

Each relation gives a margin in units of its stage-4 threshold θ (Δ/θ, Δ the direct or percentage
difference, signed so that a positive margin favours candidate 1), clipped to ±3 so one cue cannot
drown the others; the candidate favoured by the summed margin is selected.  Gender, language,
emotion, transcription, distance and age are understood but not measured: a prompt with only
those is an error naming the cues the selector can measure.

Speaking rate has no transcript on a separated output, so syllables are counted as intensity
peaks in voiced frames (the syllable-nucleus idea of de Jong & Wempe, 2009): a few lines of numpy
on Praat's intensity and pitch tracks, as no maintained package exposes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tse2.attributes.energy import active_rms_db
from tse2.attributes.f0 import F0Config, f0_stats, f0_track
from tse2.attributes.segments import speaking_duration
from tse2.cues.labels import BY_NAME, difference
from tse2.cues.parse import CueRelation, PromptParseError, contradictions, parse_prompt

log = logging.getLogger(__name__)

MEASURABLE = ("pitch", "pitch range", "loudness", "speaking rate", "speaking duration", "temporal order")
MAX_MARGIN = 3.0


class UnmeasurablePromptError(PromptParseError):
    """The prompt's cues are understood but none of them can be measured on audio."""


@dataclass
class Measures:
    """What the selector measured on one candidate (None: could not be measured)."""

    pitch: Optional[float] = None
    pitch_range: Optional[float] = None
    loudness: Optional[float] = None
    speaking_rate: Optional[float] = None
    speaking_duration: Optional[float] = None
    temporal_order: Optional[float] = None  # onset, s

    def get(self, cue: str) -> Optional[float]:
        return getattr(self, cue.replace(" ", "_"))


def syllable_nuclei(audio: np.ndarray, fs: int, min_dip_db: float = 2.0, min_gap_s: float = 0.1,
                    f0: Optional[np.ndarray] = None) -> int:
    """Syllable count: peaks of the intensity contour that are voiced, within 25 dB of the loudest
    frame, and separated from the previous peak by a dip of ``min_dip_db``.  ``f0``: the default
    :func:`f0_track` of ``audio`` when the caller has it already."""
    import parselmouth

    snd = parselmouth.Sound(np.asarray(audio, dtype=np.float64), sampling_frequency=fs)
    if snd.duration < 0.2:
        return 0
    inten = snd.to_intensity(minimum_pitch=75.0, time_step=0.01)
    db = inten.values[0]
    times = inten.xs()
    if f0 is None:
        f0 = f0_track(audio, fs, F0Config())
    f0_times = np.arange(len(f0)) * 0.01 + 0.01
    voiced = np.interp(times, f0_times, np.isfinite(f0).astype(float), left=0, right=0) > 0.5 if len(f0) else \
        np.zeros(len(times), dtype=bool)
    floor = np.max(db) - 25.0
    count, last_t, dip = 0, -1.0, np.inf
    for i in range(1, len(db) - 1):
        dip = min(dip, db[i])
        if db[i] >= db[i - 1] and db[i] > db[i + 1] and db[i] > floor and voiced[i]:
            if (last_t < 0 or db[i] - dip >= min_dip_db) and times[i] - last_t >= min_gap_s:
                count, last_t, dip = count + 1, times[i], db[i]
    return count


class AttributeSelector:
    """Callable ``selector(cands (2, N), fs, prompt) -> (index, scores, details)``."""

    name = "attributes"

    def __init__(self, vad=None) -> None:
        self._vad = vad

    @classmethod
    def from_pretrained(cls, path=None, checkpoint=None, device: str = "cpu") -> "AttributeSelector":
        """Training-free: nothing to load (the same signature as the other runtimes)."""
        return cls()

    @property
    def vad(self):
        if self._vad is None:
            from tse2.attributes.segments import SileroVAD

            self._vad = SileroVAD()
        return self._vad

    def relations(self, prompt: str) -> List[CueRelation]:
        """The measurable, discriminative relations of a prompt; errors name what is understood."""
        rels = parse_prompt(prompt)
        usable = [r for r in rels if r.cue in MEASURABLE and r.direction != 0]
        if not usable:
            said = ", ".join(f"{r.cue} ({r.word})" for r in rels)
            raise UnmeasurablePromptError(
                f"the attribute selector cannot decide {prompt!r}: it understood {said}, but measures only "
                f"{', '.join(MEASURABLE)} (and a 'similar'/'same'/'normal' cue does not tell the talkers apart)")
        return usable

    def measure(self, audio: np.ndarray, fs: int, cues: Sequence[str]) -> Measures:
        m = Measures()
        if {"pitch", "pitch range"} & set(cues):
            st = f0_stats(audio, fs)
            m.pitch, m.pitch_range = st.mean, st.span
        if {"loudness", "speaking rate", "speaking duration", "temporal order"} & set(cues):
            segs = self.vad(audio, fs)
            if segs:
                spans = [(s, e) for s, e, _ in segs]
                rms = active_rms_db(audio, fs, spans)
                m.loudness = None if rms is None else float(rms)
                m.speaking_duration = speaking_duration(segs) or None
                m.temporal_order = spans[0][0]
                if "speaking rate" in cues and m.speaking_duration:
                    n = syllable_nuclei(audio, fs)
                    m.speaking_rate = 60.0 * n / m.speaking_duration if n else None
        return m

    @staticmethod
    def margin(cue: str, x1: Optional[float], x2: Optional[float], direction: int) -> Optional[float]:
        """Signed margin for candidate 1 in units of θ; None when a value is missing."""
        if x1 is None or x2 is None:
            return None
        try:
            d = difference(BY_NAME[cue], x1, x2)
        except ValueError:
            return None
        return float(np.clip(direction * d / BY_NAME[cue].threshold, -MAX_MARGIN, MAX_MARGIN))

    def decide(self, prompt: str, m1: Measures, m2: Measures) -> Tuple[int, List[float], Dict]:
        """(0 or 1, [score 1, score 2], details) from both candidates' measures."""
        rels = self.relations(prompt)
        margins = {r.cue: self.margin(r.cue, m1.get(r.cue), m2.get(r.cue), r.direction) for r in rels}
        known = [v for v in margins.values() if v is not None]
        total = float(sum(known)) if known else 0.0
        details = {"relations": [(r.cue, r.word, r.direction) for r in rels], "margins": margins,
                   "measures": [vars(m1), vars(m2)], "decided": bool(known)}
        if not known:
            log.warning("could not measure %s on either candidate of %r; picking candidate 1",
                        [r.cue for r in rels], prompt)
        return (0 if total >= 0 else 1), [total, -total], details

    def __call__(self, cands: np.ndarray, fs: int, prompt: Optional[str] = None,
                 enroll: Optional[np.ndarray] = None) -> Tuple[int, List[float], Dict]:
        if prompt is None:
            raise ValueError("the attribute selector needs a text prompt")
        cues = [r.cue for r in self.relations(prompt)]
        m1, m2 = (self.measure(c, fs, cues) for c in cands[:2])
        k, scores, details = self.decide(prompt, m1, m2)
        if not details["decided"]:  # a user gets no guess dressed as an answer (stage 9 counts these)
            raise ValueError(f"the attribute selector could not measure {', '.join(cues)} on the separated "
                             f"outputs for {prompt!r} (no voiced or active speech found); try the classifier")
        clash = contradictions(prompt)
        if clash:
            used = ", ".join(f"{c} {w!r}" for c, w, _ in details["relations"])
            details["warning"] = (f"the prompt {prompt!r} contradicts itself ({'; '.join(clash)}): the selector "
                                  f"used {used}; the choice is a guess")
            log.warning("%s", details["warning"])
        return k, scores, details
