"""Benchmark of the classifier configs: training and inference examples per second.

    tools/venv/bin/python bench/classifier.py [--threads 2] [--configs cls_minilm_w2v_tiny ...] \\
        [--data_dir egs/mini_espeak/tse2/dump/cls/clean/text_relative/dev] [--device cpu|cuda]

Batches are real (mixture, prompt) examples of a ``tse2.bin.cls_data`` directory, in its order
(the prompts of a mixture together, as stage 7 batches them); without ``--data_dir`` the examples
are 6 s synthesized tone pairs with 8 prompts each.  For each config prints trainable / total
parameters, training examples/s (forward, BCE, backward, AdamW; batch ``--batch``) and inference
examples/s (similarities only), and the same training figure with every candidate encoded once per
example instead of once per batch (the baseline the de-duplication is measured against).
A config whose local model directories are missing (the paper's) is reported and skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPTS = ["Extract the speaker with the higher pitch.", "Isolate the speaker who starts first.",
           "Pick out the female speaker who sounds happy.", "Separate the speaker who speaks German.",
           "Please extract the louder speaker with a faster speaking rate.",
           "I want the speaker at a nearer distance from the microphone.",
           "Enhance the older speaker with a narrower pitch range.", "Extract the speaker who talks longer."]


def examples(data_dir, n):
    import soundfile as sf

    from tse2.utils.datadir import read_map

    if data_dir is None:
        t = np.arange(6 * 16000) / 16000
        out = []
        for i in range(n):
            m = i // len(PROMPTS)
            c1 = (0.3 * np.sin(2 * np.pi * (120 + m) * t)).astype(np.float32)
            c2 = (0.3 * np.sin(2 * np.pi * (240 + m) * t)).astype(np.float32)
            out.append((f"e{i}", dict(cand1=c1, cand2=c2, prompt=PROMPTS[i % len(PROMPTS)], label=np.array([i % 2]))))
        return out
    c1, c2 = read_map(data_dir / "cand1.scp"), read_map(data_dir / "cand2.scp")
    label, prompt = read_map(data_dir / "label"), read_map(data_dir / "prompt")
    keys = list(c1)[:n]
    cache = {}

    def load(p):
        if p not in cache:
            cache[p] = sf.read(p, dtype="float32")[0]
        return cache[p]

    return [(k, dict(cand1=load(c1[k]), cand2=load(c2[k]), prompt=prompt[k], label=np.array([int(label[k])])))
            for k in keys]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["cls_minilm_w2v_tiny", "cls_llama_xlsr_paper"])
    parser.add_argument("--data_dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    import torch
    import yaml

    from tse2.tasks.cls import Tse2ClassifierTask

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    data = examples(args.data_dir, args.batch * args.batches)
    print(f"device {args.device}, {args.threads} threads, batch {args.batch}, {args.batches} batches of "
          f"{'synthesized tone pairs' if args.data_dir is None else args.data_dir}\n")
    print("| config | trainable / total params | train ex/s | train ex/s, no de-dup | inference ex/s |\n"
          "|---|---|---|---|---|")
    for name in args.configs:
        path = ROOT / f"egs/TEMPLATE/tse2/conf/tuning/{name}.yaml"
        cfg = Tse2ClassifierTask.get_parser().parse_args(["--config", str(path), "--output_dir", "/tmp/unused"])
        try:
            model = Tse2ClassifierTask.build_model(cfg).to(dev)
        except FileNotFoundError as exc:
            print(f"| {name} | skipped: {exc} | | | |")
            continue
        pre = Tse2ClassifierTask.build_preprocess_fn(cfg, True)
        collate = Tse2ClassifierTask.build_collate_fn(cfg, True)
        batches = []
        for b in range(args.batches):
            items = [(k, pre(k, dict(d))) for k, d in data[b * args.batch:(b + 1) * args.batch]]
            batches.append({k: v.to(dev) for k, v in collate(items)[1].items()})
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4)

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        def train_rate(dedup: bool) -> float:
            model.train()
            original = model.encode_unique
            if not dedup:
                model.encode_unique = lambda w, l: model.speech_encoder(w, l)
            try:
                loss, _, _ = model(**batches[0])  # warm-up
                loss.backward()
                opt.zero_grad()
                sync()
                t0 = time.perf_counter()
                for batch in batches:
                    loss, _, _ = model(**batch)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 30)
                    opt.step()
                    opt.zero_grad()
                sync()
                return args.batch * len(batches) / (time.perf_counter() - t0)
            finally:
                model.encode_unique = original

        train = train_rate(True)
        train_nodedup = train_rate(False)
        model.eval()
        with torch.no_grad():
            model.similarities(**batches[0])
            sync()
            t0 = time.perf_counter()
            for batch in batches:
                model.similarities(**batch)
            sync()
            infer = args.batch * len(batches) / (time.perf_counter() - t0)
        total = sum(p.numel() for p in model.parameters())
        print(f"| {name} | {sum(p.numel() for p in params) / 1e6:.2f} M / {total / 1e6:.1f} M | {train:.1f} | "
              f"{train_nodedup:.1f} | {infer:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
