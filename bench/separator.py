"""Benchmark of the TF-Locoformer separator configs: size, training step time, inference speed.

    tools/venv/bin/python bench/separator.py [--threads 2] [--configs tiny small paper] [--device cpu|cuda]

For each shipped config (egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_<name>.yaml) prints the
parameter count, the time of one training step (forward, PIT SI-SNR loss, backward, AdamW) on a
batch of ``--batch`` mixtures of ``--train_s`` seconds, and the inference real-time factor on one
``--infer_s``-second mixture (compute seconds per second of audio; < 1 is faster than real time),
with peak GPU memory when run on CUDA.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["tiny", "small", "paper"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--train_s", type=float, default=2.0)
    parser.add_argument("--infer_s", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import torch
    import yaml
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.enh.loss.wrappers.pit_solver import PITSolver

    from tse2.models.tf_locoformer import TFLocoformerSeparator

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    fs = 16000
    print(f"device {args.device}, {args.threads} threads; train: batch {args.batch} x {args.train_s} s; "
          f"inference: 1 x {args.infer_s} s\n")
    print("| config | parameters | train step (s) | inference RTF | peak GPU memory |\n|---|---|---|---|---|")
    for name in args.configs:
        path = ROOT / f"egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_{name}.yaml"
        conf = yaml.safe_load(path.read_text())
        model = TFLocoformerSeparator(**conf["separator_conf"]).to(dev)
        params = sum(p.numel() for p in model.parameters())
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        pit = PITSolver(criterion=SISNRLoss())
        x = torch.randn(args.batch, int(args.train_s * fs), device=dev)
        refs = [torch.randn_like(x), torch.randn_like(x)]
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(args.repeats + 1):  # the first step warms up
            t = time.perf_counter()
            opt.zero_grad()
            est = model.separate(x)
            loss, _, _ = pit(refs, [est[:, 0], est[:, 1]])
            loss.backward()
            opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        step = min(times[1:])
        model.eval()
        y = torch.randn(1, int(args.infer_s * fs), device=dev)
        with torch.no_grad():
            model.separate(y)
            t = time.perf_counter()
            for _ in range(args.repeats):
                model.separate(y)
            if dev.type == "cuda":
                torch.cuda.synchronize()
        rtf = (time.perf_counter() - t) / args.repeats / args.infer_s
        mem = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if dev.type == "cuda" else "-"
        print(f"| {name} | {params / 1e6:.3f} M | {step:.3f} | {rtf:.3f} | {mem} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
