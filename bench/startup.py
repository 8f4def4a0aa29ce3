"""Benchmark of the extractor's start-up: how long ``extract`` takes before and after its models load.

    tools/venv/bin/python bench/startup.py [--model_dir egs/mini_espeak/tse2/exp/packed/...] [--repeat 3]

Each measurement is a fresh ``python -m tse2.bin.extract`` process (what a user's shell runs), timed
wall-clock, the median of ``--repeat``:

- ``import torch``: the baseline every PyTorch tool pays, in the same run;
- bad audio (a NaN wav): rejected before any model loads;
- a 6 s two-talker mixture with the packed model and the attribute selector (the separator
  only), and with the trained classifier (separator + Whisper + MiniLM): the whole run.

Prints seconds and the ratio to the baseline.  The issue's goal is a start in <= 5 s.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", type=Path, default=PACK)
    parser.add_argument("--mixture", type=Path, default=MIX)
    parser.add_argument("--repeat", type=int, default=3)
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
    base = rows[0][1]
    print("| run | wall (s) | / import torch |")
    print("|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {t / base:.1f} |")
    print(f"\nmedian of {args.repeat} fresh processes each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
