"""The remix runtime and end-user API: a recording and an instruction in, the remixed recording out.

    from tse2 import Remixer

    rm = Remixer.from_pretrained("egs/mini_espeak/remix/released/remix_blstm_minilm")
    result = rm(wav, "turn the birds down and remove the man", rate=44100)
    result.audio, result.fs, result.problems           # same shape and rate as wav

Any rate and channel count comes in: the model runs at its own rate (``rm.fs``, its config's
``fs``) on each channel (the same instruction for every channel) and the result goes back at the
input's rate.  ``from_pretrained`` takes an experiment dir, a release or a pack (``tse2-pack
--kind remixer``).

:meth:`Remixer.check_prompt` answers a prompt that names a sound the recording does not seem to
hold: for each sound category named in the prompt (the sound bank's words), it asks the model to
extract that category alone.  A model with a presence head (``remixer_conf: presence_hidden``)
answers with the head's probability that the category is there (absent below 0.5); a model
without one by how much of the recording the extraction is (absent below ``absent_db``, default
-25 dB against the mixture), so that near-silence is not passed off as a successful "keep only
the dog".
"""

from __future__ import annotations

import argparse
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from tse2.inference.common import Runtime
from tse2.models.checkpoint import resolved_config
from tse2.utils.audio import model_rate

log = logging.getLogger("tse2.remix")


@dataclass
class Remix:
    """The remixer's answer: ``audio`` in the input's shape, at ``fs`` (the input's rate)."""

    audio: np.ndarray
    fs: int
    prompt: str
    problems: List[str] = field(default_factory=list)  # what the prompt reader found wrong (remixed anyway)


@dataclass
class CategoryCheck:
    category: str
    word: str
    level_db: float  # the extracted category's energy against the mixture's
    present: bool
    presence: Optional[float] = None  # the presence head's probability that it is there (a model with one)


