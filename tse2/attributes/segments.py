"""Word and speech segments, and the quantities derived from them.

Segments come from one of three sources (``--align_method``):

- ``given``: word alignments the corpus provides (``words.ctm`` in the data dir; the embedded
  corpus has exact ones from the synthesizer);
- ``mfa``: Montreal Forced Aligner TextGrids, either already on disk (``--textgrid_dir``) or made
  by running ``mfa align`` when MFA is installed (see :func:`run_mfa_align`);
- ``vad``: Silero VAD speech segments (the ``silero-vad`` wheel ships its model; no download).

TextGrids are read by our own small parser (:func:`read_textgrid`): MFA writes Praat's text
formats, and a 60-line reader spares a dependency for the one thing we need (the word tier).

Speaking duration (SPEC): the sum of word durations plus the pauses between words that are at
most ``max_pause`` (0.6 s); longer pauses are silence and excluded.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

log = logging.getLogger(__name__)

Segment = Tuple[float, float, str]  # (start s, end s, label: word, or "" for a VAD segment)
MAX_PAUSE = 0.6


class TextGridError(ValueError):
    """A TextGrid file cannot be parsed or lacks the requested tier."""


def speaking_duration(segments: Sequence[Segment], max_pause: float = MAX_PAUSE) -> float:
    """Sum of segment durations plus inter-segment pauses of at most ``max_pause`` seconds."""
    segs = sorted((s, e) for s, e, _ in segments if e > s)
    if not segs:
        return 0.0
    total = 0.0
    prev_end = None
    for s, e in segs:
        if prev_end is not None:
            gap = s - prev_end
            if 0 < gap <= max_pause:
                total += gap
            s = max(s, prev_end)  # overlapping segments count once
        total += max(0.0, e - s)
        prev_end = e if prev_end is None else max(prev_end, e)
    return total


def trim_points(segments: Sequence[Segment]) -> Tuple[Optional[float], Optional[float]]:
    """(start of the first speech, end of the last), or (None, None) without segments."""
    if not segments:
        return None, None
    return min(s for s, _, _ in segments), max(e for _, e, _ in segments)


# --------------------------------------------------------------------------- TextGrid (MFA)

_NUM = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"


def _tokens(text: str) -> List[str]:
    """Praat text-file tokens: numbers, "strings" (with "" as an escaped quote) and <flags>."""
    return [m.group(0) for m in re.finditer(r'"(?:[^"]|"")*"|' + _NUM + r"|<exists>|<absent>", text)]


def _unquote(token: str) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"expected a quoted string, got {token!r}")
    return token[1:-1].replace('""', '"')


def read_textgrid(path: Path, tier: str = "words") -> List[Segment]:
    """Reads the labelled intervals of ``tier`` from a Praat TextGrid (long or short text format).

    Empty labels (silences) are left out.  Raises :class:`TextGridError` naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TextGridError(f"{path}: cannot read ({exc})") from None
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    if 'File type = "ooTextFile"' not in text or '"TextGrid"' not in text:
        raise TextGridError(f"{path}: not a Praat TextGrid text file")
    # Long format numbers its items ("item [1]:", "intervals [2]:"): drop those indices first.
    toks = _tokens(re.sub(r"\[\s*\d*\s*\]", "", text.split('"TextGrid"', 1)[1]))
    try:
        # xmin xmax <exists> n_tiers, then per tier: class name xmin xmax n, then items
        pos = 4
        n_tiers = int(float(toks[3]))
        names = []
        for _ in range(n_tiers):
            cls, name = _unquote(toks[pos]), _unquote(toks[pos + 1])
            n = int(float(toks[pos + 4]))
            pos += 5
            names.append(name)
            width = 3 if cls == "IntervalTier" else 2
            items = toks[pos: pos + width * n]
            pos += width * n
            if name == tier:
                if cls != "IntervalTier":
                    raise TextGridError(f"{path}: tier {tier!r} is a {cls}, not an IntervalTier")
                out = []
                for k in range(n):
                    s, e, label = items[3 * k: 3 * k + 3]
                    label = _unquote(label).strip()
                    if label and label not in ("<eps>", "sil", "sp", "spn"):
                        out.append((float(s), float(e), label))
                return out
    except (IndexError, ValueError) as exc:
        raise TextGridError(f"{path}: malformed TextGrid ({exc})") from None
    raise TextGridError(f"{path}: no tier named {tier!r} (tiers: {names})")


def mfa_available() -> bool:
    return shutil.which("mfa") is not None


def run_mfa_align(corpus_dir: Path, dictionary: str, acoustic_model: str, out_dir: Path, nj: int = 1) -> None:
    """Runs ``mfa align`` on a corpus dir of ``<utt>.wav`` + ``<utt>.lab`` files.

    ``dictionary`` and ``acoustic_model`` are local paths (or names of models already installed
    in MFA); nothing is downloaded.  Raises RuntimeError with MFA's output on failure.
    """
    if not mfa_available():
        raise RuntimeError("`mfa` is not on PATH: install it with tools/installers/install_mfa.sh "
                           "and source tools/mfa.sh, or use --align_method vad/given")
    cmd = ["mfa", "align", "--clean", "--overwrite", "-j", str(nj), str(corpus_dir), dictionary,
           acoustic_model, str(out_dir)]
    log.info("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mfa align failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


# --------------------------------------------------------------------------- Silero VAD


class SileroVAD:
    """Speech segments from Silero VAD, with the model the ``silero-vad`` wheel ships."""

    def __init__(self, threshold: float = 0.5, min_silence_s: float = 0.1, speech_pad_s: float = 0.03) -> None:
        from silero_vad import load_silero_vad

        self.model = load_silero_vad()
        self.threshold = threshold
        self.min_silence_ms = int(min_silence_s * 1000)
        self.speech_pad_ms = int(speech_pad_s * 1000)

    def __call__(self, audio: np.ndarray, fs: int) -> List[Segment]:
        import torch
        from silero_vad import get_speech_timestamps

        if fs not in (8000, 16000):
            raise ValueError(f"Silero VAD works at 8 or 16 kHz, got {fs} Hz")
        stamps = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), self.model,
            threshold=self.threshold, sampling_rate=fs, min_silence_duration_ms=self.min_silence_ms,
            speech_pad_ms=self.speech_pad_ms, return_seconds=False,
        )
        return [(st["start"] / fs, st["end"] / fs, "") for st in stamps]
