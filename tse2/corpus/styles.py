"""Speaking styles espeak-ng can really produce, for the embedded expressive-retrieval corpus.

Each style is a change to the speaker's own settings (its voice variant, pitch, pitch range,
rate and volume on espeak's scales), so that a style is heard as a departure from how that
speaker usually talks, as in the paper's corpora. Speakers are drawn from a narrow spread
(``SPEAKER_SPREAD``) so that one speaker's habit is not confused with another's style.

| style | voice | pitch | range | rate | volume | text |
|---|---|---|---|---|---|---|
| neutral | speaker's | +0 | +0 | x1 | x1 | as written |
| happy | speaker's | +12 | +35 | x1.15 | x1.2 | as written |
| sad | speaker's | -10 | -30 | x0.75 | x0.6 | as written |
| angry | ``croak`` | +6 | +20 | x1.25 | x1.7 | as written |
| whispered | ``whisper`` / ``whisperf`` | +0 | +0 | x0.95 | x1 | as written |
| fast | speaker's | +0 | +0 | x1.8 | x1 | as written |
| slow | speaker's | +0 | +0 | x0.55 | x1 | as written |
| loud | speaker's | +0 | +0 | x1 | x1.8 | as written |
| soft | speaker's | +0 | +0 | x1 | x0.35 | as written |
| high-pitched | speaker's | +35 | +0 | x1 | x1 | as written |
| low-pitched | speaker's | -35 | +0 | x1 | x1 | as written |
| monotone | speaker's | +0 | range 0 | x1 | x1 | as written |
| enunciated | speaker's | +0 | +10 | x0.9 | x1.1 | a pause after every word |

Pitch and range are clipped to espeak's 0..99, rate to 80..450 words/min, volume to 0..200.

Recorded-speaker voices (``--voices espeak,mbrola``).  The same styles are also spoken by MBROLA
diphone voices: each is a recorded human speaker's diphones, driven by espeak-ng's prosody, so
pitch, range, rate, volume and pauses are the same parameters as above (the ``mb-<voice>`` espeak
voices).  Two things differ: MBROLA has no voice variants, so ``angry`` keeps the speaker's own
timbre (its pitch, range, rate and volume still differ from every other style), and ``whispered``
is made from the voiced synthesis by :func:`whisperize` (LPC analysis, noise excitation), the
classic whisper conversion (:mod:`tse2.corpus.mbrola`).  :data:`MBROLA_VOICES` there lists the 26 en/fr/de/es voices with their
genders (Debian's package descriptions) and their split: 18 train, 2 dev and 6 held out as
``test_real``, the real-voice style test set, whose voices no model has heard.  ``make -C tools
voices-mbrola`` installs them (Debian contrib/non-free, unpacked under ``tools/``; the MBROLA
voices are for non-commercial, non-military use only).
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tse2.corpus.embedded import LANGS, SPLITS, Speaker, Utterance, _rng
from tse2.corpus.mbrola import MBROLA_VOICES, WHISPER_EFFECT, MbrolaMissing
from tse2.corpus.voices import STAMP_LANG, stamp_sentences  # noqa: F401  (they live with the tuxpaint reader)


@dataclass(frozen=True)
class Style:
    voice: Optional[str]  # espeak variant replacing the speaker's (None: the speaker's own)
    pitch: float  # offset on espeak's 0..99 scale
    pitch_range: Optional[float]  # offset, or None for a monotone (range 0)
    rate: float  # factor
    volume: float  # factor
    pauses: bool = False  # a comma after every word: each word spoken on its own


STYLES: Dict[str, Style] = {
    "neutral": Style(None, 0, 0, 1.0, 1.0),
    "happy": Style(None, 12, 35, 1.15, 1.2),
    "sad": Style(None, -10, -30, 0.75, 0.6),
    "angry": Style("croak", 6, 20, 1.25, 1.7),
    "whispered": Style("whisper", 0, 0, 0.95, 1.0),
    "fast": Style(None, 0, 0, 1.8, 1.0),
    "slow": Style(None, 0, 0, 0.55, 1.0),
    "loud": Style(None, 0, 0, 1.0, 1.8),
    "soft": Style(None, 0, 0, 1.0, 0.35),
    "high-pitched": Style(None, 35, 0, 1.0, 1.0),
    "low-pitched": Style(None, -35, 0, 1.0, 1.0),
    "monotone": Style(None, 0, None, 1.0, 1.0),
    "enunciated": Style(None, 0, 10, 0.9, 1.1, pauses=True),
}

# Narrow speaker spread: (mean, std) of pitch, range, rate (words/min) and volume.
SPEAKER_SPREAD = {"pitch": (50, 6), "pitch_range": (50, 6), "rate": (170, 8), "volume": (100, 4)}
VARIANTS = {"f": ("f1", "f2", "f3", "f4", "f5"), "m": ("m1", "m2", "m3", "m4", "m5", "m6", "m7")}


MBROLA_SPLITS = ("train", "dev", "test_real")


def with_pauses(text: str) -> str:
    """Every word followed by a comma, so that espeak pauses between words."""
    words = text.split()
    return ", ".join(w.rstrip(",.;:!?") for w in words) + "." if words else text


def style_speaker(seed: int, spk: str, split: str, lang: str, gender: str) -> Speaker:
    r = _rng(seed, spk)
    draw = {k: float(r.normal(m, s)) for k, (m, s) in SPEAKER_SPREAD.items()}
    return Speaker(spk=spk, split=split, lang=lang, gender=gender, age=int(r.integers(20, 60)),
                   variant=str(r.choice(VARIANTS[gender])), **draw)


def styled_utterance(s: Speaker, style: str, utt: str, text: str, jitter: np.random.Generator) -> Utterance:
    """The espeak settings of speaker ``s`` speaking ``text`` in ``style``."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; the embedded corpus has {sorted(STYLES)}")
    st = STYLES[style]
    variant = s.variant
    if variant.startswith("mb-"):  # an MBROLA voice: no variants; whispered is an effect
        voice = variant + (WHISPER_EFFECT if st.voice == "whisper" else "")
    elif st.voice == "whisper":
        variant = "whisperf" if s.gender == "f" else "whisper"
    elif st.voice:
        variant = st.voice
    if not variant.startswith("mb-"):
        voice = f"{LANGS[s.lang].voice}+{variant}"
    rate_scale = LANGS[s.lang].rate_scale if s.lang in LANGS else 1.0  # MBROLA voices speak more languages
    pitch_range = 0 if st.pitch_range is None else s.pitch_range + st.pitch_range + jitter.normal(0, 2)
    return Utterance(
        utt=utt, spk=s.spk, split=s.split, lang=s.lang, text=with_pauses(text) if st.pauses else text,
        emotion=style, voice=voice,
        rate=int(np.clip(s.rate * st.rate * (1 + jitter.normal(0, 0.03)) * rate_scale, 80, 450)),
        pitch=int(np.clip(round(s.pitch + st.pitch + jitter.normal(0, 1.5)), 0, 99)),
        pitch_range=int(np.clip(round(pitch_range), 0, 99)),
        volume=int(np.clip(round(s.volume * st.volume), 5, 200)),
    )


