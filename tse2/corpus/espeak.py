"""Offline speech synthesis with word timings through libespeak-ng.

Why ctypes and not the ``espeak-ng`` command line: the CLI writes audio but says nothing about
*where* each word is.  The C library reports word and phoneme events from its synthesis callback,
each stamped with its position in the output audio, which gives us exact word start times for
free.  No PyPI package exposes those events (py-espeak-ng / espeakng wrap the CLI), so we bind
the five functions we need ourselves.

Word ends: espeak reports word *starts* only.  A word ends where the next word starts, or at the
end of the audio for the last one; the trailing pause inside that span is then cut off with a
short-time energy gate (:func:`trim_trailing_silence`), so a word never swallows the pause that
follows it.

Determinism: libespeak-ng carries signal state from one utterance to the next (the same text
spoken twice in one process differs by a few hundred samples), so every utterance is synthesized
in a child forked from the freshly initialized library.  Its audio then depends only on the text
and the parameters, never on what the process synthesized before, so a corpus is bit-identical
whatever the number of jobs or their order.  A fork costs about a millisecond.  The breathy voice
variants (``+f2``, ``+f3``, ``+f5``) draw their noise from the C library's ``rand()``, whose state
the child inherits from the parent: anything in the job's process that called ``rand()`` changed
them (two fresh runs of the embedded recipe differed in those 300 of 1200 utterances), so the
child seeds it (``srand(1)``, the C library's start state) before it synthesizes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import threading
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tse2.utils.audio import DEFAULT_FS, resample

# espeak_AUDIO_OUTPUT
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_Initialize options
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
# espeak_EVENT_TYPE
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_EVENT_PHONEME = 7
# espeak_PARAMETER
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
# espeak_POSITION_TYPE / synth flags
_POS_CHARACTER = 1
_CHARS_UTF8 = 1

ESPEAK_RATE_RANGE = (80, 450)  # words per minute accepted by espeak-ng
ESPEAK_PARAM_RANGE = (0, 99)  # pitch and pitch range


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakError(RuntimeError):
    """libespeak-ng is missing or refused a request."""


@dataclass(frozen=True)
class Word:
    """One synthesized word: text and its [start, end) in seconds."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Synthesis:
    """Audio (float32, mono, at ``sample_rate``) with per-word timings."""

    audio: np.ndarray
    sample_rate: int
    words: Tuple[Word, ...]


def _load_library(path: Optional[str] = None) -> ctypes.CDLL:
    candidates = [path] if path else [ctypes.util.find_library("espeak-ng"), "libespeak-ng.so.1"]
    errors = []
    for cand in candidates:
        if not cand:
            continue
        try:
            return ctypes.CDLL(cand)
        except OSError as exc:  # pragma: no cover - depends on the machine
            errors.append(f"{cand}: {exc}")
    raise EspeakError(
        "libespeak-ng is not installed (tried "
        + (", ".join(errors) or "find_library('espeak-ng')")
        + "). Install it with `make -C tools apt` or `apt-get install espeak-ng`."
    )


