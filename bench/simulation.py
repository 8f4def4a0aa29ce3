"""Benchmark of stage 3 (mixture simulation): the RIR bank against RIRs made per mixture.

    make demo   # once: stages 1-2 of the embedded recipe (clean data + attributes)
    tools/venv/bin/python bench/simulation.py [--data_dir egs/mini_espeak/tse2/data/train] [--num 100]

Prints, on one core: RIR generation time per room (3 RIRs) for each backend available (our
``ism_diffuse``; pyroomacoustics' full-order image sources with inverse-Sabine absorption, for
reference; gpuRIR when installed), with the T30 each reaches against the drawn RT60; then
mixtures/s (plan, read, reverberate, scale, write four wavs) with a precomputed bank and with
fresh RIRs for every mixture, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tse2.simulation.bank import Bank, build_bank, make_entry  # noqa: E402
from tse2.simulation.mixing import MixConfig, plan_mixture, render_mixture  # noqa: E402
from tse2.simulation.rir import IsmDiffuseRIR, measure_rt60, sample_room  # noqa: E402
from tse2.utils.audio import read_audio  # noqa: E402
from tse2.utils.datadir import read_map  # noqa: E402
from tse2.utils.fileio import write_wav  # noqa: E402


def pra_full_order(room, rng):
    import pyroomacoustics as pra

    e_abs, order = pra.inverse_sabine(room.rt60, list(room.size))
    sim = pra.ShoeBox(list(room.size), fs=16000, materials=pra.Material(e_abs), max_order=order, air_absorption=False)
    for src in room.sources:
        sim.add_source(list(src))
    sim.add_microphone(list(room.mic))
    sim.compute_rir()
    return [np.asarray(sim.rir[0][k]) for k in range(len(room.sources))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", type=Path, default=ROOT / "egs/mini_espeak/tse2/data/train")
    parser.add_argument("--num", type=int, default=100, help="mixtures per measurement")
    parser.add_argument("--rooms", type=int, default=20, help="rooms per backend timing")
    args = parser.parse_args()
    if not (args.data_dir / "attributes.jsonl").is_file():
        print(f"{args.data_dir}/attributes.jsonl not found: run `make demo` (stages 1-2) first", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(1)
    backends = {"ism_diffuse (tse2 default)": lambda room, rng: IsmDiffuseRIR()(room, rng),
                "pyroomacoustics full-order ISM": pra_full_order}
    try:
        from tse2.simulation.rir import GpuRIR

        gpu = GpuRIR()
        backends["gpurir"] = lambda room, rng: gpu(room, rng)
    except RuntimeError:
        pass
    print("| RIR backend | s per room (3 RIRs) | median T30 / target RT60 |\n|---|---|---|")
    for name, fn in backends.items():
        t0, ratios = time.perf_counter(), []
        for k in range(args.rooms):
            rng = np.random.default_rng(k)
            room = sample_room(rng)
            rirs = fn(room, rng)
            ratios.append(measure_rt60(rirs[0], 16000) / room.rt60)
        print(f"| {name} | {(time.perf_counter() - t0) / args.rooms:.4f} | {np.median(ratios):.3f} |")

    wavs = read_map(args.data_dir / "wav.scp")
    utt2spk = read_map(args.data_dir / "utt2spk")
    attrs = {json.loads(x)["utt"]: json.loads(x) for x in (args.data_dir / "attributes.jsonl").read_text().splitlines()}
    utts = sorted(wavs)
    spk2utts = {}
    for u in utts:
        spk2utts.setdefault(utt2spk[u], []).append(u)
    audio = {u: read_audio(wavs[u])[0] for u in utts}  # decoding is shared by both runs: keep it out
    cfg = MixConfig()
    with tempfile.TemporaryDirectory() as tmp:
        bank_dir = Path(tmp) / "bank"
        t0 = time.perf_counter()
        build_bank(bank_dir, "bench", range(50), 0, "ism_diffuse", 16000)
        t_bank = time.perf_counter() - t0
        bank = Bank(bank_dir)
        backend = IsmDiffuseRIR()

        def run(fresh: bool) -> float:
            t = time.perf_counter()
            for m in range(args.num):
                plan = plan_mixture(0, f"bench-{m}", utts, utt2spk, spk2utts, attrs, 50, cfg)
                if fresh:  # a new room per mixture: what the bank avoids
                    rirs = {plan.bank_id: make_entry(0, "bench", 10_000 + m, backend)[1]}
                    rirs[plan.enroll_bank_id] = rirs[plan.bank_id]
                else:
                    rirs = {k: bank[k] for k in (plan.bank_id, plan.enroll_bank_id)}
                mix = render_mixture(plan, audio, attrs, rirs, cfg)
                for name, sig in (("mix", mix.mixture), ("s1", mix.sources[0]), ("s2", mix.sources[1]),
                                  ("enroll", mix.enrollment)):
                    write_wav(Path(tmp) / "wav" / f"{m}_{name}.wav", sig, 16000)
            return args.num / (time.perf_counter() - t)

        with_bank, fresh = run(False), run(True)
    print(f"\nRIR bank of 50 rooms built in {t_bank:.2f} s (once per split, in parallel jobs)")
    print("| mixtures | mixtures/s (1 core) |\n|---|---|")
    print(f"| with the RIR bank | {with_bank:.1f} |")
    print(f"| RIRs generated per mixture | {fresh:.1f} |")
    print(f"bank speed-up: {with_bank / fresh:.2f}x (target: >= 50 mixtures/s with the bank)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