class Remixer(Runtime):
    """A trained LCR model (``tse2.bin.remix_train``): ``remixer(audio, prompt, rate=None) -> Remix``."""

    CHECKPOINTS = ("model.pth", "valid.snri.best.pth", "valid.loss.best.pth", "latest.pth")
    WHAT, STAGE, PACK_KIND = "trained remixer", 3, "remixer"

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        from tse2.models.checkpoint import build_named, load_state, merged_lora_conf
        from tse2.models.remix_build import build_remix_preprocess, build_remixer  # not the ESPnet task: ~10 s less

        conf = resolved_config(config)
        rconf = dict(conf.get("remixer_conf") or {})
        rconf.pop("init_from", None)  # the checkpoint has every weight
        conf["remixer_conf"] = rconf
        lora_scale = merged_lora_conf(conf)  # the prompt reader's LoRA merged: no peft at inference
        args = argparse.Namespace(**conf)
        self.model = build_named(build_remixer, args, config, "remixer")
        load_state(self.model, model_file, config, device, lora_scale)
        self.model.to(device).eval()
        self.preprocess = build_remix_preprocess(args, False)
        self.fs = model_rate(conf, str(config))
        self.device, self.model_file = device, Path(model_file)

    @property
    def has_presence(self) -> bool:
        """Whether the model has a presence head (it then says whether what a prompt names is there)."""
        return bool(getattr(self.model, "has_presence", False))

    def remix_mono(self, mixture: np.ndarray, prompt: str) -> np.ndarray:
        """(N,) float mixture at the model's rate → (N,) remix."""
        return self.remix_and_presence(mixture, prompt)[0]

    def remix_and_presence(self, mixture: np.ndarray, prompt: str):
        """(N,) float mixture at the model's rate → the (N,) remix and the presence head's
        probability that what the prompt names is in the mixture (None without a head)."""
        import torch

        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("the prompt is empty: say what to remix (e.g. 'remove the music')")
        ids = self.preprocess("x", {"prompt": prompt})["prompt"]
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(mixture, dtype=np.float32), device=self.device)[None]
            p = torch.as_tensor(ids, device=self.device)[None]
            est, prob = self.model.remix_and_presence(x, p, torch.tensor([x.shape[1]]))
        return est[0].cpu().numpy(), None if prob is None else float(prob[0])

    def __call__(self, audio: Union[np.ndarray, str, Path], prompt: str, rate: Optional[int] = None) -> Remix:
        """``audio`` (samples,) or (samples, channels) at ``rate`` (default the model's), or a file
        → the remix, same shape and rate.  A prompt the reader finds a problem with is remixed all
        the same, with a warning per problem (the CLI refuses it instead)."""
        from tse2.utils.audio import back_to_rate, check_recording, read_audio, to_model_input

        if isinstance(prompt, (int, np.integer)) and isinstance(rate, str):  # the 0.1 order: (audio, rate, prompt)
            warnings.warn("Remixer(audio, rate, prompt) is deprecated: call remixer(audio, prompt, rate=rate)",
                          DeprecationWarning, stacklevel=2)
            prompt, rate = rate, int(prompt)
        name = "input"
        if isinstance(audio, (str, Path)):
            name = str(audio)
            audio, rate = read_audio(name, mono=False)
        rate = int(rate or self.fs)
        problems = self.prompt_problems(prompt)
        for problem in problems:
            log.warning("prompt %r: %s", prompt, problem)

        audio = check_recording(audio, rate, name)
        chans = audio[:, None] if audio.ndim == 1 else audio
        out = np.zeros_like(chans, dtype=np.float32)
        for c in range(chans.shape[1]):
            x = to_model_input(chans[:, c], rate, self.fs, name=f"{name}, channel {c + 1}")
            out[:, c] = back_to_rate(self.remix_mono(x, prompt), self.fs, rate, chans.shape[0])
        return Remix(audio=out[:, 0] if audio.ndim == 1 else out, fs=rate, prompt=prompt, problems=problems)

    def prompt_problems(self, prompt: str) -> List[str]:
        """What is wrong with ``prompt`` for this model, in words (:func:`read_prompt`'s problems and
        the part past the text model's token limit); empty when it reads well."""
        from tse2.models.encoders import clip_middle, ignored_tail

        problems = list(read_prompt(prompt).problems)
        limit = getattr(self.preprocess, "max_prompt_tokens", None)
        tail = ignored_tail(self.preprocess.tokenizer, prompt, limit) if limit else ""
        if tail:
            problems.append(f"it is longer than the {limit} tokens the text model reads: {clip_middle(tail)!r} is ignored")
        return problems

    def check_prompt(self, audio: np.ndarray, rate: int, prompt: str, absent_db: float = -25.0) -> List[CategoryCheck]:
        """For every sound category and speaker gender the prompt names, whether the recording
        seems to hold it."""
        from tse2.utils.audio import to_model_input

        x = to_model_input(audio, rate, self.fs)
        named = named_categories(prompt) + named_speakers(prompt)
        out = []
        e_mix = float(np.mean(x ** 2)) + 1e-12
        for category, word in named:
            est, prob = self.remix_and_presence(x, f"Extract {word}.")
            level = 10 * np.log10((float(np.mean(est ** 2)) + 1e-12) / e_mix)
            present = level > absent_db if prob is None else prob >= 0.5
            out.append(CategoryCheck(category, word, round(level, 1), bool(present),
                                     None if prob is None else round(prob, 3)))
        return out


def named_categories(prompt: str) -> List[tuple]:
    """(category, the words used) for every sound-bank category the prompt names, longest words first."""
    from tse2.corpus.sounds import CATEGORIES

    text = " " + re.sub(r"[^a-z' -]", " ", prompt.lower()) + " "
    found, taken = [], []
    words = sorted(((w, c.name) for c in CATEGORIES for w in c.words + c.held_out), key=lambda x: -len(x[0]))
    for w, name in words:
        core = w[4:] if w.startswith("the ") else w
        m = re.search(rf"\b{re.escape(core)}\b", text)
        if m and not any(a <= m.start() < b for a, b in taken) and name not in [f[0] for f in found]:
            found.append((name, f"the {core}"))
            taken.append((m.start(), m.end()))
    return found