class EspeakSynth:
    """Synthesizes text with a chosen voice and prosody, returning audio and word timings.

    Args:
        library: path to ``libespeak-ng.so``; found on the system when None.
        data_path: espeak-ng data directory; the library's default when None.
    """

    _lock = threading.Lock()  # the C library is a process-wide singleton

    def __init__(self, library: Optional[str] = None, data_path: Optional[str] = None) -> None:
        self._lib = _load_library(library)
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        self._lib.espeak_ng_GetSampleRate.restype = ctypes.c_int
        self._lib.espeak_Info.restype = ctypes.c_char_p
        self._lib.espeak_Info.argtypes = [ctypes.c_void_p]
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 200,
            data_path.encode() if data_path else None,
            _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed (returned {rate}); is espeak-ng-data installed?")
        self.native_rate = int(rate)
        self._voice_rate = self.native_rate  # an MBROLA voice has its own (16 kHz for most)
        self.version = self._lib.espeak_Info(None).decode()
        self._chunks: List[np.ndarray] = []
        self._events: List[Tuple[int, int, int, int]] = []  # (type, text_pos, length, sample)
        self._callback = _SynthCallback(self._on_audio)  # keep a reference alive
        self._lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, numsamples, events) -> int:
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type in (_EVENT_WORD, _EVENT_PHONEME, _EVENT_END):
                # audio_position is in ms of the whole message; it is exact to the ms.
                sample = int(round(ev.audio_position * self._voice_rate / 1000.0))
                self._events.append((ev.type, ev.text_position, ev.length, sample))
            i += 1
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0  # 0 = continue synthesis

    def _synth_here(self, text, voice, rate, pitch, pitch_range, volume):
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"espeak-ng does not know the voice {voice!r} (see `espeak-ng --voices`)")
        self._voice_rate = int(self._lib.espeak_ng_GetSampleRate())
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch),
                             (_PARAM_RANGE, pitch_range), (_PARAM_VOLUME, volume)):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data)
        err = self._lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise EspeakError(f"espeak_Synth failed with code {err} for text {text!r}")
        native = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return native, list(self._events), self._voice_rate

    def _run_forked(self, *args):
        """Runs :meth:`_synth_here` in a forked child and returns its result (see module doc)."""
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: synthesize, send the result or the error, never return
            os.close(read_fd)
            try:
                _reset_c_rand()
                payload = ("ok", self._synth_here(*args))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                payload = ("error", exc)
            with os.fdopen(write_fd, "wb") as w:
                pickle.dump(payload, w, protocol=pickle.HIGHEST_PROTOCOL)
            os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as r:
            raw = r.read()
        _, status = os.waitpid(pid, 0)
        if not raw:
            raise EspeakError(f"the espeak-ng synthesis process died (wait status {status})")
        kind, value = pickle.loads(raw)
        if kind == "error":
            raise value
        return value

    def synthesize(
        self,
        text: str,
        voice: str,
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        volume: int = 100,
        sample_rate: int = DEFAULT_FS,
    ) -> Synthesis:
        """Speak ``text`` with ``voice`` (e.g. ``"en-us+f3"``).

        Args:
            text: UTF-8 text; words are split on white space for the timing table, except CJK
                text, where each word event is taken as espeak reports it.
            voice: espeak voice name, optionally with a ``+variant``.
            rate: words per minute (80..450).
            pitch: base pitch 0..99 (espeak's scale).
            pitch_range: pitch range 0..99 (0 = monotone).
            volume: amplitude 0..200 (100 = normal).
            sample_rate: output rate; espeak's native 22.05 kHz is resampled polyphase.
        """
        if not text.strip():
            raise ValueError("cannot synthesize empty text")
        _check_range("rate", rate, *ESPEAK_RATE_RANGE)
        _check_range("pitch", pitch, *ESPEAK_PARAM_RANGE)
        _check_range("pitch_range", pitch_range, *ESPEAK_PARAM_RANGE)
        _check_range("volume", volume, 0, 200)
        with self._lock:
            native, events, native_rate = self._run_forked(text, voice, rate, pitch, pitch_range, volume)
        data = text.encode("utf-8")
        audio = native.astype(np.float32) / 32768.0
        words = _words_from_events(data, events, len(audio), native_rate)
        words = tuple(trim_trailing_silence(audio, native_rate, words))
        if sample_rate != native_rate:
            audio = resample(audio, native_rate, sample_rate)
        return Synthesis(audio=audio.astype(np.float32), sample_rate=sample_rate, words=words)


def _reset_c_rand() -> None:
    """Seeds the C library's ``rand()`` as a fresh process has it (see the module docstring)."""
    ctypes.CDLL(None).srand(1)


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name}={value} is outside espeak-ng's range [{lo}, {hi}]")


def _words_from_events(
    text_utf8: bytes, events: Sequence[Tuple[int, int, int, int]], n_samples: int, rate: int
) -> List[Word]:
    """Turns WORD events into (word, start, end) with end = next word's start or the end."""
    starts = [(pos, length, sample) for typ, pos, length, sample in events if typ == _EVENT_WORD]
    words = []
    chars = text_utf8.decode("utf-8")
    for k, (pos, length, sample) in enumerate(starts):
        # text_position counts characters (not bytes) from 1.
        token = chars[pos - 1: pos - 1 + length].strip() if pos > 0 else ""
        end = starts[k + 1][2] if k + 1 < len(starts) else n_samples
        if token and end > sample:
            words.append(Word(token, sample / rate, end / rate))
    return words


def trim_trailing_silence(
    audio: np.ndarray, rate: int, words: Sequence[Word], frame_s: float = 0.01, floor_db: float = -40.0
) -> List[Word]:
    """Moves each word's end back to its last frame within ``floor_db`` of the utterance peak."""
    hop = max(1, int(frame_s * rate))
    n_frames = int(np.ceil(len(audio) / hop))
    padded = np.zeros(n_frames * hop, dtype=np.float32)
    padded[: len(audio)] = audio
    energy = (padded.reshape(n_frames, hop) ** 2).mean(axis=1)
    level = 10 * np.log10(energy + 1e-12)
    active = level > (level.max() + floor_db)
    out = []
    for w in words:
        a, b = int(w.start * rate) // hop, int(np.ceil(w.end * rate / hop))
        idx = np.flatnonzero(active[a:b])
        if idx.size == 0:
            continue  # a word with no audible frame: drop it rather than invent a span
        start = max(w.start, (a + idx[0]) * hop / rate)
        end = min(w.end, (a + idx[-1] + 1) * hop / rate)
        out.append(Word(w.word, round(float(start), 3), round(float(end), 3)))
    return out
