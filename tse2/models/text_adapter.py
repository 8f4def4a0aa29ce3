"""Text adapters: LoRA on a sentence encoder, trained on prompt *text* alone to tell the cue values
apart, then merged into the encoder's weights, which stay frozen in the classifier (issue 35).

Why: the extraction classifier's text side is a frozen MiniLM (each prompt is encoded once and
kept), and it reads the hand-written sentences far worse than the training phrasings (text_clean
74.7 % against 85.6 %).  ``bench/text_encoders.py`` found that gap to be training's, not the
encoder's: LoRA on MiniLM, trained on the training grammar alone, reads the hand-written sentences
at 87.5 % where the frozen encoder reads 64.1 %.  LoRA inside the classifier cost 7.5 min an epoch
on the 2-core machine (every prompt through the encoder, forward and backward, every step); an
adapter trained once on text (a minute) and merged keeps the classifier's training as cheap as it
was, and the adapted encoder stays frozen and cached.

What is written here and why: peft trains the LoRA (``get_peft_model``); what an adapter dir keeps
is only the LoRA factors (``adapter.safetensors``, ~0.7 MB in float16) and ``adapter.json`` (the
base model's name and sha256, rank, scale, classes, the data it saw and its accuracies).  Merging
(``W += scale · B · A``) is a few lines that work on both the lite BERT (``tse2.models.lite``) and
transformers' model, which name their modules the same way; peft's own ``merge_and_unload`` needs
the transformers model and would bring its import back into every classifier start-up.

An adapter is named in a config as ``text_encoder_conf.adapter``: a directory, or
``tse2://adapters/<name>`` for one shipped in this package (``tse2/models/adapters/``), so that a
released or packed classifier finds it wherever tse2 is installed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch
import torch.nn as nn

from tse2.utils.fileio import sha256 as file_sha256

log = logging.getLogger(__name__)

ADAPTERS = Path(__file__).resolve().parent / "adapters"
FILES = ("adapter.json", "adapter.safetensors")


def resolve_adapter_dir(spec: str) -> Path:
    """``tse2://adapters/<name>`` (shipped in this package) or a directory → the adapter dir; one
    without its two files is named."""
    if spec.startswith("tse2://"):
        rest = spec[len("tse2://"):]
        if not rest.startswith("adapters/"):
            raise FileNotFoundError(f"text adapter {spec}: tse2:// names adapters/<name> only")
        path = ADAPTERS / rest[len("adapters/"):]
    else:
        path = Path(spec).expanduser()
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        known = sorted(p.name for p in ADAPTERS.iterdir() if (p / FILES[0]).is_file()) if ADAPTERS.is_dir() else []
        raise FileNotFoundError(f"text adapter {spec}: {path} has no {' or '.join(missing)} (an adapter dir is "
                                "written by 'python -m tse2.bin.text_adapter train'; shipped: "
                                + (", ".join(f"tse2://adapters/{k}" for k in known) or "none") + ")")
    return path


def base_weights(model_dir: str) -> Path:
    """The weights file of a (resolved) model dir, whose sha256 ties an adapter to its base."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (Path(model_dir) / name).is_file():
            return Path(model_dir) / name
    raise FileNotFoundError(f"{model_dir}: no model.safetensors or pytorch_model.bin")


