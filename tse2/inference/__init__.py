"""Inference runtimes: one callable class per model kind, each loading itself in one place.

| runtime | call | ``from_pretrained(path)`` reads |
|---|---|---|
| :class:`Separator` | ``sep(waveform) -> (2, N)`` | a stage-5 experiment dir or a pack's ``separator/`` |
| :class:`ClassifierSelector` | ``sel(cands, fs, prompt) -> (k, scores, details)`` | a stage-7 experiment dir or a pack's ``classifier/`` |
| :class:`AttributeSelector` | the same, training-free | nothing |
| :class:`SingleStageExtractor` | ``ext(mixture, prompt) -> estimate`` | a stage-7 baseline experiment dir |

``from_pretrained(path, checkpoint=None, device="cpu")``: ``path`` is the directory holding
``config.yaml``; ``checkpoint`` a file in it or any path (default: the first of the runtime's
``CHECKPOINTS`` that exists, e.g. a released separator, then ESPnet's best-validation file).
Stages 6 (separate), 8 (select), 10 (pack) and :class:`tse2.extractor.TextGuidedExtractor` all
load models through these classes.
"""

from tse2.attributes.selector import AttributeSelector
from tse2.inference.classifier import ClassifierSelector
from tse2.inference.separator import Separator
from tse2.inference.single_stage import SingleStageExtractor

__all__ = ["AttributeSelector", "ClassifierSelector", "Separator", "SingleStageExtractor"]
