"""Benchmark of stage 2 (attribute extraction): speed per component and agreement with pyin.

    make demo   # once: builds egs/mini_espeak/tse2/data (stage 1)
    tools/venv/bin/python bench/attributes.py [--data_dir egs/mini_espeak/tse2/data/train] [--max_utts 200]

Prints, on one core (one thread), utterances/s and real-time factor (audio seconds per second
of compute) for each component and for the whole extractor, each also as a ratio to plain
``librosa.pyin`` (the paper's F0 extractor) measured in the same run; then the agreement of the
fast F0 backend with pyin (median relative error of mean F0 and F0 span over the utterances);
then what a pyin job costs cold (empty numba cache) and warm (cache persisted by path.sh).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tse2.attributes.energy import active_rms_db  # noqa: E402
from tse2.attributes.analyzer import AttributeAnalyzer, AnalyzerConfig  # noqa: E402
from tse2.attributes.f0 import F0Config, f0_stats  # noqa: E402
from tse2.attributes.segments import SileroVAD, speaking_duration  # noqa: E402
from tse2.attributes.syllables import count_syllables  # noqa: E402
from tse2.utils.audio import read_audio  # noqa: E402
from tse2.utils.datadir import read_ctm, read_map  # noqa: E402

COLD_WARM_SNIPPET = """
import time; t0 = time.time()
import numpy as np, librosa
x = np.sin(2 * np.pi * 150 * np.arange(32000) / 16000).astype(np.float32)
librosa.pyin(x, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=160)
print(time.time() - t0)
"""


def timed(fn, items):
    t = time.perf_counter()
    out = [fn(*it) for it in items]
    return time.perf_counter() - t, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", type=Path, default=ROOT / "egs/mini_espeak/tse2/data/train")
    parser.add_argument("--max_utts", type=int, default=200)
    parser.add_argument("--skip_cold_warm", action="store_true")
    args = parser.parse_args()
    if not (args.data_dir / "wav.scp").is_file():
        print(f"{args.data_dir}/wav.scp not found: run `make demo` (stage 1 of the embedded recipe) first",
              file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(1)
    wavs = read_map(args.data_dir / "wav.scp")
    langs = read_map(args.data_dir / "utt2lang")
    ctm = read_ctm(args.data_dir / "words.ctm")
    utts = sorted(wavs)[: args.max_utts]
    audio = {u: read_audio(wavs[u])[0] for u in utts}
    fs = 16000
    total_s = sum(len(a) for a in audio.values()) / fs
    words = {u: [(w.start, w.start + w.dur, w.word) for w in ctm[u]] for u in utts}
    print(f"{len(utts)} utterances, {total_s:.1f} s of audio from {args.data_dir}, 1 thread\n")

    import librosa

    pyin_cfg = F0Config(method="pyin")
    librosa.pyin(audio[utts[0]][:16000], fmin=60, fmax=500, sr=fs, frame_length=1024, hop_length=160)  # warm-up
    vad = SileroVAD()
    vad(audio[utts[0]], fs)
    extractors = {
        "extractor praat + given": (AttributeAnalyzer(AnalyzerConfig()), True),
        "extractor praat + vad": (AttributeAnalyzer(AnalyzerConfig()), False),
        "extractor pyin + given": (AttributeAnalyzer(AnalyzerConfig(f0=pyin_cfg)), True),
    }
    rows = []
    base_t, _ = timed(lambda u: librosa.pyin(audio[u], fmin=60, fmax=500, sr=fs, frame_length=1024, hop_length=160),
                      [(u,) for u in utts])
    rows.append(("librosa.pyin (baseline)", base_t))
    t_praat, praat = timed(lambda u: f0_stats(audio[u], fs, F0Config()), [(u,) for u in utts])
    rows.append(("F0 praat", t_praat))
    t_pyin, pyin = timed(lambda u: f0_stats(audio[u], fs, pyin_cfg), [(u,) for u in utts])
    rows.append(("F0 pyin (tse2 wrapper)", t_pyin))
    rows.append(("Silero VAD", timed(lambda u: vad(audio[u], fs), [(u,) for u in utts])[0]))
    rows.append(("speaking duration", timed(lambda u: speaking_duration(words[u]), [(u,) for u in utts])[0]))
    rows.append(("syllables", timed(lambda u: count_syllables([w for *_, w in words[u]], langs[u]), [(u,) for u in utts])[0]))
    rows.append(("RMS over words", timed(lambda u: active_rms_db(audio[u], fs, words[u]), [(u,) for u in utts])[0]))
    for name, (ex, given) in extractors.items():
        t, _ = timed(lambda u: ex(u, audio[u], fs, langs[u], segments=words[u] if given else None,
                                  text=None), [(u,) for u in utts])
        rows.append((name, t))

    print("| component | utt/s | x real time (1 core) | speed vs pyin |")
    print("|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {len(utts) / t:.1f} | {total_s / t:.1f} | {base_t / t:.2f}x |")

    ok = [(p, q) for p, q in zip(pyin, praat) if p.mean and q.mean and p.span and q.span]
    mean_err = np.median([abs(q.mean / p.mean - 1) for p, q in ok]) * 100
    span_err = np.median([abs(q.span / p.span - 1) for p, q in ok]) * 100
    print(f"\nAgreement of praat with pyin over {len(ok)} utterances: median relative error "
          f"mean F0 {mean_err:.2f} %, F0 span {span_err:.2f} % (target < 2 %)")

    if not args.skip_cold_warm:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            run = lambda: float(subprocess.run([sys.executable, "-c", COLD_WARM_SNIPPET], env=env,  # noqa: E731
                                               capture_output=True, text=True, check=True).stdout)
            cold, warm = run(), run()
        print(f"pyin job start-up (import + first 2 s pyin call): cold numba cache {cold:.1f} s, "
              f"warm (persisted) cache {warm:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
