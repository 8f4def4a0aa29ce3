"""Separators measured per CPU-minute: dev SI-SDRi against the CPU time spent training.

    tools/venv/bin/python bench/separator_learning.py --recipe egs/mini_espeak/tse2 \\
        --candidates tflocoformer_tiny_dm blstm_256x2_dm tcn_dm "tflocoformer_tiny_dm:fs=8000" \\
        --budget_min 20 --eval_every_min 2.5 --jobs 2 --out bench/results/separator_learning

Each candidate is a separator config of ``egs/TEMPLATE/tse2/conf/tuning/sep_<name>.yaml`` (or a
path to one), built through tse2's enhancement task, with options after a colon:

- ``fs=8000``: the separator runs at 8 kHz: training mixtures and the dev mixtures are resampled
  to it, and its outputs are brought back to the data's rate before scoring;
- ``data=fixed``: training examples come from the recipe's fixed training mixtures (the stage-3
  set, cycled) instead of dynamic mixing; everything else is the same (crop, batch, seed);
- ``label=NAME``: the name in the table and the plot;
- any other ``key=value`` overrides that key of the config, dotted into its sections
  (``separator_conf.hidden=128``, ``batch_size=8``, ``dynamic_mixing_conf.chunk_length=32000``).

Training follows the config: its optimizer (AdamW, lr, weight decay), gradient clipping, batch
size and ``dynamic_mixing_conf.chunk_length``, on examples rendered by
:class:`tse2.simulation.dynamic.DynamicMixer` from the recipe's ``data/<train>_mix`` (stage 3 must
have run).  The budget is CPU time of the training process (``time.process_time``: every thread
counts), so a candidate with two threads spends it twice as fast as with one; evaluations are
not charged.  Every ``--eval_every_min`` CPU-minutes, and at the end, the model separates the
first ``--dev_mixtures`` mixtures of ``data/<valid>_mix`` whole and the bench records the PIT
SI-SDRi (mean over both talkers) and the SI-SDRi of the output nearer the target (oracle
selection), as stage 6 computes them.

Candidates run in separate processes, ``--jobs`` at a time with ``--threads`` each.  Output: the
table on stdout, ``<out>/curves.json`` and ``<out>/separator_learning.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TUNING = ROOT / "egs/TEMPLATE/tse2/conf/tuning"


def parse_candidate(spec: str) -> Dict:
    import yaml

    name, _, opts = spec.partition(":")
    config = Path(name) if name.endswith(".yaml") else TUNING / f"sep_{name}.yaml"
    cand = {"spec": spec, "config": str(config), "fs": 0, "data": "dynamic", "label": spec, "override": {}}
    for item in filter(None, opts.split(",")):
        key, _, value = item.partition("=")
        if not key or not value:
            raise SystemExit(f"candidate {spec!r}: options are key=value, got {item!r}")
        if key in ("fs", "data", "label"):
            cand[key] = int(value) if key == "fs" else value
        else:  # a config key, dotted into sub-dicts: separator_conf.hidden=128
            cand["override"][key] = yaml.safe_load(value)
    if cand["data"] not in ("dynamic", "fixed"):
        raise SystemExit(f"candidate {spec!r}: data must be dynamic or fixed")
    if not config.is_file():
        raise SystemExit(f"candidate {spec!r}: no config {config}")
    return cand


# ------------------------------------------------------------------------------------ worker


class FixedExamples:
    """The stage-3 training mixtures, cycled, cropped by the dynamic mixer's rule."""

    def __init__(self, mix_dir: Path, chunk_length: int, seed: int) -> None:
        from tse2.utils.audio import read_audio
        from tse2.utils.fileio import read_jsonl

        self.rows = read_jsonl(mix_dir / "mixtures.jsonl")
        self.sig = [np.stack([read_audio(r["wav"][k])[0] for k in ("mix", "s1", "s2")]) for r in self.rows]
        self.chunk_length, self.seed = chunk_length, seed

    def example(self, epoch: int, index: int):
        from tse2.simulation.dynamic import crop_around_overlap

        k = index % len(self.rows)
        r, sig = self.rows[k], self.sig[k]
        if self.chunk_length:
            spans = [(round(r[s]["onset"] * 16000), round(r[s]["length"] * 16000)) for s in ("s1", "s2")]
            sig = crop_around_overlap(sig, self.chunk_length, spans, np.random.default_rng([self.seed, epoch, index]))
        return r["mix"], {"speech_mix": sig[0], "speech_ref1": sig[1], "speech_ref2": sig[2]}


def resolved_config(cand: Dict) -> Dict:
    import yaml

    conf = yaml.safe_load(Path(cand["config"]).read_text())
    for key, value in cand.get("override", {}).items():
        *path, last = key.split(".")
        d = conf
        for p in path:
            d = d.setdefault(p, {})
        d[last] = value
    return conf


