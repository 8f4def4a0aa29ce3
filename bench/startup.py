"""Benchmark of the extractor's start-up: how long ``extract`` takes before and after its models load.

    tools/venv/bin/python bench/startup.py [--model_dir egs/mini_espeak/tse2/exp/packed/...] [--repeat 3]

Each measurement is a fresh ``python -m tse2.bin.extract`` process (what a user's shell runs), timed
wall-clock, the median of ``--repeat``:

- ``import torch``: the baseline every PyTorch tool pays, in the same run;
- bad audio (a NaN wav): rejected before any model loads;
- a 6 s two-talker mixture with the packed model and the attribute selector (the separator
  only), and with the trained classifier (separator + Whisper + MiniLM): the whole run.

With ``--recipe_dir`` (a recipe dir after ``make demo``), also stage 8's job: one ``tse2.bin.cls_inference
run`` of the text classifier over the test set's first 8 examples (its start-up is most of a job).

Prints seconds and the ratio to the baseline, then (``--steps``) where one classifier extraction's
time goes, step by step in one fresh process, and which heavy packages it imported (transformers,
librosa, scipy, ...: the classifier's frozen Whisper and MiniLM run through ``tse2.models.lite``,
without them).  The issue's goal is a start in <= 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "egs/mini_espeak/tse2/exp/packed/blstm_256x3_dm_minilm_whisper_text"
MIX = ROOT / "egs/mini_espeak/tse2/dump/mix/test/wav/test-000000_mix.wav"


def timed(cmd, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


STEPS = """
import sys, time
marks, t0 = [], time.perf_counter()
mark = lambda what: marks.append((what, time.perf_counter()))
import torch; mark("import torch")
from tse2.inference import ClassifierSelector, Separator; mark("import tse2.inference")
from tse2.utils.audio import read_audio
sep = Separator.from_pretrained(sys.argv[1] + "/separator"); mark("build + load the separator")
sel = ClassifierSelector.from_pretrained(sys.argv[1] + "/classifier"); mark("build + load the classifier")
x, fs = read_audio(sys.argv[2], fs=16000); mark("read the mixture")
out = sep(x, 16000); mark("separate")
sel(out, 16000, prompt="the speaker with the higher pitch"); mark("select")
prev = t0
for what, t in marks:
    print(f"| {what} | {t - prev:.2f} |"); prev = t
print(f"| total | {prev - t0:.2f} |")
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"transformers", "librosa", "scipy", "sympy", "numba", "peft"})
print()
print(f"heavy packages imported: {', '.join(heavy) or 'none'}")
"""


def stage8(recipe: Path, tmp: Path, repeat: int, exp=None) -> float:
    exp = exp or next(iter(sorted(recipe.glob("exp/cls_*_text"))), None)
    data = next(iter(sorted(recipe.glob("dump/cls/sep_*/text_relative/test_eval"))), None)
    if exp is None or data is None:
        raise SystemExit(f"{recipe}: no exp/cls_*_text or dump/cls/sep_*/text_relative/test_eval (run make demo)")
    keys = (data / "cand1.scp").read_text().splitlines()[:8]
    (tmp / "keys").write_text("".join(k.split()[0] + "\n" for k in keys))
    cmd = [sys.executable, "-m", "tse2.bin.cls_inference", "run", "--model_dir", str(exp), "--data_dir", str(data),
           "--key_file", str(tmp / "keys"), "--out", str(tmp / "sel.jsonl")]
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, check=True)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", type=Path, default=PACK)
    parser.add_argument("--mixture", type=Path, default=MIX)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", action="store_true", help="also time a classifier extraction step by step")
    parser.add_argument("--recipe_dir", type=Path, default=None,
                        help="also time a stage-8 classifier job in this recipe dir (after make demo)")
    parser.add_argument("--cls_exp", type=Path, default=None,
                        help="the stage-8 job's classifier (default: the recipe's first exp/cls_*_text)")
    args = parser.parse_args()
    for p, what in ((args.model_dir / "tse2_model.json", "a packed model (run make demo)"),
                    (args.mixture, "a mixture wav (run make demo)")):
        if not p.is_file():
            raise SystemExit(f"{p} is missing: give {what}")
    import soundfile as sf

    tmp = Path(tempfile.mkdtemp())
    sf.write(tmp / "nan.wav", np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    py = [sys.executable]
    extract = py + ["-m", "tse2.bin.extract", "--model_dir", str(args.model_dir)]
    rows = [("import torch (baseline)", timed(py + ["-c", "import torch"], args.repeat)),
            ("extract, bad audio (rejected)", timed(extract + ["--prompt", "x", str(tmp / "nan.wav"),
                                                               str(tmp / "o.wav")], args.repeat)),
            ("extract, attribute selector, 6 s", timed(extract + ["--selector", "attributes", "--prompt",
                                                                  "the louder speaker", str(args.mixture),
                                                                  str(tmp / "o.wav")], args.repeat)),
            ("extract, trained classifier, 6 s", timed(extract + ["--prompt", "the speaker with the higher pitch",
                                                                  str(args.mixture), str(tmp / "o.wav")], args.repeat))]
    if args.recipe_dir is not None:
        rows.append(("stage 8: cls_inference run, 8 examples", stage8(args.recipe_dir, tmp, args.repeat, args.cls_exp)))
    base = rows[0][1]
    print("| run | wall (s) | / import torch |")
    print("|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {t / base:.1f} |")
    print(f"\nmedian of {args.repeat} fresh processes each")
    if args.steps:
        print("\n| step (one process) | s |\n|---|---|")
        print(subprocess.run(py + ["-c", STEPS, str(args.model_dir), str(args.mixture)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