def read_adapter(spec: str) -> Tuple[Dict, Dict[str, Tuple[torch.Tensor, torch.Tensor]]]:
    """(meta, {module name: (A (r, in), B (out, r))}) of an adapter dir."""
    from safetensors.torch import load_file

    path = resolve_adapter_dir(spec)
    try:
        meta = json.loads((path / "adapter.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "adapter.safetensors"))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is named
        raise ValueError(f"text adapter {spec}: unreadable ({exc})") from None
    factors: Dict[str, Tuple[torch.Tensor, torch.Tensor]] = {}
    for key in sorted(tensors):
        if key.endswith(".lora_A"):
            name = key[: -len(".lora_A")]
            if name + ".lora_B" not in tensors:
                raise ValueError(f"text adapter {spec}: {name} has lora_A but no lora_B")
            factors[name] = (tensors[key].float(), tensors[name + ".lora_B"].float())
    if not factors or "scale" not in meta:
        raise ValueError(f"text adapter {spec}: no LoRA factors or no scale in adapter.json")
    return meta, factors


@torch.no_grad()
def merge_adapter(model: nn.Module, spec: str, model_dir: str) -> Dict:
    """Adds ``scale · B · A`` to the weight of every linear layer the adapter names, in place; the
    adapter must have been trained on this very base model (its sha256).  Returns the meta."""
    meta, factors = read_adapter(spec)
    want = meta.get("base_sha256")
    have = file_sha256(base_weights(model_dir))
    if want != have:
        raise ValueError(f"text adapter {spec} was trained on {meta.get('base')} (sha256 {str(want)[:12]}…), "
                         f"not on {model_dir} (sha256 {have[:12]}…)")
    from tse2.models.checkpoint import add_lora

    add_lora(model, factors, float(meta["scale"]), f"text adapter {spec}")
    log.info("text adapter %s merged into %d layers", spec, len(factors))
    return meta


# ------------------------------------------------------------------ training data (extraction cues)

def extraction_classes(langs: Optional[Sequence[str]] = None) -> List[str]:
    """The classes an extraction adapter tells apart: each directional value of a relative cue
    (``pitch higher``, ``gender f``, ...), each language, each emotion, and ``transcription``."""
    from tse2.corpus.embedded import EMOTIONS
    from tse2.cues.labels import CONTINUOUS
    from tse2.cues.prompts import LANGUAGE_NAMES

    out = [f"{c.name} {v}" for c in CONTINUOUS for v in (c.above, c.below)] + ["gender f", "gender m"]
    out += [f"language {code}" for code in (langs or LANGUAGE_NAMES)]
    out += [f"emotion {e}" for e in EMOTIONS] + ["transcription"]
    return out


def _label_of(cls: str, rng: np.random.Generator, texts: Sequence[str]):
    from tse2.cues.labels import CueLabel

    cue, _, value = cls.rpartition(" ")
    if cls == "transcription":
        return CueLabel("transcription", str(texts[int(rng.integers(len(texts)))]), None, None)
    return CueLabel(cue, value, None, None)


def extraction_examples(classes: Sequence[str], n: int, part: str, seed: int, texts: Sequence[str],
                        multi: float = 0.3, variety: float = 0.5) -> List[Tuple[str, Set[int]]]:
    """``n`` prompts with their class sets, worded as stage 4 words them: in the ``train`` part, a
    ``variety`` share from the prompt-variety engine's training grammar and the rest from the
    training templates, a ``multi`` share naming 2-3 cues; ``heldout``: the engine's held-out
    grammar; ``handwritten``: the hand-written sentences (single cues), slots filled."""
    from tse2.cues.prompts import cue_word, render
    from tse2.cues.variety import extraction_prompt

    rng = np.random.default_rng([seed, {"train": 0, "heldout": 1, "handwritten": 2}[part]])
    by_cue: Dict[str, List[int]] = {}
    for i, c in enumerate(classes):
        by_cue.setdefault(c.rpartition(" ")[0] if c != "transcription" else c, []).append(i)
    cues = sorted(by_cue)
    out: List[Tuple[str, Set[int]]] = []
    tries = 0
    while len(out) < n and tries < 20 * n:
        tries += 1
        k = 1
        if part == "train" and rng.random() < multi:
            k = int(rng.integers(2, 4))
        picked = [cues[i] for i in sorted(rng.choice(len(cues), size=k, replace=False))]
        idx = {int(rng.choice(by_cue[c])) for c in picked}
        labels = [_label_of(classes[i], rng, texts) for i in sorted(idx)]
        if part == "handwritten":
            text = render(labels, "relative", rng, "handwritten")
        elif part == "heldout" or rng.random() < variety:
            text = extraction_prompt(labels, rng, "train" if part == "train" else "heldout",
                                     word=lambda lab: cue_word(lab, "relative"))
        else:
            text = render(labels, "relative", rng, "train")
        if text:
            out.append((text, idx))
    return out


# ------------------------------------------------------------------ training data (remix instructions)

def remix_classes() -> List[str]:
    """The classes a remix adapter tells apart: the 16 remixing tasks (``task TSE`` ...; OVC split
    into ``task OVC up``/``down``, since the direction is the one thing its prompt says) and the
    sound categories an instruction acts on (``sound birds`` ...)."""
    from tse2.corpus.sounds import CATEGORIES
    from tse2.simulation.remix_tasks import TASKS

    tasks = [t for t in TASKS if t != "OVC"] + ["OVC up", "OVC down"]
    return [f"task {t}" for t in tasks] + [f"sound {c.name}" for c in CATEGORIES]


def _remix_sources(rng: np.random.Generator):
    """A mixture's sources as the remix recipe composes them (mostly 2 speech + 2 audio, the
    zero-shot compositions too): talkers that differ in gender or style, distinct categories."""
    from tse2.corpus.sounds import CATEGORIES
    from tse2.simulation.remix_tasks import AUDIO, SPEECH, STYLE_WORDS, Source

    n_s, n_a = [(2, 2), (2, 2), (2, 2), (2, 1), (1, 2), (2, 0)][int(rng.integers(6))]
    genders = ["f", "m"] if rng.random() < 0.5 else [str(rng.choice(["f", "m"]))] * 2
    styles = [str(s) for s in rng.choice(sorted(STYLE_WORDS), size=2, replace=False)]
    speech = [Source(SPEECH, gender=genders[k], style=styles[k]) for k in range(n_s)]
    audio = [Source(AUDIO, category=CATEGORIES[int(k)].name) for k in rng.choice(len(CATEGORIES), n_a, replace=False)]
    return speech + audio


def remix_examples(classes: Sequence[str], n: int, part: str, seed: int,
                   variety: float = 0.5) -> List[Tuple[str, Set[int]]]:
    """``n`` instructions with their class sets (the task, and the categories of the sounds it acts
    on), worded as the remix recipe words them: ``train``, a ``variety`` share from the engine's
    training grammar and the rest from the templates; ``heldout``: the engine's held-out grammar
    and source words; ``handwritten``: the hand-written sentences with the training source words."""
    from tse2.simulation.remix_tasks import AUDIO, handwritten_prompt, sample_instruction

    index = {c: i for i, c in enumerate(classes)}
    rng = np.random.default_rng([seed, {"train": 0, "heldout": 1, "handwritten": 2}[part]])
    out: List[Tuple[str, Set[int]]] = []
    while len(out) < n:
        sources = _remix_sources(rng)
        ins = sample_instruction(sources, rng, held_out=part == "heldout", variety=variety if part == "train" else 0.0)
        text = handwritten_prompt(ins.task, ins.gains, sources, rng) if part == "handwritten" else ins.prompt
        task = ins.task if ins.task != "OVC" else f"OVC {'up' if ins.gains[0] > 1 else 'down'}"
        idx = {index[f"task {task}"]}
        if ins.task in ("TAE", "TAR", "TAU", "TAD", "MVC", "MEVC"):
            named = [s for s, g in zip(sources, ins.gains) if (g == 1.0) == (ins.task == "TAE")]
            idx |= {index[f"sound {s.category}"] for s in named if s.kind == AUDIO}
        out.append((text, idx))
    return out


# ------------------------------------------------------------------ training

class _Tuned(nn.Module):
    def __init__(self, model_dir: str, n_classes: int, r: int, alpha: int, dropout: float) -> None:
        super().__init__()
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModel

        base = AutoModel.from_pretrained(model_dir)
        names = {n.rsplit(".", 1)[-1] for n, m in base.named_modules() if isinstance(m, nn.Linear)}
        # BERT names its attention query/key/value (+ dense), MPNet q/k/v/o, decoder LLMs *_proj
        self.targets = sorted(names & {"query", "key", "value", "dense", "q", "k", "v", "o",
                                       "q_proj", "k_proj", "v_proj", "o_proj"})
        # the pooler (BERT's [CLS] head) is not used by mean pooling: no LoRA there
        layers = [n for n, m in base.named_modules() if isinstance(m, nn.Linear)
                  and n.rsplit(".", 1)[-1] in self.targets and not n.startswith("pooler")]
        self.model = get_peft_model(base, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                                                     target_modules=layers, bias="none"))
        self.head = nn.Linear(base.config.hidden_size, n_classes)

    def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp_min(1.0)

    def forward(self, ids, mask):
        return self.head(self.embed(ids, mask))

    def factors(self) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        out = {}
        for name, module in self.model.named_modules():
            if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}) and "pooler" not in name:
                key = name.removeprefix("base_model.model.")
                out[key] = (module.lora_A["default"].weight.detach().clone(),
                            module.lora_B["default"].weight.detach().clone())
        return out