def build_model(conf: Dict):
    import yaml

    from tse2.tasks.enh import Tse2EnhancementTask

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(yaml.safe_dump(conf))
        args = Tse2EnhancementTask.get_parser().parse_args(["--config", str(path), "--output_dir", tmp])
    return Tse2EnhancementTask.build_model(args), args


def evaluate(model, dev, data_fs: int, model_fs: int) -> Dict[str, float]:
    import torch
    from scipy.signal import resample_poly

    from tse2.inference.separator import run_separator
    from tse2.scoring.metrics import si_sdr

    model.eval()
    pit, tgt = [], []
    with torch.no_grad():
        for mix, refs, target in dev:
            x = mix if model_fs == data_fs else resample_poly(mix, model_fs, data_fs)
            est = run_separator(model, x).astype(np.float64)
            if model_fs != data_fs:
                est = np.stack([resample_poly(e, data_fs, model_fs)[: len(mix)] for e in est])
                est = np.pad(est, ((0, 0), (0, len(mix) - est.shape[1])))
            s = [[si_sdr(e, r) for r in refs] for e in est]  # output x reference
            base = [si_sdr(mix, r) for r in refs]
            perm = (0, 1) if s[0][0] + s[1][1] >= s[0][1] + s[1][0] else (1, 0)
            pit.append(np.mean([s[perm[0]][0] - base[0], s[perm[1]][1] - base[1]]))
            tgt.append(max(s[0][target], s[1][target]) - base[target])
    model.train()
    return {"pit_sisdri": float(np.mean(pit)), "target_sisdri": float(np.mean(tgt))}


def worker(args) -> int:
    import torch
    from scipy.signal import resample_poly

    from tse2.simulation.dynamic import DynamicMixer
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import read_map

    cand = json.loads(args.worker)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    conf = resolved_config(cand)
    model, _ = build_model(conf)
    recipe = Path(args.recipe)
    train_mix, dev_mix = recipe / f"data/{args.train_set}_mix", recipe / f"data/{args.valid_set}_mix"
    data_fs = 16000
    chunk = int((conf.get("dynamic_mixing_conf") or {}).get("chunk_length", conf.get("chunk_length", 32000)))
    if cand["data"] == "fixed":
        source = FixedExamples(train_mix, chunk, args.seed)
    else:
        source = DynamicMixer(train_mix, seed=args.seed, chunk_length=chunk)
        data_fs = source.cfg.fs
    model_fs = cand["fs"] or data_fs
    wavs = read_map(dev_mix / "wav.scp")
    spk = [read_map(dev_mix / f"spk{k}.scp") for k in (1, 2)]
    targets = read_map(dev_mix / "utt2target")
    dev = [(read_audio(wavs[m])[0].astype(np.float64), [read_audio(s[m])[0].astype(np.float64) for s in spk],
            int(targets[m]) - 1) for m in sorted(wavs)[: args.dev_mixtures]]

    optim_conf = dict(conf.get("optim_conf") or {})
    if conf.get("optim", "adamw") != "adamw":
        raise SystemExit(f"{cand['config']}: the bench trains with AdamW (optim: adamw)")
    opt = torch.optim.AdamW(model.parameters(), **optim_conf)
    clip = float(conf.get("grad_clip", 5.0))
    batch = int(conf.get("batch_size", 4))
    params = sum(p.numel() for p in model.parameters())
    budget, every = args.budget_min * 60, args.eval_every_min * 60
    curve: List[Dict] = []
    cpu0, wall0, charged_eval = time.process_time(), time.time(), 0.0
    step, losses, next_eval = 0, [], 0.0

    def spent() -> float:
        return time.process_time() - cpu0 - charged_eval

    def record():
        nonlocal charged_eval
        t = time.process_time()
        point = {"cpu_min": spent() / 60, "wall_min": (time.time() - wall0) / 60, "steps": step,
                 "train_loss": float(np.mean(losses)) if losses else None, **evaluate(model, dev, data_fs, model_fs)}
        charged_eval += time.process_time() - t
        losses.clear()
        curve.append(point)
        print(json.dumps({"candidate": cand["label"], **point}), flush=True)
        save(complete=False)

    def save(complete: bool) -> None:  # after every point, so a run stopped early keeps its curve
        part = Path(args.worker_out)
        tmp = part.with_suffix(".tmp")
        tmp.write_text(json.dumps({**cand, "params": params, "batch": batch, "chunk": chunk, "threads": args.threads,
                                   "complete": complete, "curve": curve}, indent=1))
        tmp.replace(part)

    model.train()
    while spent() < budget:
        if spent() >= next_eval:
            record()
            next_eval += every
        items = [source.example(1, step * batch + j)[1] for j in range(batch)]
        sig = {k: np.stack([it[k] for it in items]) for k in items[0]}
        if model_fs != data_fs:
            sig = {k: resample_poly(v, model_fs, data_fs, axis=1) for k, v in sig.items()}
        x = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in sig.items()}
        x["speech_mix_lengths"] = torch.full((batch,), x["speech_mix"].shape[1], dtype=torch.long)
        loss, _, _ = model(**x)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
    record()
    save(complete=True)
    return 0


