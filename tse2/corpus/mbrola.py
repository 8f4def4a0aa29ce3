"""MBROLA diphone voices through espeak-ng: the voice table, level-calibrated rendering, whispering.

Each MBROLA voice is a recorded human speaker's diphones driven by espeak-ng's prosody (the
``mb-<voice>`` espeak voices); :mod:`tse2.corpus.styles` plans the styles they speak and
:func:`tse2.corpus.embedded.synthesize_plan` renders them through :class:`MbrolaRenderer`.
``make -C tools voices-mbrola`` installs them (Debian contrib/non-free, unpacked under ``tools/``;
non-commercial, non-military use only).
"""

import os
from dataclasses import replace
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

# MBROLA voices: name -> (language, gender, split).  Test: 2 f + 4 m over the four languages; dev:
# one of each; every language keeps a female voice in train.
MBROLA_VOICES: Dict[str, Tuple[str, str, str]] = {
    "us1": ("en", "f", "train"), "us2": ("en", "m", "test_real"), "us3": ("en", "m", "train"),
    "en1": ("en", "m", "train"),
    "fr1": ("fr", "m", "train"), "fr2": ("fr", "f", "train"), "fr3": ("fr", "m", "dev"),
    "fr4": ("fr", "f", "test_real"), "fr5": ("fr", "m", "train"), "fr6": ("fr", "m", "test_real"),
    "fr7": ("fr", "m", "train"),
    "de1": ("de", "f", "train"), "de2": ("de", "m", "train"), "de3": ("de", "f", "train"),
    "de4": ("de", "m", "train"), "de5": ("de", "f", "test_real"), "de6": ("de", "m", "train"),
    "de7": ("de", "f", "dev"), "de8": ("de", "m", "test_real"),
    "es1": ("es", "m", "train"), "es2": ("es", "m", "train"), "es3": ("es", "f", "train"),
    "es4": ("es", "m", "train"), "mx1": ("es", "m", "train"), "mx2": ("es", "m", "test_real"),
    "vz1": ("es", "m", "train"),
    # training-only voices of more languages: more timbres to learn a style across voices (their
    # sentences are the tuxpaint stamp descriptions, :func:`stamp_sentences`)
    "ca1": ("fr", "m", "train"), "ca2": ("fr", "m", "train"),
    "it1": ("it", "m", "train"), "it2": ("it", "f", "train"), "it3": ("it", "m", "train"),
    "it4": ("it", "f", "train"), "nl2": ("nl", "m", "train"), "nl3": ("nl", "f", "train"),
    "pt1": ("pt", "f", "train"), "br1": ("pt-br", "m", "train"), "br2": ("pt-br", "f", "train"),
    "br3": ("pt-br", "m", "train"), "br4": ("pt-br", "f", "train"), "ro1": ("ro", "m", "train"),
    "sw1": ("sv", "m", "train"), "sw2": ("sv", "f", "train"), "pl1": ("pl", "f", "train"),
    "cz1": ("cs", "f", "train"), "cz2": ("cs", "m", "train"), "hu1": ("hu", "m", "train"),
    "gr1": ("el", "m", "train"), "gr2": ("el", "m", "train"), "tr1": ("tr", "m", "train"),
    "tr2": ("tr", "f", "train"),
}
WHISPER_EFFECT = "+whisper"  # an MBROLA voice name with this suffix is whisperized after synthesis
# Level: MBROLA voices differ by 9 dB at one espeak volume (fr4 is 0.27 RMS, us2 0.09) and saturate
# at a loud style's x1.8.  So each voice is driven at half the planned volume and then brought to
# the level of espeak's own voices (0.1 RMS at volume 100) by a gain measured once per voice on a
# fixed sentence: loud is then 1.8x the speaker's neutral, unclipped, as on espeak.
MBROLA_HEADROOM = 0.5
MBROLA_LEVEL = 0.1
MBROLA_RENDER = "mbrola-2"  # part of each MBROLA utterance's digest: a change here resynthesizes them
CALIBRATION = {  # a level measurement only: the other languages' voices read the English one
    "en": "The weather was calm, so we walked along the river until the evening.",
    "fr": "Le temps était calme, alors nous avons marché le long de la rivière jusqu'au soir.",
    "de": "Das Wetter war ruhig, also gingen wir bis zum Abend am Fluss entlang.",
    "es": "El tiempo estaba tranquilo, así que caminamos junto al río hasta la tarde.",
}


class MbrolaMissing(RuntimeError):
    """The MBROLA voices are not installed."""


def mbrola_paths(voices_dir: Path) -> Tuple[Path, Path]:
    """(espeak-ng data path with the MBROLA voices, directory of the ``mbrola`` program)."""
    data = Path(voices_dir) / "espeak-ng-mbrola"
    bin_dir = Path(voices_dir) / "mbrola" / "usr" / "bin"
    if not (data / "espeak-ng-data" / "mbrola").is_dir() or not (bin_dir / "mbrola").is_file():
        raise MbrolaMissing(
            f"the MBROLA voices are not installed in {voices_dir} (run `make -C tools voices-mbrola`: it fetches "
            f"Debian contrib/non-free packages into tools/ without changing the apt sources; non-commercial "
            f"licence), or drop mbrola from --voices")
    return data, bin_dir


