"""Stage 10: pack a separator and a classifier into one self-contained model dir for the extractor.

  python -m tse2.bin.pack --sep_dir exp/sep_tflocoformer_tiny --cls_dir exp/cls_minilm_w2v_tiny_text \\
      --fs 16000 --out_dir exp/packed/tflocoformer_tiny_minilm_w2v_tiny

The checkpoints default to the best ones ESPnet kept (as stages 6 and 8 choose them).  Without
``--cls_dir`` the pack holds the separator only and serves ``--selector attributes``.  The layout is
documented in :mod:`tse2.extractor`; paths inside are relative, so the dir can be copied anywhere.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.bin.cls_inference import CHECKPOINTS as CLS_CHECKPOINTS
from tse2.bin.separate import best_checkpoint as sep_checkpoint
from tse2.extractor import pack
from tse2.utils.cli import best_checkpoint, run_tool

log = logging.getLogger("pack")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sep_dir", type=Path, required=True, help="stage-5 experiment dir")
    parser.add_argument("--sep_model_file", type=Path, default=None, help="checkpoint (default: the best kept)")
    parser.add_argument("--cls_dir", type=Path, default=None, help="stage-7 experiment dir (text or enroll)")
    parser.add_argument("--cls_model_file", type=Path, default=None, help="checkpoint (default: the best kept)")
    parser.add_argument("--fs", type=int, default=16000, help="the sample rate the models were trained at")
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("--check_mix_dir", type=Path, default=None,
                        help="after packing, extract the first mixture of this mixture dir with its first "
                             "discriminative relative prompt (a smoke test of the pack; wavs in out_dir/check/)")
    return parser


def main_(args) -> int:
    sep_model = args.sep_model_file or sep_checkpoint(args.sep_dir)
    cls_model = cls_config = None
    if args.cls_dir is not None:
        cls_config = args.cls_dir / "config.yaml"
        cls_model = args.cls_model_file or best_checkpoint(args.cls_dir, CLS_CHECKPOINTS, stage=7)
    sources = {"separator": str(sep_model.resolve()), "classifier": str(cls_model.resolve()) if cls_model else None}
    out = pack(args.out_dir, args.sep_dir / "config.yaml", sep_model, cls_config, cls_model, args.fs, sources)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log.info("packed %s (%.1f MB): separator %s, classifier %s", out, size / 1e6, sep_model, cls_model)
    if args.check_mix_dir is not None:
        check(out, args.check_mix_dir, "classifier" if cls_model else "attributes")
    return 0


def check(packed: Path, mix_dir: Path, selector: str) -> None:
    """Runs the extractor CLI's code path on one held-out mixture and prints what it chose."""
    from tse2.bin import extract
    from tse2.utils.datadir import c_sort_key, read_map
    from tse2.utils.fileio import read_jsonl

    wavs = read_map(mix_dir / "wav.scp")
    mix = sorted(wavs, key=c_sort_key)[0]
    prompts = [p for p in read_jsonl(mix_dir / "prompts.jsonl", "run stage 4")
               if p["mix"] == mix and p["kind"] == "relative" and not p["similar"]]
    if selector == "attributes":
        from tse2.attributes.selector import MEASURABLE

        prompts = [p for p in prompts if p["cue_type"] in MEASURABLE]
    if not prompts:
        raise ValueError(f"{mix_dir}: mixture {mix} has no prompt to check the pack with")
    p = prompts[0]
    out = packed / "check"
    print(f"{mix} ({p['cue_type']} prompt): {p['prompt']}")
    rc = extract.main(["--model_dir", str(packed), "--selector", selector, "--prompt", p["prompt"],
                       "--other", str(out / f"{mix}_other.wav"), wavs[mix], str(out / f"{mix}_target.wav")])
    if rc != 0:
        raise RuntimeError(f"the packed model in {packed} failed on {wavs[mix]}")


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), main_, argv)


if __name__ == "__main__":
    sys.exit(main())
