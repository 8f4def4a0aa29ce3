"""Stage 8 for the single-stage baselines: extract the target of every (mixture, prompt) and score it.

  python -m tse2.bin.tse_inference run --model_dir exp/tse_tflocoformer_tiny \\
      --data_dir dump/cls/clean/text_relative/test_eval --key_file split/keys.1 --out split/tse.1.jsonl
  python -m tse2.bin.tse_inference merge --data_dir dump/cls/clean/text_relative/test_eval \\
      --out_dir exp/tse_tflocoformer_tiny/infer_test split/tse.*.jsonl

``run`` reads ``mix.scp target.scp prompt`` of a ``tse2.bin.cls_data`` dir, extracts, and writes one
row per example: SI-SDR of the estimate and of the mixture against the target (torchmetrics' definition),
SI-SDRi, PESQ (failures kept as messages).  With ``--wav_dir`` the estimates are written too.
``merge`` joins the parts with ``examples.jsonl`` into ``selections.jsonl`` (what stage 9 reads)
and ``summary.json`` (mean SI-SDRi per cue type over non-similar prompts).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from tse2.inference import SingleStageExtractor
from tse2.scoring.metrics import pesq_score, si_sdr
from tse2.utils.audio import read_audio
from tse2.utils.cli import add_merge_parser, add_run_parser, merge_parts, run_tool, tool_parser
from tse2.utils.datadir import DataDirError, c_sort_key, check_keys, read_keys, read_map
from tse2.utils.fileio import atomic_open, read_jsonl, write_wav

log = logging.getLogger("tse_inference")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    r = add_run_parser(sub, "extract and score one part of the examples", 7, examples="text cue")
    r.add_argument("--wav_dir", type=Path, default=None, help="also write the estimates here")
    r.add_argument("--out", type=Path, required=True)
    add_merge_parser(sub, "--data_dir", "join the parts with the example list")
    return parser


def run(args) -> int:
    d = args.data_dir
    for name in ("mix.scp", "target.scp", "prompt"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name} is missing: rerun tse2.bin.cls_data (text cue) for this set")
    mixes, targets, prompts = read_map(d / "mix.scp"), read_map(d / "target.scp"), read_map(d / "prompt")
    keys = read_keys(args.key_file) if args.key_file else sorted(prompts, key=c_sort_key)
    if args.key_file:
        check_keys(args.key_file, keys, d / "prompt", prompts)
    model = SingleStageExtractor.from_pretrained(args.model_dir, args.model_file, "cuda" if args.ngpu > 0 else "cpu")
    rows, cache = [], {}
    for key in keys:
        for name, table in (("mix.scp", mixes), ("target.scp", targets), ("prompt", prompts)):
            if key not in table:
                raise DataDirError(f"{d / name}: no entry for example {key}")
        pair = (mixes[key], targets[key])
        if pair not in cache:  # the prompts of one mixture are adjacent: read and score it once
            mix, fs = read_audio(pair[0])
            ref, _ = read_audio(pair[1], fs=fs)
            cache = {pair: (mix, ref, fs, si_sdr(mix, ref))}
        mix, ref, fs, score_mix = cache[pair]
        est = model(mix, prompts[key])
        score = si_sdr(est, ref)
        pesq, err = pesq_score(est, ref, fs)
        if args.wav_dir is not None:
            write_wav(args.wav_dir / f"{key}.wav", est / max(1.0, float(np.abs(est).max())), fs)
        rows.append({"id": key, "sisdr": round(score, 4), "sisdri": round(score - score_mix, 4),
                     "pesq": None if pesq is None else round(pesq, 4), "pesq_error": err})
    with atomic_open(args.out) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    log.info("%d examples of %s extracted with %s", len(rows), d, args.model_dir)
    return 0


def merge(args) -> int:
    examples = {e["id"]: e for e in read_jsonl(args.data_dir / "examples.jsonl", "run tse2.bin.cls_data")}
    scored = merge_parts(args.parts, examples, "id", "extracted", args.data_dir, what="example")
    rows = [{**examples[k], **{f: v for f, v in r.items() if f != "id"}} for k, r in scored.items()]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out_dir / "selections.jsonl") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    per_cue: Dict[str, List[float]] = {}
    for r in rows:
        if not r["similar"]:
            per_cue.setdefault(r["cue_type"], []).append(r["sisdri"])
            per_cue.setdefault("overall", []).append(r["sisdri"])
    summary = {"examples": len(rows), "data_dir": str(args.data_dir),
               "per_cue": {c: {"n": len(v), "sisdri": float(np.mean(v))} for c, v in per_cue.items()}}
    with atomic_open(args.out_dir / "summary.json") as f:
        json.dump(summary, f, indent=1)
    o = summary["per_cue"].get("overall", {"n": 0, "sisdri": float("nan")})
    log.info("%s: SI-SDRi %.2f dB over %d prompts (non-similar)", args.out_dir, o["sisdri"], o["n"])
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"run": run, "merge": merge}, argv)


if __name__ == "__main__":
    sys.exit(main())
