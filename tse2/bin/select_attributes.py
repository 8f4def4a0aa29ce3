"""Stage 8, training-free: the attribute selector on a classifier example list.

  python -m tse2.bin.select_attributes --data_dir dump/cls/sep_x/text_relative/dev_eval \\
      --key_file split/keys.1 --out split/sel.1.jsonl
  python -m tse2.bin.cls_inference merge --data_dir dump/cls/sep_x/text_relative/dev_eval \\
      --out_dir exp/attributes_sep_x/infer_dev split/sel.*.jsonl

Reads ``cand1.scp cand2.scp prompt`` of a ``tse2.bin.cls_data`` dir (text cue), measures each
candidate once (pitch, pitch range, loudness, speaking rate, speaking duration, onset) and decides
every prompt with :class:`tse2.attributes.selector.AttributeSelector`.  Rows look like the
classifier's (``score1``/``score2``: the selector's signed margins in units of the cue
thresholds, where the classifier's are cosine similarities), plus ``abstain: true`` for
prompts whose cues it cannot measure (gender, language, ...) or could not measure on this audio;
those pick candidate 1 and stage 9 leaves them out of the selector's accuracy.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional

from tse2.attributes.selector import MEASURABLE, AttributeSelector, UnmeasurablePromptError
from tse2.utils.audio import read_audio
from tse2.utils.cli import run_tool
from tse2.utils.datadir import DataDirError, c_sort_key, read_map
from tse2.utils.fileio import atomic_open, read_jsonl

log = logging.getLogger("select_attributes")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", type=Path, required=True, help="a tse2.bin.cls_data dir with prompts")
    parser.add_argument("--key_file", type=Path, default=None, help="only these examples (default: all)")
    parser.add_argument("--out", type=Path, required=True)
    return parser


def main_(args) -> int:
    d = args.data_dir
    if not (d / "prompt").is_file():
        raise FileNotFoundError(f"{d / 'prompt'} is missing: the attribute selector needs text prompts "
                                "(tse2.bin.cls_data --cue text)")
    cands = {k: read_map(d / f"cand{k}.scp") for k in (1, 2)}
    prompts = read_map(d / "prompt")
    examples = {e["id"]: e for e in read_jsonl(d / "examples.jsonl", "run tse2.bin.cls_data")}
    keys = list(read_map(args.key_file, allow_empty_value=True)) if args.key_file else sorted(prompts, key=c_sort_key)
    selector = AttributeSelector()
    cache: Dict[str, tuple] = {}
    rows, abstained = [], 0
    for key in keys:
        for name, table in (("prompt", prompts), ("cand1.scp", cands[1]), ("cand2.scp", cands[2]),
                            ("examples.jsonl", examples)):
            if key not in table:
                raise DataDirError(f"{d / name}: no entry for example {key}")
        pair = (cands[1][key], cands[2][key])
        if pair not in cache:  # the prompts of one mixture share its candidates: measure them once
            cache.clear()
            cache[pair] = tuple(selector.measure(audio, fs, MEASURABLE) for audio, fs in map(read_audio, pair))
        try:
            k, scores, details = selector.decide(prompts[key], *cache[pair])
            abstain = not details["decided"]
        except UnmeasurablePromptError:
            k, scores, abstain = 0, [0.0, 0.0], True
        abstained += abstain
        rows.append({"id": key, "score1": round(scores[0], 4), "score2": round(scores[1], 4), "selected": k + 1,
                     "abstain": abstain})
    with atomic_open(args.out) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    log.info("%s: %d examples, %d decided by measured attributes, %d abstained", args.out, len(rows),
             len(rows) - abstained, abstained)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), main_, argv)


if __name__ == "__main__":
    sys.exit(main())
