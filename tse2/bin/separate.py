"""Stage 6: separate mixtures with a trained separator and label which output is the target.

  python -m tse2.bin.separate run   --model_dir exp/sep_x --mix_dir data/dev_mix --wav_scp split/wav.scp.1 \\
      --wav_dir exp/sep_x/separate_dev/wav --out split/sep.1.jsonl [--ngpu 0]
  python -m tse2.bin.separate merge --mix_dir data/dev_mix --out_dir exp/sep_x/separate_dev split/sep.*.jsonl

``run`` writes ``<mix>_sep1.wav`` and ``<mix>_sep2.wav`` and one row per mixture: the SI-SDR of each
output against the reference target (``spk<target>.scp``), the mixture's SI-SDR, ``label`` (1 when
sep1 has the higher SI-SDR, else 0: the classifier's target, SPEC "Stage 2 model") and ``sisdri``
(the better output's SI-SDR minus the mixture's).  ``merge`` writes ``sep1.scp sep2.scp utt2label
sisdr.jsonl`` and ``summary.json`` (mean SI-SDRi, % of mixtures improved, PIT SI-SDRi); ``report``
tabulates several sets into markdown.

The model is :class:`tse2.inference.Separator` of ``--model_dir`` and ``--model_file`` (a path or a
file name in the model dir; default: a released separator stage 5 installed, else the
best-validation checkpoint ESPnet kept).  The outputs are scored as written (16-bit, clipped
to full scale), so these figures are the ones stage 9 computes from the same files.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from tse2.inference import Separator
from tse2.scoring.metrics import si_sdr
from tse2.utils.audio import check_rate, read_audio
from tse2.utils.datadir import DataDirError, c_sort_key, read_map, read_targets, write_map
from tse2.utils.cli import add_merge_and_report, add_run_parser, merge_parts, run_tool, tool_parser, write_markdown
from tse2.utils.fileio import atomic_open, write_wav

log = logging.getLogger("separate")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    r = add_run_parser(sub, "separate the mixtures of one wav.scp part", 5, "the release, else the best kept")
    r.add_argument("--mix_dir", type=Path, required=True)
    r.add_argument("--wav_scp", type=Path, default=None, help="the part (default: mix_dir/wav.scp)")
    r.add_argument("--wav_dir", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--fs", type=int, default=None,
                   help="the data's rate (default: the model's, from its config); it must be the model's")
    add_merge_and_report(sub, "--mix_dir", "gather the parts into scp files, labels and a summary",
                         "one markdown table over several separated sets")
    return parser


def run(args) -> int:
    wav_scp = args.wav_scp or args.mix_dir / "wav.scp"
    wavs = read_map(wav_scp)
    refs = {k: read_map(args.mix_dir / f"spk{k}.scp") for k in (1, 2)}
    targets = read_targets(args.mix_dir / "utt2target")
    sep = Separator.from_pretrained(args.model_dir, args.model_file, "cuda" if args.ngpu > 0 else "cpu")
    if args.fs is None:
        args.fs = sep.fs
    check_rate(args.fs, sep.fs, f"{args.mix_dir} with {args.model_dir}")
    rows = []
    for mix in sorted(wavs, key=c_sort_key):
        if mix not in targets:
            raise DataDirError(f"{args.mix_dir / 'utt2target'}: no target for {mix}")
        audio, _ = read_audio(wavs[mix], fs=args.fs)
        ref = {k: read_audio(refs[k][mix], fs=args.fs)[0] for k in (1, 2)}
        tgt = targets[mix]
        paths, est = [], []
        for k, out in enumerate(sep(audio, args.fs), 1):
            paths.append(str((args.wav_dir / f"{mix}_sep{k}.wav").resolve()))
            write_wav(paths[-1], out, args.fs)  # clipped to full scale, 16 bit
            est.append(read_audio(paths[-1], fs=args.fs)[0])  # scored as written: what stages 7-9 read
        scores = [si_sdr(est[k], ref[tgt]) for k in (0, 1)]
        mix_score = si_sdr(audio, ref[tgt])
        # PIT over both references, for the separation summary
        perm = max(((0, 1), (1, 0)), key=lambda p: si_sdr(est[p[0]], ref[1]) + si_sdr(est[p[1]], ref[2]))
        pit = np.mean([si_sdr(est[perm[0]], ref[1]) - si_sdr(audio, ref[1]),
                       si_sdr(est[perm[1]], ref[2]) - si_sdr(audio, ref[2])])
        rows.append({"mix": mix, "target": tgt, "sep": paths, "sisdr": [round(s, 4) for s in scores],
                     "sisdr_mix": round(mix_score, 4), "label": 1 if scores[0] >= scores[1] else 0,
                     "sisdri": round(max(scores) - mix_score, 4), "pit_sisdri": round(float(pit), 4)})
    with atomic_open(args.out) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    log.info("separated %d mixtures into %s", len(rows), args.wav_dir)
    return 0


def merge(args) -> int:
    rows = merge_parts(args.parts, read_map(args.mix_dir / "wav.scp"), "mix", "separated", args.mix_dir)
    write_map(args.out_dir / "sep1.scp", {m: r["sep"][0] for m, r in rows.items()})
    write_map(args.out_dir / "sep2.scp", {m: r["sep"][1] for m, r in rows.items()})
    write_map(args.out_dir / "utt2label", {m: str(r["label"]) for m, r in rows.items()})
    with atomic_open(args.out_dir / "sisdr.jsonl") as f:
        for m in sorted(rows, key=c_sort_key):
            f.write(json.dumps(rows[m]) + "\n")
    sisdri = np.array([r["sisdri"] for r in rows.values()])
    summary = {
        "mixtures": len(rows),
        "mean_sisdr_mix": float(np.mean([r["sisdr_mix"] for r in rows.values()])),
        "mean_sisdr_target_output": float(np.mean([max(r["sisdr"]) for r in rows.values()])),
        "mean_sisdri": float(sisdri.mean()),
        "improved_percent": float((sisdri > 0).mean() * 100),
        "mean_pit_sisdri": float(np.mean([r["pit_sisdri"] for r in rows.values()])),
    }
    with atomic_open(args.out_dir / "summary.json") as f:
        json.dump(summary, f, indent=1)
    return 0


HEADER = ("| set | N | SI-SDR mixture (dB) | SI-SDR target output (dB) | SI-SDRi (dB) | improved | PIT SI-SDRi (dB) |\n"
          "|---|---|---|---|---|---|---|\n")


def report(args) -> int:
    lines = [f"# Separation ({args.out.parent.name})", "", HEADER.rstrip("\n")]
    for d in args.out_dirs:
        s = json.loads((d / "summary.json").read_text(encoding="utf-8"))
        lines.append(f"| {d.name.removeprefix('separate_')} | {s['mixtures']} | {s['mean_sisdr_mix']:.2f} | "
                     f"{s['mean_sisdr_target_output']:.2f} | {s['mean_sisdri']:.2f} | {s['improved_percent']:.1f} % | "
                     f"{s['mean_pit_sisdri']:.2f} |")
    write_markdown(args.out, lines)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"run": run, "merge": merge, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
