"""The end-user extractor: a recording of two talkers and a sentence in, the described talker out.

    from tse2 import TextGuidedExtractor

    ex = TextGuidedExtractor.from_pretrained("exp/packed/tflocoformer_tiny_minilm_whisper")
    result = ex(wav, "Extract the speaker who starts first.", rate=44100)
    result.target, result.other, result.scores, result.selected, result.fs

A packed model dir (``tse2.bin.pack``, stage 10; layout in :mod:`tse2.packing`) holds the
separator and the selector, loaded through the runtimes of :mod:`tse2.inference`.

The selector is the trained classifier, or ``selector="attributes"``: the training-free selector
of :mod:`tse2.attributes.selector`, which measures the prompt's cues on both separated outputs.
Any sample rate and channel count comes in; it is down-mixed and resampled (with a log line) and the
outputs go back at the input's rate (:mod:`tse2.utils.audio`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from tse2.inference import AttributeSelector, ClassifierSelector, Separator
from tse2.packing import META, PackError, read_meta
from tse2.utils.audio import MIN_RATE, AudioError, back_to_rate, check_recording, read_audio, to_model_input  # noqa: F401
from tse2.utils.audio import check_waveform as check_audio  # noqa: F401  (this module's name for it)

log = logging.getLogger("tse2.extractor")

SELECTORS = ("classifier", "attributes")


# ------------------------------------------------------------------------------------ extractor


@dataclass
class Extraction:
    """The extractor's answer; waveforms at ``fs`` (the input's rate)."""

    target: np.ndarray
    other: np.ndarray
    selected: int  # 1 or 2: which separated output was picked
    scores: List[float]  # the selector's score of each output (see :func:`describe`)
    fs: int
    details: Dict = field(default_factory=dict)


class TextGuidedExtractor:
    """Separator + selector.  Call it with a waveform (or a path) and a prompt."""

    def __init__(self, separator, selector, fs: Optional[int] = None) -> None:
        self.separator, self.selector = separator, selector
        self.fs = int(fs or separator.fs)  # the rate the models run at (the separator's config's fs)
        sel_fs = getattr(selector, "fs", None)
        if sel_fs is not None and int(sel_fs) != self.fs:
            raise ValueError(f"the separator runs at {self.fs} Hz and the classifier at {sel_fs} Hz; "
                             "pair models trained at one rate")

    @classmethod
    def from_pretrained(cls, model_dir: Union[str, Path], device: str = "cpu",
                        selector: str = "classifier") -> "TextGuidedExtractor":
        root = Path(model_dir).resolve()
        meta = read_meta(root)
        if meta.get("kind") != "extractor":
            raise PackError(f"{root}: a packed {meta.get('kind')}, not an extractor (load it with tse2.Remixer "
                            "or tse2.StyleRetrieval)")
        if selector not in SELECTORS:
            raise ValueError(f"unknown selector {selector!r}; choose one of {', '.join(SELECTORS)}")
        sep = meta["separator"]
        separator = Separator(root / sep["config"], root / sep["model"], device)
        if selector == "classifier":
            if "classifier" not in meta:
                raise PackError(f"{root}: holds a separator only (packed without --cls_dir); use the "
                                "training-free selector (--selector attributes) or pack a classifier")
            c = meta["classifier"]
            chooser = ClassifierSelector(root / c["config"], root / c["model"], device)
        else:
            chooser = AttributeSelector()
        if int(meta["fs"]) != separator.fs:
            raise PackError(f"{root}: {META} says {meta['fs']} Hz, the separator's config {separator.fs} Hz; repack it")
        return cls(separator, chooser)

    def __call__(self, wav: Union[np.ndarray, str, Path], prompt: Optional[str] = None, rate: Optional[int] = None,
                 enroll: Optional[np.ndarray] = None, name: str = "input", fs: Optional[int] = None) -> Extraction:
        """Extracts from ``wav`` (samples or (samples, channels) at ``rate``, default the model's
        rate, or a file path); ``enroll`` (at the same rate) for an enrollment classifier; ``name``
        for messages.  ``fs`` is the 0.1 name of ``rate``."""
        rate = rate or fs
        if isinstance(wav, (str, Path)):
            name = str(wav)
            wav, rate = read_audio(str(wav), mono=False)
        rate = int(rate or self.fs)
        wav = check_recording(wav, rate, name)
        length = len(wav)
        x = to_model_input(wav, rate, self.fs, name)
        cands = self.separator(x, self.fs)
        if enroll is not None:
            enroll = to_model_input(enroll, rate, self.fs, "enrollment")
        k, scores, details = self.selector(cands, self.fs, prompt=prompt, enroll=enroll)
        outs = [back_to_rate(c, self.fs, rate, length) for c in cands]
        return Extraction(target=outs[k], other=outs[1 - k], selected=k + 1, scores=scores, fs=rate, details=details)


def describe(result: Extraction, selector_name: str) -> str:
    """One line: each output's score and the selected one.  The classifier's score is its decision
    value (a cosine similarity plus, in a model with a readout, a learnt term; it is not bounded to
    [-1, 1]); the attribute selector's is the signed margin of the measured cue."""
    what = "classifier score" if selector_name == "classifier" else "attribute margin"
    return "; ".join(f"output {k + 1}: {what} {s:+.4f}{' (selected)' if k + 1 == result.selected else ''}"
                     for k, s in enumerate(result.scores))


__all__: Sequence[str] = ("TextGuidedExtractor", "Extraction", "check_audio", "check_recording", "to_model_input")