def make_style_plan(
    sentences: Mapping[str, Sequence[str]],
    speakers_per_lang: Mapping[str, int],
    utts_per_style: int,
    styles: Sequence[str] = tuple(STYLES),
    seed: int = 0,
    mbrola_splits: Sequence[str] = (),
    mbrola_utts_per_style: int = 8,
    mbrola_sentences: Optional[Mapping[str, Sequence[str]]] = None,
) -> Tuple[List[Speaker], List[Utterance]]:
    """Speakers (speaker-disjoint splits, genders alternating) each speaking every style.

    Utterance ids are ``<spk>_<style>_<k>``; the style is kept in ``Utterance.emotion``. A
    speaker says a sentence twice only when it needs more utterances than there are sentences
    (then in two styles: the style is all that differs).  ``mbrola_splits`` adds the MBROLA voices
    of those splits (:data:`MBROLA_VOICES`; ``test_real`` is their own held-out split) whose
    language is in ``sentences`` or ``mbrola_sentences`` (:func:`stamp_sentences`), each one speaker
    ``mb-<voice>`` with ``mbrola_utts_per_style`` utterances of every style.
    """
    for split in mbrola_splits:
        if split not in MBROLA_SPLITS:
            raise ValueError(f"unknown MBROLA split {split!r}; the voices are split into {list(MBROLA_SPLITS)}")
    for style in styles:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; the embedded corpus has {sorted(STYLES)}")
    speakers: List[Speaker] = []
    utts: List[Utterance] = []

    def speak(s: Speaker, texts: Sequence[str], per_style: int) -> None:
        speakers.append(s)
        need = per_style * len(styles)
        r = _rng(seed, s.spk + "/sentences")
        order = np.concatenate([r.permutation(len(texts)) for _ in range(-(-need // len(texts)))])
        for j, style in enumerate(styles):
            for k in range(per_style):
                utt = f"{s.spk}_{style}_{k}"
                utts.append(styled_utterance(s, style, utt, texts[order[j * per_style + k]], _rng(seed, utt)))

    for split in SPLITS:
        n = int(speakers_per_lang.get(split, 0))
        for lang, texts in sentences.items():
            if not texts:
                raise ValueError(f"{lang}: no sentences")
            for i in range(n):
                gender = "f" if i % 2 == 0 else "m"
                spk = f"{lang}_{split}_{gender}{i:02d}"
                speak(style_speaker(seed, spk, split, lang, gender), texts, utts_per_style)
    for split in mbrola_splits:
        for name, (lang, gender, vsplit) in MBROLA_VOICES.items():
            texts = sentences.get(lang) or (mbrola_sentences or {}).get(lang)
            if vsplit == split and texts:
                s = style_speaker(seed, f"mb-{name}", split, lang, gender)
                speak(replace(s, variant=f"mb-{name}"), texts, mbrola_utts_per_style)
    return speakers, utts
