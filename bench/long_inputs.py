"""Benchmark of long recordings through the separator: real-time factor and peak memory.

    tools/venv/bin/python bench/long_inputs.py [--minutes 1 10 60] [--threads 1] \\
        [--model_dir egs/mini_espeak/tse2/released/sep_blstm_256x3_dm] \\
        [--mix_dir egs/mini_espeak/tse2/data/test_mix] \\
        [--classifier_dir egs/mini_espeak/tse2/exp/packed/blstm_256x3_dm_minilm_whisper_text/classifier]

The input of each length is the recipe's test mixtures (real two-talker espeak mixtures, 6 s each)
played one after the other, so two talkers change every 6 s, as a long meeting would.  Every
measurement runs in a fresh subprocess (its peak RSS is its own): the baseline is the one-pass
separation of the shortest input (the whole file through the model at once, as ``extract`` did
before chunking); then the chunked separation (``Separator.CHUNK_S`` s chunks, ``OVERLAP_S`` s
overlap) of each length.  Prints wall time, RTF (wall / audio duration), peak RSS and the ratios
against the baseline.  One thread by default: the issue's target is one core.  With
``--classifier_dir`` (a trained classifier, e.g. a pack's ``classifier/``), each chunked run also
selects one of the two separated talkers by a prompt (the selector scores whole talkers), and its
time is reported on its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(args) -> None:
    """One measurement: build the input, separate it, print a JSON line."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from tse2.inference import Separator
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import c_sort_key, read_map

    wavs = read_map(args.mix_dir / "wav.scp")
    pieces = [read_audio(wavs[k], fs=16000)[0] for k in sorted(wavs, key=c_sort_key)]
    n = int(args.child_minutes * 60 * 16000)
    base = np.concatenate(pieces)
    x = np.resize(base, n).astype(np.float32)  # repeats the test set up to the length
    del base, pieces
    sep = Separator.from_pretrained(args.model_dir)
    t0 = time.perf_counter()
    out = sep.one_pass(x) if args.child_mode == "one_pass" else sep(x, 16000)
    wall = time.perf_counter() - t0
    assert out.shape == (2, n) and np.isfinite(out).all()
    row = {"minutes": args.child_minutes, "mode": args.child_mode, "wall_s": wall, "rtf": wall / (n / 16000)}
    if args.classifier_dir is not None and args.child_mode == "chunked":
        from tse2.inference import ClassifierSelector

        selector = ClassifierSelector.from_pretrained(args.classifier_dir)
        t0 = time.perf_counter()
        which, _, _ = selector(out, 16000, prompt="the speaker with the higher pitch")
        row["select_s"] = time.perf_counter() - t0
        row["select_rtf"] = row["select_s"] / (n / 16000)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(row))


def measure(args, minutes: float, mode: str) -> dict:
    cmd = [sys.executable, __file__, "--child_minutes", str(minutes), "--child_mode", mode,
           "--threads", str(args.threads), "--model_dir", str(args.model_dir), "--mix_dir", str(args.mix_dir)]
    if args.classifier_dir is not None:
        cmd += ["--classifier_dir", str(args.classifier_dir)]
    import os

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        return {"minutes": minutes, "mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0, 60.0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model_dir", type=Path, default=ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm")
    parser.add_argument("--mix_dir", type=Path, default=ROOT / "egs/mini_espeak/tse2/data/test_mix")
    parser.add_argument("--classifier_dir", type=Path, default=None,
                        help="also time a trained classifier's selection of the separated talkers")
    parser.add_argument("--child_minutes", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child_mode", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_minutes is not None:
        child(args)
        return 0
    if not (args.mix_dir / "wav.scp").is_file():
        raise SystemExit(f"{args.mix_dir / 'wav.scp'} is missing: run the embedded recipe's stages 1-3 "
                         "(cd egs/mini_espeak/tse2 && ./run.sh --stop_stage 3) or give --mix_dir")
    rows = [measure(args, min(args.minutes), "one_pass")]
    rows += [measure(args, m, "chunked") for m in args.minutes]
    base = rows[0]
    sel = args.classifier_dir is not None
    print("| input | mode | wall (s) | RTF | peak RSS (MB) | RTF / baseline | RSS / baseline |"
          + (" selection (s) | selection RTF |" if sel else ""))
    print("|---|---|---|---|---|---|---|" + ("---|---|" if sel else ""))
    for r in rows:
        if "error" in r:
            print(f"| {r['minutes']:g} min | {r['mode']} | failed: {r['error']} | | | | |")
            continue
        ratio = (f"{r['rtf'] / base['rtf']:.2f} | {r['peak_rss_mb'] / base['peak_rss_mb']:.2f}"
                 if "rtf" in base else "– | –")
        extra = (f" {r['select_s']:.1f} | {r['select_rtf']:.3f} |" if "select_s" in r else (" – | – |" if sel else ""))
        print(f"| {r['minutes']:g} min | {r['mode']} | {r['wall_s']:.1f} | {r['rtf']:.3f} | "
              f"{r['peak_rss_mb']:.0f} | {ratio} |{extra}")
    from tse2.inference.separator import Separator

    print(f"\nbaseline: one-pass separation of the {base['minutes']:g} min input; {args.threads} thread(s); "
          f"chunks of {Separator.CHUNK_S:g} s overlapping by {Separator.OVERLAP_S:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