def mbrola_synth(voices_dir: Path):
    """An :class:`~tse2.corpus.espeak.EspeakSynth` that speaks both espeak-ng and ``mb-*`` voices.

    The data path links the system's espeak-ng data, so espeak voices sound exactly as without it.
    """
    from tse2.corpus.espeak import EspeakSynth

    data, bin_dir = mbrola_paths(voices_dir)
    if str(bin_dir) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"  # libespeak-ng runs `mbrola`
    return EspeakSynth(data_path=str(data))


class MbrolaRenderer:
    """Speaks planned utterances with MBROLA voices: level-calibrated (``MBROLA_*`` above) and
    whisperized where the voice name ends in ``+whisper``."""

    def __init__(self, synth, sample_rate: int) -> None:
        self.synth, self.sample_rate = synth, sample_rate
        self._gain: Dict[str, float] = {}

    def gain(self, voice: str) -> float:
        if voice not in self._gain:
            lang = next((la for n, (la, _, _) in MBROLA_VOICES.items() if voice == f"mb-{n}"), "en")
            ref = self._speak(CALIBRATION.get(lang, CALIBRATION["en"]), voice, rate=170, pitch=50, pitch_range=50,
                              volume=int(100 * MBROLA_HEADROOM)).audio
            self._gain[voice] = MBROLA_LEVEL / max(float(np.sqrt(np.mean(ref.astype(np.float64) ** 2))), 1e-6)
        return self._gain[voice]

    def _speak(self, text: str, voice: str, tries: int = 4, **prosody):
        """libespeak-ng's pipe to the ``mbrola`` process sometimes breaks ("mbrowrap error: mbrola
        closed stderr"), leaving no audio or audio that stops before the last word espeak timed:
        such a run is repeated (MBROLA is deterministic, so a complete run is the same every time)."""
        for _ in range(tries):
            out = self.synth.synthesize(text, voice, sample_rate=self.sample_rate, **prosody)
            if out.audio.size and np.any(out.audio) and out.words and out.words[-1].start < len(out.audio) / self.sample_rate:
                return out
        raise RuntimeError(f"{voice}: MBROLA gave no complete audio for {text!r} in {tries} tries")

    def __call__(self, u, text: str, seed: int):  # u: a planned tse2.corpus.embedded.Utterance
        whisper = u.voice.endswith(WHISPER_EFFECT)
        voice = u.voice[:-len(WHISPER_EFFECT)] if whisper else u.voice
        out = self._speak(text, voice, rate=u.rate, pitch=u.pitch, pitch_range=u.pitch_range,
                          volume=int(round(u.volume * MBROLA_HEADROOM)))
        audio = out.audio * self.gain(voice)
        if whisper:
            audio = whisperize(audio, self.sample_rate, seed=seed)
        return replace(out, audio=np.clip(audio, -1.0, 1.0).astype(np.float32))


def whisperize(audio: np.ndarray, fs: int, seed: int = 0) -> np.ndarray:
    """Whispered speech from voiced speech: the same vocal-tract filter, excited by noise.

    Per 32 ms Hann frame (50 % overlap), an LPC fit of order ``2 + fs / 1000`` gives the filter and
    the prediction residual's power; white noise of that power through the filter replaces the
    voiced excitation, so formants, timing and level stay and the pitch goes.  The output has the
    input's RMS.  Written here because no installed library converts speech to a whisper (a vocoder
    such as WORLD could, but it is not a dependency); ``librosa.lpc`` does the analysis.
    """
    import librosa
    from scipy.signal import lfilter

    x = np.asarray(audio, dtype=np.float64)
    n = int(0.032 * fs)
    hop = n // 2
    order = 2 + fs // 1000
    win = np.hanning(n + 1)[:n]  # periodic: overlap-adds to 1 at 50 %
    rng = np.random.default_rng(seed)
    pad = np.concatenate([np.zeros(hop), x, np.zeros(n)])
    out = np.zeros_like(pad)
    for start in range(0, len(pad) - n + 1, hop):
        frame = pad[start:start + n] * win
        if float(np.dot(frame, frame)) < 1e-10:
            continue
        try:
            a = librosa.lpc(frame, order=order)
        except FloatingPointError:
            continue
        if not np.all(np.isfinite(a)):
            continue
        gain = float(np.sqrt(np.mean(lfilter(a, [1.0], frame) ** 2)))
        out[start:start + n] += lfilter([1.0], a, gain * rng.standard_normal(n)) * win
    y = out[hop:hop + len(x)]
    rms_in, rms_out = float(np.sqrt(np.mean(x ** 2))), float(np.sqrt(np.mean(y ** 2)))
    if rms_out > 0:
        y *= rms_in / rms_out
    return np.clip(y, -1.0, 1.0).astype(np.float32)