def named_speakers(prompt: str) -> List[tuple]:
    """("female speaker" | "male speaker", the words used) for every gender the prompt names
    ("the woman", "the gentleman", "the female voice"...: the prompts' own words)."""
    from tse2.simulation.remix_tasks import GENDER_NOUNS, GENDER_NOUNS_HELD_OUT

    text = " " + re.sub(r"[^a-z' -]", " ", prompt.lower()) + " "
    found = []
    for g, name in (("f", "female speaker"), ("m", "male speaker")):
        for w in sorted(GENDER_NOUNS[g] + GENDER_NOUNS_HELD_OUT[g], key=lambda w: -len(w)):
            if re.search(rf"\b{re.escape(w)}\b", text):
                found.append((name, f"the {w}"))
                break
    return found


def _action_patterns() -> List[tuple]:
    """(action, regex) for every verb frame of the prompt generator (the templates and both grammars of
    the prompt-variety engine),
    longest first: "make {x} louder" is ``\bmake\b.{0,80}?\blouder\b``."""
    from tse2.cues.variety import REMIX_GRAMMARS
    from tse2.simulation.remix_tasks import FREE_ACTIONS, VERBS

    out = []
    for verbs in (VERBS, REMIX_GRAMMARS["train"].actions, REMIX_GRAMMARS["heldout"].actions):
        for action, frames in verbs.items():
            for frame in frames:
                pre, post = (x.strip().lower() for x in frame.split("{x}"))
                pat = r"\b" + r"\s+".join(map(re.escape, pre.split()))
                if post:  # what it acts on, up to the frame's end, without the frame's verb again
                    verb = re.escape(pre.split()[0]) if pre else None
                    gap = rf"(?:(?!\b{verb}\b).)" if verb else "."
                    pat += rf"\b{gap}{{0,200}}?\b" + r"\s+".join(map(re.escape, post.split()))
                out.append((len(frame), action, pat + r"\b"))
    out += [(len("turn {x} down"), "down", r"\bturn\b.{0,80}?\bdown\b"), (len("turn {x} up"), "up", r"\bturn\b.{0,80}?\bup\b")]
    out += [(priority, action, pat) for action, pats in FREE_ACTIONS.items() for pat, priority in pats]
    return [(a, p) for _, a, p in sorted(out, key=lambda x: -x[0])]


@dataclass
class PromptReading:
    """What the remix prompt reader understood: (action, span start) per verb frame, the named
    sources per action, and the problems a user should hear about (none: the prompt is readable)."""

    actions: List[tuple]
    named: dict
    problems: List[str]


