"""The classifier runtime: a trained stage-7 text (or enrollment) classifier as a selector.

One example at a time (:meth:`ClassifierSelector.__call__`, the extractor) or batches of a
``tse2.bin.cls_data`` example dir (:meth:`ClassifierSelector.batches`, stage 8): the same model,
loaded once here, with the same preprocessing (the task's tokenizer and enrollment crop).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from tse2.inference.common import Runtime
from tse2.models.checkpoint import resolved_config
from tse2.release import RELEASED_CHECKPOINT
from tse2.utils.audio import model_rate

log = logging.getLogger("tse2.classifier")


class ClassifierSelector(Runtime):
    """The trained text (or enrollment) classifier: picks the candidate nearer the prompt.

    Scores are the cosine similarities of each candidate's embedding to the prompt's (or the
    enrollment's); the higher one is selected."""

    name = "classifier"
    # a released classifier installed by stage 7 (training removes it), a pack's, then ESPnet's best
    CHECKPOINTS = (RELEASED_CHECKPOINT, "model.pth", "valid.acc.best.pth", "valid.loss.best.pth", "valid.acc.ave.pth", "latest.pth")
    WHAT, STAGE = "trained classifier", 7

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        from tse2.models.checkpoint import build_named, load_state
        from tse2.models.cls_build import build_classifier, build_preprocess  # not the ESPnet task: 9 s less

        self.args = argparse.Namespace(**resolved_config(Path(config)))
        self.model = build_named(build_classifier, self.args, config, "classifier")
        load_state(self.model, model_file, config, device)
        self.model.to(device).eval()
        self.cue = getattr(self.args, "cue", "text")
        self.fs = model_rate(self.args, str(config))
        self.preprocess = build_preprocess(self.args, False)
        self.device, self.model_file = device, Path(model_file)

    def similarities(self, batch: Dict) -> Tuple[List[float], List[float]]:
        """Cosine similarities of both candidates for a collated batch (tensors, any device)."""
        import torch

        with torch.no_grad():
            s1, s2 = self.model.similarities(**{k: v.to(self.device) for k, v in batch.items()})
        return s1.tolist(), s2.tolist()

    def batches(self, data_dir: Path, key_file: Optional[Path] = None, batch_size: int = 8) -> Iterator:
        """(keys, batch) over a ``tse2.bin.cls_data`` dir: ``cand1.scp cand2.scp`` and ``prompt``
        (text classifier) or ``enroll.scp`` (enrollment classifier), in ``key_file``'s order (default:
        ``cand1.scp``'s).  Read here, not through ESPnet's streaming iterator, whose task module
        costs ~10 s of imports in every stage-8 job; batches are what ESPnet's ``CommonCollateFn``
        makes of the same examples (zero-padded, with ``*_lengths``)."""
        from tse2.utils.audio import read_audio
        from tse2.utils.datadir import DataDirError, check_keys, read_keys, read_map

        names = [("cand1.scp", "cand1"), ("cand2.scp", "cand2"),
                 ("prompt", "prompt") if self.cue == "text" else ("enroll.scp", "enroll")]
        tables = {}
        for fname, name in names:
            path = Path(data_dir) / fname
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: the {self.cue} classifier needs it "
                                        f"(tse2.bin.cls_data --cue {self.cue})")
            tables[name] = (path, read_map(path))
        cands_path, cands = tables["cand1"]
        keys = list(cands)
        if key_file is not None:
            keys = read_keys(key_file)
            check_keys(key_file, keys, cands_path, cands)
        for name, (path, table) in tables.items():
            gone = next((k for k in keys if k not in table), None)
            if gone is not None:
                raise DataDirError(f"{path} has no entry for {gone!r}, which {cands_path} lists: the dir is "
                                   "incomplete; write it again (tse2.bin.cls_data)")

        def example(key: str) -> Dict:
            data = {}
            for name, (path, table) in tables.items():
                data[name] = table[key] if name == "prompt" else read_audio(table[key], self.fs)[0]
            return self.preprocess(key, data)

        # checked above, before the first batch; read lazily, a batch at a time
        return ((keys[i:i + batch_size], collate([example(k) for k in keys[i:i + batch_size]]))
                for i in range(0, len(keys), batch_size))

    def __call__(self, cands: np.ndarray, fs: int, prompt: Optional[str] = None,
                 enroll: Optional[np.ndarray] = None) -> Tuple[int, List[float], Dict]:
        import torch

        data = {"cand1": np.asarray(cands[0], dtype=np.float32), "cand2": np.asarray(cands[1], dtype=np.float32)}
        if self.cue == "text":
            if prompt is None or not str(prompt).strip():
                raise ValueError("this extractor's classifier needs a text prompt")
            data["prompt"] = prompt
        else:
            if enroll is None:
                raise ValueError("this extractor's classifier selects by enrollment: give an enrollment utterance")
            data["enroll"] = np.asarray(enroll, dtype=np.float32)
        data = self.preprocess("input", data)
        batch = {}
        for k, v in data.items():
            t = torch.as_tensor(v)[None]
            batch[k], batch[f"{k}_lengths"] = t, torch.tensor([t.shape[1]])
        s1, s2 = self.similarities(batch)
        sims = [float(s1[0]), float(s2[0])]
        details = {"similarity": sims}
        if self.cue == "text":
            warnings = prompt_warnings(prompt, self.preprocess.tokenizer, self.preprocess.max_prompt_tokens,
                                       abs(sims[0] - sims[1]))
            if warnings:
                details["warning"] = " ".join(warnings)
                log.warning("%s", details["warning"])
        return int(np.argmax(sims)), sims, details


def collate(examples: List[Dict]) -> Dict:
    """Zero-padded tensors of equal-keyed examples, with ``<key>_lengths`` (the first axis)."""
    import torch

    out = {}
    for key in examples[0]:
        rows = [torch.as_tensor(np.asarray(e[key])) for e in examples]
        out[key] = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=0)
        out[f"{key}_lengths"] = torch.tensor([r.shape[0] for r in rows], dtype=torch.long)
    return out


def prompt_warnings(prompt: str, tokenizer, limit: int, margin: float) -> List[str]:
    """What a user should know about how the classifier read ``prompt``: the part past the text
    model's token limit (ignored, and the cue words it held), no cue word in the part it read,
    contradictory cue words.  The cue check reads the same text the model reads."""
    from tse2.cues.parse import PromptParseError, contradictions, parse_prompt
    from tse2.models.encoders import clip_middle, ignored_tail

    out = []
    tail = ignored_tail(tokenizer, prompt, limit) if tokenizer is not None else ""
    read = prompt[:len(prompt.rstrip()) - len(tail)] if tail else prompt
    if tail:
        try:
            lost = ", ".join(f"{r.cue} ({r.word!r})" for r in parse_prompt(tail))
        except PromptParseError:
            lost = ""
        out.append(f"the prompt is longer than the {limit} tokens the text model reads: "
                   f"{clip_middle(tail)!r} was ignored" + (f", with its cue words: {lost}" if lost else "") + ".")
    try:
        parse_prompt(read)
    except PromptParseError:
        out.append(f"the prompt {clip_middle(read)!r} names no cue the classifier was trained on "
                   "(pitch, loudness, language, gender, ...): the choice is a guess "
                   f"(score margin {margin:.3f}).")
    for c in contradictions(read):
        out.append(f"the prompt contradicts itself ({c}): the choice is a guess (score margin {margin:.3f}).")
    return out
