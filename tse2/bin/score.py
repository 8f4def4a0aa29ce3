"""Stage 9: signal metrics of the separated outputs, then RESULTS.md and figures.

  python -m tse2.bin.score metrics --mix_dir data/test_mix --sep_dir exp/sep_x/separate_test \\
      --wav_scp split/wav.scp.1 --out split/metrics.1.jsonl
  python -m tse2.bin.score merge --mix_dir data/test_mix --out_dir exp/sep_x/score_test split/metrics.*.jsonl
  python -m tse2.bin.score report --out_dir exp/results_x --bins data/train_mix/independent_bins.json \\
      --set test data/test_mix exp/sep_x/score_test \\
      --system text exp/cls_y_text --system enroll exp/cls_y_enroll --system text_clean exp/cls_y_text_clean

``metrics`` scores each separated output and the mixture against the reference target: SI-SDR
(torchmetrics' definition, tse2.scoring.metrics) and PESQ (``pesq``; wide band at 16 kHz, narrow
band at 8 kHz).  A PESQ failure is kept as its message.  ``merge`` joins the parts into
``metrics.jsonl`` (one row per mixture) and ``summary.json``.  ``report`` reads every system's
``<dir>/infer_<set>/selections.jsonl`` (stage 8) and writes ``RESULTS.md`` (paper Tables IV, V and
VI, Fig. 6 as a table), ``scores.json`` and ``figures/*.png`` (:mod:`tse2.scoring.report`, one
function per table and figure); it only reads files, so it recomputes the whole report in seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from tse2.cues.labels import IndependentBins
from tse2.scoring.metrics import pesq_mode, pesq_score, si_sdr
from tse2.scoring.report import write_report
from tse2.scoring.tables import db, oracle_selection, pesq_cell
from tse2.utils.audio import read_audio
from tse2.utils.cli import add_merge_parser, merge_parts, run_tool, tool_parser
from tse2.utils.datadir import DataDirError, c_sort_key, read_map, read_targets
from tse2.utils.fileio import atomic_open

log = logging.getLogger("score")

def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    m = sub.add_parser("metrics", help="SI-SDR and PESQ of both separated outputs and the mixture")
    m.add_argument("--mix_dir", type=Path, required=True, help="stage-3 mixture dir (wav.scp spk1/2.scp utt2target)")
    m.add_argument("--sep_dir", type=Path, required=True, help="stage-6 output dir (sep1.scp sep2.scp)")
    m.add_argument("--wav_scp", type=Path, default=None, help="a part of the mixtures' wav.scp (default: all)")
    m.add_argument("--out", type=Path, required=True)
    add_merge_parser(sub, "--mix_dir", "join the metrics parts of one set")
    r = sub.add_parser("report", help="RESULTS.md, scores.json and figures from stage-8 selections")
    r.add_argument("--out_dir", type=Path, required=True)
    r.add_argument("--bins", type=Path, default=None, help="independent-cue bins (relative vs independent study)")
    r.add_argument("--set", nargs=3, action="append", required=True, metavar=("NAME", "MIX_DIR", "SCORE_DIR"),
                   dest="sets", help="an evaluation set: name, mixture dir, merged metrics dir")
    r.add_argument("--system", nargs=2, action="append", required=True, metavar=("NAME", "DIR"), dest="systems",
                   help="a system of tse2/systems.py: text, text_ind, enroll, attributes (each optionally "
                        "_clean) or tse_<tag>")
    r.add_argument("--title", default="Text-guided TSE with relative cues")
    return parser


# ----------------------------------------------------------------------------------- metrics


def metrics(args) -> int:
    wavs = read_map(args.wav_scp or args.mix_dir / "wav.scp")
    targets = read_targets(args.mix_dir / "utt2target")
    refs = {k: read_map(args.mix_dir / f"spk{k}.scp") for k in (1, 2)}
    seps = {k: read_map(args.sep_dir / f"sep{k}.scp") for k in (1, 2)}
    rows = []
    for mix in sorted(wavs, key=c_sort_key):
        for name, table_ in (("utt2target", targets), ("sep1.scp", seps[1]), ("sep2.scp", seps[2])):
            if mix not in table_:
                raise DataDirError(f"{name} has no entry for mixture {mix} ({args.mix_dir}, {args.sep_dir})")
        tgt = targets[mix]
        ref, fs = read_audio(refs[tgt][mix])
        mixture, _ = read_audio(wavs[mix], fs=fs)
        pesq_mode(fs)  # a clear error for rates PESQ does not define, before any work
        outs = [read_audio(seps[k][mix], fs=fs)[0] for k in (1, 2)]
        for path, x in ((wavs[mix], mixture), (seps[1][mix], outs[0]), (seps[2][mix], outs[1])):
            if len(x) != len(ref):
                raise DataDirError(f"{path}: {len(x)} samples, but the reference {refs[tgt][mix]} has {len(ref)}")
        p = [pesq_score(o, ref, fs) for o in outs]
        p_mix = pesq_score(mixture, ref, fs)
        rows.append({"mix": mix, "target": tgt, "fs": fs, "sisdr": [round(si_sdr(o, ref), 4) for o in outs],
                     "sisdr_mix": round(si_sdr(mixture, ref), 4),
                     "pesq": [None if v is None else round(v, 4) for v, _ in p], "pesq_error": [e for _, e in p],
                     "pesq_mix": None if p_mix[0] is None else round(p_mix[0], 4), "pesq_mix_error": p_mix[1]})
    with atomic_open(args.out) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    log.info("%s: scored %d mixtures", args.out, len(rows))
    return 0


def merge(args) -> int:
    ordered = list(merge_parts(args.parts, read_map(args.mix_dir / "wav.scp"), "mix", "scored", args.mix_dir).values())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out_dir / "metrics.jsonl") as f:
        f.write("".join(json.dumps(r) + "\n" for r in ordered))
    best = oracle_selection({r["mix"]: r for r in ordered})
    pm = [r["pesq_mix"] for r in ordered if r["pesq_mix"] is not None]
    summary = {"mixtures": len(ordered), "pesq_mode": pesq_mode(ordered[0]["fs"]) if ordered else None,
               "oracle_selection_sisdri": best.sisdri, "oracle_selection_pesq": best.pesq,
               "pesq_mixture": float(np.mean(pm)) if pm else None,
               "pesq_failed": sum(e is not None for r in ordered for e in r["pesq_error"] + [r["pesq_mix_error"]])}
    with atomic_open(args.out_dir / "summary.json") as f:
        json.dump(summary, f, indent=1)
    log.info("%s: %d mixtures; with an oracle selector SI-SDRi %s dB, PESQ %s", args.out_dir, len(ordered),
             db(best.sisdri), pesq_cell(best))
    return 0


# ------------------------------------------------------------------------------------ report


def report(args) -> int:
    command = "python -m tse2.bin.score " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("score.py") else None
    bins = IndependentBins.load(args.bins) if args.bins is not None else None
    write_report(args.out_dir, args.sets, [(s, Path(d)) for s, d in args.systems], bins, args.title, command)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"metrics": metrics, "merge": merge, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