def read_prompt(prompt: str) -> PromptReading:
    """Reads a remix prompt with the generator's own vocabulary: the verb frames (extract, remove,
    turn up, turn down) and what each applies to (a sound category, a speaker gender, the speech,
    the background, everything).  Each verb governs the words up to the next verb.  Problems: no
    verb frame, nothing named that the remixer knows, or one source given two actions ("remove the
    woman and keep only the woman")."""
    from tse2.simulation.remix_tasks import (AUDIO_GROUP, AUDIO_GROUP_HELD_OUT, EVERYTHING, EVERYTHING_HELD_OUT,
                                             FREE_GROUPS, NEGATED_ACTION, NEUTRAL_NOUNS, NEUTRAL_NOUNS_HELD_OUT,
                                             SPEECH_GROUP, SPEECH_GROUP_HELD_OUT, STYLE_WORDS, STYLE_WORDS_HELD_OUT)

    text = " ".join(str(prompt).lower().replace("’", "'").split())
    actions, taken = [], []
    for action, pat in _action_patterns():
        for m in re.finditer(pat, text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append((m.start(), m.end()))
                if not re.search(NEGATED_ACTION, text[:m.start()]):  # "don't remove the dog, just ..."
                    actions.append((action, m.start()))
    actions.sort(key=lambda x: x[1])
    named: dict = {}
    for k, (action, start) in enumerate(actions):
        segment = text[start:actions[k + 1][1] if k + 1 < len(actions) else len(text)]
        for name, _ in named_categories(segment) + named_speakers(segment):
            named.setdefault(name, [])
            if action not in named[name]:
                named[name].append(action)
    groups = [w for ws in (SPEECH_GROUP, SPEECH_GROUP_HELD_OUT, AUDIO_GROUP, AUDIO_GROUP_HELD_OUT, EVERYTHING,
                           EVERYTHING_HELD_OUT, NEUTRAL_NOUNS, NEUTRAL_NOUNS_HELD_OUT, FREE_GROUPS) for w in ws]
    groups += [w for table in (STYLE_WORDS, STYLE_WORDS_HELD_OUT) for adj, phr in table.values() for w in adj + phr]
    any_object = bool(named_categories(text) or named_speakers(text)) or any(
        re.search(rf"\b{re.escape(w[4:] if w.startswith('the ') else w)}\b", text) for w in groups)
    problems = []
    if not actions:
        problems.append("it holds no remix action the model knows (extract / keep only, remove, turn up, "
                        "turn down, ... in English)")
    if not any_object:
        from tse2.corpus.sounds import CATEGORIES

        problems.append("it names no speaker or sound the model knows (the man, the woman, the speech, the "
                        f"background, everything, or a sound: {', '.join(c.name for c in CATEGORIES)})")
    for name, acts in named.items():
        if len(acts) > 1:
            problems.append(f"it asks for {name} to be {' and '.join(ACTION_WORDS[a] for a in acts)}: "
                            "contradictory")
    return PromptReading(actions, named, problems)


ACTION_WORDS = {"extract": "kept alone", "remove": "removed", "up": "turned up", "down": "turned down"}


class CascadeSeparator(Runtime):
    """The ideal cascade's trained separator (``tse2.bin.remix_cascade_train``): separates all
    sources; :meth:`ideal_remix` matches them to the reference sources by PIT and sums them with
    the ground-truth gains (paper Table II, "PIT + G.T. actions")."""

    CHECKPOINTS = ("model.pth", "valid.snr.best.pth", "valid.loss.best.pth", "latest.pth")
    WHAT, STAGE, PACK_KIND = "trained cascade separator", 3, "cascade"

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        from tse2.models.checkpoint import build_named, load_state
        from tse2.models.remix_build import build_cascade

        conf = resolved_config(config)
        conf["separator_conf"] = {k: v for k, v in dict(conf.get("separator_conf") or {}).items() if k != "init_from"}
        self.model = build_named(build_cascade, argparse.Namespace(**conf), config, "cascade")
        load_state(self.model, model_file, config, device)
        self.model.to(device).eval()
        self.fs, self.device = model_rate(conf, str(config)), device

    def ideal_remix(self, mixture: np.ndarray, sources: np.ndarray, gains) -> np.ndarray:
        """(N,) mixture, (S, N) reference sources, S gains → (N,) the cascade's remix."""
        import torch

        from tse2.models.remix import pit_snr

        with torch.no_grad():
            est = self.model.separator.separate(torch.as_tensor(mixture, dtype=torch.float32)[None])
            refs = torch.as_tensor(np.asarray(sources, dtype=np.float32))[None]
            if est.shape[1] < refs.shape[1]:
                raise ValueError(f"the separator gives {est.shape[1]} sources, the mixture has {refs.shape[1]}")
            if est.shape[1] > refs.shape[1]:  # fewer sources than outputs (zero-shot): silent references
                refs = torch.cat([refs, torch.zeros(1, est.shape[1] - refs.shape[1], refs.shape[2])], dim=1)
                gains = list(gains) + [0.0] * (est.shape[1] - len(gains))
            _, perm = pit_snr(est, refs)
        g = torch.as_tensor(np.asarray(gains, dtype=np.float32))
        return (g[:, None] * est[0, perm[0]]).sum(0).numpy()
