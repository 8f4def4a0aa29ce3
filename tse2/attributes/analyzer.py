"""All stage-2 attributes of one clean utterance, from its audio and (optionally) its alignment.

| field | meaning |
|---|---|
| ``f0_mean``, ``f0_span`` | Hz over voiced frames (:mod:`tse2.attributes.f0`); None without voiced frames |
| ``voiced_frames`` | number of voiced frames |
| ``segments`` | [[start, end], ...] s: words (given/mfa) or speech segments (vad) |
| ``speech_start``, ``speech_end`` | s: first and last speech (trim points for stage 3) |
| ``speaking_duration`` | s: words + pauses <= ``max_pause`` (:func:`speaking_duration`) |
| ``syllables`` | count (:mod:`tse2.attributes.syllables`); None without a transcript |
| ``speaking_rate`` | syllables per minute of speaking duration |
| ``rms_db`` | dB over the segments (:func:`active_rms_db`) |
| ``clipped`` | fraction of samples at full scale (>= 0.999) |
| ``duration`` | s, the whole file |
| ``align_method`` | where the segments came from |

Missing values are ``None`` (JSON ``null``), never NaN.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from tse2.attributes.energy import active_rms_db
from tse2.attributes.f0 import F0Config, f0_stats
from tse2.attributes.segments import MAX_PAUSE, Segment, SileroVAD, speaking_duration, trim_points
from tse2.attributes.syllables import count_syllables

log = logging.getLogger(__name__)

ALIGN_METHODS = ("given", "mfa", "vad")


@dataclass(frozen=True)
class AnalyzerConfig:
    f0: F0Config = field(default_factory=F0Config)
    max_pause: float = MAX_PAUSE
    syllable_fallback: Optional[str] = None
    vad_threshold: float = 0.5

    def to_dict(self) -> Dict:
        return asdict(self)


@dataclass
class UtteranceAttributes:
    utt: str
    duration: float
    align_method: str
    f0_mean: Optional[float]
    f0_span: Optional[float]
    voiced_frames: int
    speech_start: Optional[float]
    speech_end: Optional[float]
    speaking_duration: Optional[float]
    syllables: Optional[int]
    speaking_rate: Optional[float]
    rms_db: Optional[float]
    clipped: float
    segments: List[List[float]]

    def to_dict(self) -> Dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        d["segments"] = [[round(s, 3), round(e, 3)] for s, e in self.segments]
        return d


class AttributeAnalyzer:
    """Callable: ``analyzer(utt, audio, fs, lang, segments=None, text=None)``.

    ``segments`` are word alignments (given or MFA); without them Silero VAD finds speech
    segments and the syllables come from ``text``.
    """

    def __init__(self, cfg: AnalyzerConfig = AnalyzerConfig()) -> None:
        self.cfg = cfg
        self._vad: Optional[SileroVAD] = None

    def vad(self, audio: np.ndarray, fs: int) -> List[Segment]:
        if self._vad is None:
            self._vad = SileroVAD(threshold=self.cfg.vad_threshold)
        return self._vad(audio, fs)

    def __call__(
        self, utt: str, audio: np.ndarray, fs: int, lang: Optional[str],
        segments: Optional[Sequence[Segment]] = None, text: Optional[str] = None, align_method: str = "given",
    ) -> UtteranceAttributes:
        audio = np.asarray(audio, dtype=np.float32)
        if segments is None:
            segments, align_method = self.vad(audio, fs), "vad"
        segments = sorted(segments)
        f0 = f0_stats(audio, fs, self.cfg.f0)
        start, end = trim_points(segments)
        dur = speaking_duration(segments, self.cfg.max_pause) if segments else None
        words = [w for _, _, w in segments if w]
        if not words and text:
            words = text.split()
        syllables = count_syllables(words, lang, self.cfg.syllable_fallback) if (words and lang) else None
        rate = syllables / dur * 60.0 if (syllables is not None and dur) else None
        if not segments:
            log.warning("%s: no speech found (%s); its duration, rate and RMS are missing", utt, align_method)
        return UtteranceAttributes(
            utt=utt, duration=len(audio) / fs, align_method=align_method,
            f0_mean=f0.mean, f0_span=f0.span, voiced_frames=f0.voiced_frames,
            speech_start=start, speech_end=end, speaking_duration=dur or None,
            syllables=syllables, speaking_rate=rate,
            rms_db=active_rms_db(audio, fs, [(s, e) for s, e, _ in segments]),
            clipped=float(np.mean(np.abs(audio) >= 0.999)) if audio.size else 0.0,
            segments=[[s, e] for s, e, _ in segments],
        )
