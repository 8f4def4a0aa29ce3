"""Pack a trained model of any kind into one self-contained, relocatable model dir (stage 10 of tse2.sh).

  python -m tse2.bin.pack --sep_dir exp/sep_tflocoformer_tiny --cls_dir exp/cls_minilm_whisper_text \\
      --out_dir exp/packed/tflocoformer_tiny_minilm_whisper          # an extractor (the default kind)
  tse2-pack --kind remixer --model_dir exp/remix_blstm_minilm --out_dir packed/remixer
  tse2-pack --kind retrieval --model_dir exp/ret_minilm_whisper --out_dir packed/retrieval

An extractor's checkpoints default to the ones stages 6 and 8 load (a released separator, else
the best ones ESPnet kept; :mod:`tse2.inference`); without ``--cls_dir`` the pack holds the
separator only and serves ``--selector attributes``.  A remixer, cascade or retrieval model is
one ``--model_dir`` (an experiment dir or a release).  The sample rate is the models' own (their
configs' ``fs``); ``--fs``, when given, must match it.  Each kind loads with its runtime's
``from_pretrained`` (``tse2.TextGuidedExtractor``, ``tse2.Remixer``, ``tse2.StyleRetrieval``).
The layout is documented in :mod:`tse2.packing`; paths inside are relative, so the dir can be
copied anywhere.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.inference import ClassifierSelector, Separator
from tse2.packing import KINDS, PackError, pack, pack_parts
from tse2.utils.cli import run_tool

log = logging.getLogger("pack")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(KINDS), default="extractor", help="what to pack")
    parser.add_argument("--model_dir", type=Path, default=None,
                        help="the experiment or release dir of a remixer, cascade or retrieval model")
    parser.add_argument("--model_file", type=Path, default=None,
                        help="checkpoint: a path or a file name in --model_dir (default: as its runtime chooses)")
    parser.add_argument("--sep_dir", type=Path, default=None, help="stage-5 experiment dir (an extractor)")
    parser.add_argument("--sep_model_file", type=Path, default=None,
                        help="checkpoint: a path or a file name in --sep_dir (default: as stage 6 chooses)")
    parser.add_argument("--cls_dir", type=Path, default=None, help="stage-7 experiment dir (text or enroll)")
    parser.add_argument("--cls_model_file", type=Path, default=None,
                        help="checkpoint: a path or a file name in --cls_dir (default: as stage 8 chooses)")
    parser.add_argument("--fs", type=int, default=None,
                        help="the rate the models must run at (default: theirs, from their configs)")
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("--check_mix_dir", type=Path, default=None,
                        help="after packing, extract the first mixture of this mixture dir with its first "
                             "discriminative relative prompt (a smoke test of the pack; wavs in out_dir/check/)")
    return parser


def runtime_of(kind: str):
    """The runtime class that loads a pack of ``kind`` alone (its ``PACK_KIND``)."""
    from tse2.inference.remix import CascadeSeparator, Remixer
    from tse2.inference.retrieval import StyleRetrieval

    return {"remixer": Remixer, "cascade": CascadeSeparator, "retrieval": StyleRetrieval}[kind]


def main_(args) -> int:
    if args.kind != "extractor":
        if args.model_dir is None or args.sep_dir or args.cls_dir:
            raise PackError(f"--kind {args.kind} packs one --model_dir (--sep_dir and --cls_dir are for an extractor)")
        runtime = runtime_of(args.kind)
        config, model = runtime.locate(args.model_dir, args.model_file)
        out = pack_parts(args.out_dir, args.kind, {args.kind: (config, model)},
                         {args.kind: str(model.resolve())}, args.fs)
        runtime.from_pretrained(out)  # the pack loads by itself
        log.info("packed %s (%.1f MB): %s %s", out, _size(out) / 1e6, args.kind, model)
        print(f"{out}: a packed {args.kind} (load it with {runtime.__module__}.{runtime.__name__}.from_pretrained)")
        return 0
    if args.sep_dir is None:
        raise PackError("an extractor needs --sep_dir (and --cls_dir for the classifier selector)")
    sep_config, sep_model = Separator.locate(args.sep_dir, args.sep_model_file)
    cls_model = cls_config = None
    if args.cls_dir is not None:
        cls_config, cls_model = ClassifierSelector.locate(args.cls_dir, args.cls_model_file)
    sources = {"separator": str(sep_model.resolve()), "classifier": str(cls_model.resolve()) if cls_model else None}
    out = pack(args.out_dir, sep_config, sep_model, cls_config, cls_model, args.fs, sources)
    log.info("packed %s (%.1f MB): separator %s, classifier %s", out, _size(out) / 1e6, sep_model, cls_model)
    if args.check_mix_dir is not None:
        check(out, args.check_mix_dir, "classifier" if cls_model else "attributes")
    return 0


def _size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def check(packed: Path, mix_dir: Path, selector: str) -> None:
    """Extracts one held-out mixture with the pack, as the extractor CLI would, and prints the choice."""
    from tse2.extractor import TextGuidedExtractor, describe
    from tse2.utils.datadir import c_sort_key, read_map
    from tse2.utils.fileio import read_jsonl, write_wav

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
    print(f"{mix} ({p['cue_type']} prompt): {p['prompt']}")
    result = TextGuidedExtractor.from_pretrained(packed, selector=selector)(wavs[mix], p["prompt"])
    from tse2.packing import record_check_files

    names = []
    for name, audio in (("target", result.target), ("other", result.other)):
        write_wav(packed / "check" / f"{mix}_{name}.wav", audio / max(1.0, float(abs(audio).max())), result.fs)
        names.append(f"{mix}_{name}.wav")
    record_check_files(packed, names)
    print(f"{wavs[mix]}: {describe(result, selector)}")


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), main_, argv)


if __name__ == "__main__":
    sys.exit(main())