# ------------------------------------------------------------------------------------ parent


def plot(results: List[Dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for r in results:
        xs = [p["cpu_min"] for p in r["curve"]]
        for ax, key in zip(axes, ("pit_sisdri", "target_sisdri")):
            ax.plot(xs, [p[key] for p in r["curve"]], marker="o", ms=3, label=f"{r['label']} ({r['params'] / 1e6:.2f} M)")
    for ax, title in zip(axes, ("PIT SI-SDRi (both talkers)", "SI-SDRi of the target output (oracle selection)")):
        ax.set_xlabel("training CPU-minutes")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.axhline(0, color="k", lw=0.5)
    top = max(p[k] for r in results for p in r["curve"] for k in ("pit_sisdri", "target_sisdri"))
    axes[0].set_ylim(-3, top + 1)  # an untrained model's outputs (-20 dB and below) would flatten the curves
    axes[0].set_ylabel("dev SI-SDRi (dB); the untrained start, below -3 dB, is cut")
    axes[1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(results: List[Dict]) -> str:
    lines = ["| candidate | parameters | batch x s | steps | CPU-min | wall-min | s/step (CPU) | best dev PIT SI-SDRi "
             "(dB) | at CPU-min | final dev PIT SI-SDRi (dB) | final target SI-SDRi (dB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r["curve"]
        best = max(c, key=lambda p: p["pit_sisdri"])
        last = c[-1]
        stopped = "" if r.get("complete", True) else " (stopped early)"
        lines.append(f"| {r['label']}{stopped} | {r['params'] / 1e6:.3f} M | {r['batch']} x {r['chunk'] / 16000:.1f} | "
                     f"{last['steps']} | {last['cpu_min']:.1f} | {last['wall_min']:.1f} | "
                     f"{last['cpu_min'] * 60 / max(last['steps'], 1):.2f} | {best['pit_sisdri']:.2f} | "
                     f"{best['cpu_min']:.1f} | {last['pit_sisdri']:.2f} | {last['target_sisdri']:.2f} |"
)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default=str(ROOT / "egs/mini_espeak/tse2"))
    parser.add_argument("--train_set", default="train")
    parser.add_argument("--valid_set", default="dev")
    parser.add_argument("--candidates", nargs="+", default=["tflocoformer_tiny_dm", "blstm_256x2_dm"])
    parser.add_argument("--budget_min", type=float, default=20.0, help="training CPU-minutes per candidate")
    parser.add_argument("--eval_every_min", type=float, default=2.5)
    parser.add_argument("--dev_mixtures", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per candidate")
    parser.add_argument("--jobs", type=int, default=2, help="candidates trained at the same time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench/results/separator_learning"))
    parser.add_argument("--collect", action="store_true",
                        help="only rebuild the table, curves.json and the plot from <out>/curve_*.json "
                             "(a candidate stopped early keeps the points it reached)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker_out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    out = Path(args.out)
    if args.collect:
        return collect(sorted(out.glob("curve_*.json")), out)
    cands = [parse_candidate(s) for s in args.candidates]
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(cands)} candidates, {args.budget_min} training CPU-minutes each, {args.threads} thread(s), "
          f"{args.jobs} at a time; dev: {args.dev_mixtures} mixtures of {args.recipe}/data/{args.valid_set}_mix", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    pending, running, parts = list(enumerate(cands)), [], []
    while pending or running:
        while pending and len(running) < args.jobs:
            k, cand = pending.pop(0)
            part = out / f"curve_{k:02d}.json"
            cmd = [sys.executable, __file__, "--worker", json.dumps(cand), "--worker_out", str(part),
                   *[f"--{n}={getattr(args, n)}" for n in ("recipe", "train_set", "valid_set", "budget_min",
                                                            "eval_every_min", "dev_mixtures", "threads", "seed")]]
            running.append((subprocess.Popen(cmd, env=env), part, cand))
            parts.append(part)
        for item in list(running):
            if item[0].poll() is not None:
                running.remove(item)
                if item[0].returncode != 0:
                    print(f"candidate {item[2]['spec']} failed (exit {item[0].returncode})", flush=True)
        time.sleep(2)
    return collect(parts, out)


def collect(parts: List[Path], out: Path) -> int:
    results = [json.loads(p.read_text()) for p in parts if p.is_file()]
    if not results:
        raise SystemExit(f"{out}: no curve_*.json to collect")
    (out / "curves.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "separator_learning.png")
    print(table(results))
    print(f"\ncurves: {out / 'curves.json'}; plot: {out / 'separator_learning.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
