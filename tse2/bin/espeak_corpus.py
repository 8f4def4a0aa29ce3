"""Build the embedded espeak-ng corpus: plan, synthesize (as JOB-array jobs), write data dirs.

  python -m tse2.bin.espeak_corpus plan    --sentence_dir local/sentences --outdir data/local/espeak
  python -m tse2.bin.espeak_corpus synth   --plan data/local/espeak/plan.jsonl --utt_list split/utt.1.list --wav_dir W
  python -m tse2.bin.espeak_corpus datadir --plan data/local/espeak/plan.jsonl --wav_dir W --data_root data

``plan`` also writes ``utt.list`` (one utterance id a line, C-sorted) for ``split_scp.pl``.
See :mod:`tse2.corpus.embedded` for the speaker and prosody distributions.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.corpus import embedded
from tse2.utils.datadir import c_sort_key
from tse2.utils.cli import run_tool, tool_parser
from tse2.utils.fileio import atomic_open


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)

    p = sub.add_parser("plan", help="draw speakers and utterances")
    p.add_argument("--sentence_dir", type=Path, required=True, help="holds <lang>.txt sentence lists")
    p.add_argument("--outdir", type=Path, required=True, help="writes plan.jsonl and utt.list here")
    p.add_argument("--langs", default="en fr de es zh", help="language codes, space- or comma-separated")
    p.add_argument("--speakers_per_lang", default="4 2 2",
                   help="speakers per language in train, dev and test (before --scale), e.g. 4,2,2")
    p.add_argument("--utts_per_speaker", type=int, default=10)
    p.add_argument("--scale", type=int, default=1, help="multiplies the speakers per language")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--styles", default=None,
                   help="plan the expressive corpus instead (tse2.corpus.styles): every speaker speaks each of "
                        "these styles ('all': the 13 of the table); --utts_per_speaker is then per style")
    p.add_argument("--mbrola_splits", default="",
                   help="with --styles: also the MBROLA voices of these splits (train, dev, test_real; "
                        "tse2.corpus.mbrola.MBROLA_VOICES), e.g. 'train dev test_real'")
    p.add_argument("--mbrola_utts_per_style", type=int, default=8, help="utterances of each style per MBROLA voice")
    p.add_argument("--voices_dir", type=Path, default=None,
                   help="tools/voices: the MBROLA voices of languages without a sentence list read tuxpaint's "
                        "stamp texts from there (without it, only voices of --langs are planned)")

    s = sub.add_parser("synth", help="synthesize the utterances of one list")
    s.add_argument("--plan", type=Path, required=True)
    s.add_argument("--utt_list", type=Path, default=None, help="only these utterances (default: all)")
    s.add_argument("--wav_dir", type=Path, required=True)
    s.add_argument("--fs", type=int, default=16000)
    s.add_argument("--voices_dir", type=Path, default=None,
                   help="where `make -C tools voices-mbrola` put the MBROLA voices (tools/voices); for mb-* voices")

    d = sub.add_parser("datadir", help="write Kaldi data dirs from synthesized utterances")
    d.add_argument("--plan", type=Path, required=True)
    d.add_argument("--wav_dir", type=Path, required=True)
    d.add_argument("--data_root", type=Path, required=True)
    d.add_argument("--report", type=Path, default=None, help="markdown corpus statistics")
    return parser


def plan(args) -> int:
    counts = [int(x) for x in args.speakers_per_lang.replace(",", " ").split()]
    if len(counts) != 3 or min(counts) < 0 or args.scale < 1:
        raise ValueError("--speakers_per_lang needs three counts >= 0 (train dev test); --scale >= 1")
    per_split = {split: n * args.scale for split, n in zip(embedded.SPLITS, counts)}
    sentences = embedded.read_sentences(args.sentence_dir, args.langs.replace(",", " ").split())
    if args.styles:
        from tse2.corpus.styles import STYLES, make_style_plan

        styles = list(STYLES) if args.styles == "all" else args.styles.replace(",", " ").split()
        mbrola_splits = args.mbrola_splits.replace(",", " ").split()
        extra = None
        if args.voices_dir is not None and mbrola_splits:
            from tse2.corpus.mbrola import MBROLA_VOICES
            from tse2.corpus.styles import stamp_sentences

            langs = sorted({lang for lang, _, split in MBROLA_VOICES.values()
                            if split in mbrola_splits and lang not in sentences})
            extra = stamp_sentences(args.voices_dir, langs) if langs else None
        speakers, utts = make_style_plan(sentences, per_split, args.utts_per_speaker, styles, args.seed,
                                         mbrola_splits=mbrola_splits,
                                         mbrola_utts_per_style=args.mbrola_utts_per_style, mbrola_sentences=extra)
    elif args.mbrola_splits:
        raise ValueError("--mbrola_splits needs --styles (the MBROLA voices speak the expressive corpus)")
    else:
        speakers, utts = embedded.make_plan(sentences, per_split, args.utts_per_speaker, args.seed)
    embedded.write_plan(args.outdir / "plan.jsonl", speakers, utts)
    with atomic_open(args.outdir / "utt.list") as f:
        for utt in sorted((u.utt for u in utts), key=c_sort_key):
            f.write(utt + "\n")
    logging.info("planned %d speakers, %d utterances", len(speakers), len(utts))
    return 0


def synth(args) -> int:
    _, utts = embedded.read_plan(args.plan)
    if args.utt_list is not None:
        wanted = set(args.utt_list.read_text(encoding="utf-8").split())
        unknown = wanted - {u.utt for u in utts}
        if unknown:
            raise ValueError(f"{args.utt_list}: {len(unknown)} utterance(s) not in {args.plan}, e.g. {sorted(unknown)[0]}")
        utts = [u for u in utts if u.utt in wanted]
    made = embedded.synthesize_plan(utts, args.wav_dir, sample_rate=args.fs, voices_dir=args.voices_dir)
    logging.info("synthesized %d of %d utterances (%d already done)", made, len(utts), len(utts) - made)
    return 0


def datadir(args) -> int:
    speakers, utts = embedded.read_plan(args.plan)
    stats = embedded.write_data_dirs(speakers, utts, args.wav_dir, args.data_root)
    report = embedded.corpus_report(speakers, utts, stats)
    if args.report:
        with atomic_open(args.report) as f:
            f.write(report)
    print(report)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"plan": plan, "synth": synth, "datadir": datadir}, argv)


if __name__ == "__main__":
    sys.exit(main())