def _batches(tok, rows, size):
    for i in range(0, len(rows), size):
        part = rows[i:i + size]
        enc = tok([t for t, _ in part], padding=True, truncation=True, max_length=64, return_tensors="pt")
        yield enc["input_ids"], enc["attention_mask"], part


def train(model_dir: str, classes: Sequence[str], train_rows: Sequence[Tuple[str, Set[int]]],
          eval_sets: Dict[str, Sequence[Tuple[str, Set[int]]]], r: int = 8, alpha: int = 8, epochs: int = 4,
          lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
          score_on: Optional[Sequence[int]] = None) -> Tuple[Dict, Dict[str, float]]:
    """LoRA + a linear head (cross-entropy; a prompt naming k cues has k targets of 1/k each) on
    ``train_rows``; returns (LoRA factors, accuracy of each eval set's single-class prompts: top
    class right; with ``score_on``, of every prompt: its top class among those right)."""
    from transformers import AutoTokenizer

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    net = _Tuned(model_dir, len(classes), r, alpha, 0.05)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    rows = list(train_rows)
    order = np.random.default_rng(seed)
    for epoch in range(epochs):
        net.train()
        rows = [rows[i] for i in order.permutation(len(rows))]
        total = 0.0
        for ids, mask, part in _batches(tok, rows, batch_size):
            target = torch.zeros(len(part), len(classes))
            for b, (_, idx) in enumerate(part):
                target[b, sorted(idx)] = 1.0
            # cross-entropy against the prompt's cues, shared equally (one cue: plain cross-entropy)
            loss = -(target / target.sum(1, keepdim=True) * net(ids, mask).log_softmax(1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(part)
        log.info("text adapter: epoch %d loss %.4f", epoch + 1, total / max(1, len(rows)))
    net.eval()
    acc: Dict[str, float] = {}
    per_class: Dict[str, Dict[str, float]] = {}  # eval set -> the cue (or task) of the prompt -> accuracy
    scored = sorted(set(score_on)) if score_on is not None else None
    with torch.no_grad():
        for name, data in eval_sets.items():
            single = [(t, idx) for t, idx in data if len(idx) == 1 or scored is not None]
            hits: Dict[str, List[int]] = {}
            for ids, mask, part in _batches(tok, single, 64):
                logits = net(ids, mask)
                if scored is not None:
                    keep = torch.full_like(logits, float("-inf"))
                    keep[:, scored] = 0.0
                    logits = logits + keep
                for p, (_, idx) in zip(logits.argmax(1).tolist(), part):
                    truth = sorted(idx if scored is None else idx.intersection(scored)) or sorted(idx)
                    group = _group(classes[truth[0]])
                    hits.setdefault(group, []).append(int(p in idx))
            total = [h for v in hits.values() for h in v]
            acc[name] = sum(total) / max(1, len(total))
            per_class[name] = {g: round(sum(v) / len(v), 4) for g, v in sorted(hits.items())}
    return {"factors": net.factors(), "targets": net.targets, "per_class": per_class}, acc


def _group(cls: str) -> str:
    """The cue of an extraction class (``pitch higher`` -> ``pitch``), the task of a remix class."""
    if cls.startswith("task "):
        return cls[len("task "):]
    return cls if cls == "transcription" else cls.rpartition(" ")[0]


def save(out: Path, factors: Dict[str, Tuple[torch.Tensor, torch.Tensor]], meta: Dict) -> None:
    """Writes ``adapter.safetensors`` (float16) and ``adapter.json`` into ``out`` atomically (a
    temporary sibling dir renamed over it)."""
    import os
    import shutil
    import tempfile

    from safetensors.torch import save_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tensors = {}
        for name, (a, b) in factors.items():
            tensors[f"{name}.lora_A"] = a.half().contiguous()
            tensors[f"{name}.lora_B"] = b.half().contiguous()
        save_file(tensors, str(tmp / "adapter.safetensors"))
        (tmp / "adapter.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        for p in (tmp, tmp / "adapter.json", tmp / "adapter.safetensors"):  # mkdtemp made it private
            p.chmod(0o755 if p.is_dir() else 0o644)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
