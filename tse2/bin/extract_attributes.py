"""Stage 2: speech attributes of clean utterances, as JOB-array jobs plus a merge.

  python -m tse2.bin.extract_attributes extract --data_dir data/train --wav_scp split/wav.1.scp \\
      --out split/attributes.1.jsonl [--align_method auto] [--f0_method praat] ...
  python -m tse2.bin.extract_attributes merge --data_dir data/train --out data/train/attributes.jsonl \\
      split/attributes.*.jsonl

``extract`` writes one JSON object per utterance (fields in :mod:`tse2.attributes.analyzer`) and
``<out>.settings.json``, the settings and inputs it used (a record, not restart state: ``tse2.sh``
decides what to redo).
``merge`` checks that every utterance of ``wav.scp`` has exactly one row and that all parts used
the same settings, then writes the C-sorted ``attributes.jsonl`` and ``attributes.settings.json``.

Alignment (``--align_method``): ``given`` reads ``words.ctm`` of the data dir; ``mfa`` reads
``<textgrid_dir>/<utt>.TextGrid`` (or ``<textgrid_dir>/<spk>/<utt>.TextGrid``), running ``mfa align``
first when ``--mfa_dictionary`` and ``--mfa_acoustic_model`` are given; ``vad`` uses Silero VAD;
``auto`` takes the first available in that order and logs its choice.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

from tse2.attributes.analyzer import AttributeAnalyzer, AnalyzerConfig
from tse2.attributes.f0 import F0_METHODS, F0Config
from tse2.attributes.segments import TextGridError, mfa_available, read_textgrid, run_mfa_align
from tse2.attributes.syllables import LANGUAGES
from tse2.utils.audio import read_audio
from tse2.utils.datadir import CTM_FILE, DataDirError, c_sort_key, read_ctm, read_map, read_map_if_present
from tse2.utils.cli import add_merge_parser, run_tool, tool_parser
from tse2.utils.fileio import atomic_open, inputs_digest, read_jsonl

log = logging.getLogger("extract_attributes")
SUMMARY_FIELDS = ("f0_mean", "speaking_duration", "speaking_rate", "rms_db")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    e = sub.add_parser("extract", help="attributes of the utterances of one wav.scp part")
    e.add_argument("--data_dir", type=Path, required=True, help="data dir with utt2lang, text, words.ctm")
    e.add_argument("--wav_scp", type=Path, default=None, help="the part to process (default: data_dir/wav.scp)")
    e.add_argument("--out", type=Path, required=True, help="output JSON lines")
    e.add_argument("--fs", type=int, default=16000)
    e.add_argument("--align_method", choices=("auto", "given", "mfa", "vad"), default="auto")
    e.add_argument("--textgrid_dir", type=Path, default=None, help="MFA TextGrids (read, or written by mfa align)")
    e.add_argument("--textgrid_tier", default="words")
    e.add_argument("--mfa_dictionary", default=None, help="local MFA pronunciation dictionary")
    e.add_argument("--mfa_acoustic_model", default=None, help="local MFA acoustic model")
    e.add_argument("--f0_method", choices=F0_METHODS, default="praat")
    e.add_argument("--fmin", type=float, default=60.0)
    e.add_argument("--fmax", type=float, default=500.0)
    e.add_argument("--f0_hop", type=float, default=0.01, help="F0 frame hop in seconds")
    e.add_argument("--max_pause", type=float, default=0.6, help="longer pauses are not speaking time (s)")
    e.add_argument("--vad_threshold", type=float, default=0.5)
    e.add_argument("--syllable_fallback", choices=LANGUAGES, default=None,
                   help="count syllables of other languages with this language's rule (logged)")
    add_merge_parser(sub, "--data_dir", "merge the parts into the data dir's attributes.jsonl", "--out")
    return parser


def resolve_align_method(args) -> str:
    if args.align_method != "auto":
        return args.align_method
    if (args.data_dir / CTM_FILE).is_file():
        choice, why = "given", f"{args.data_dir / CTM_FILE} exists"
    elif args.textgrid_dir is not None and args.textgrid_dir.is_dir():
        choice, why = "mfa", f"TextGrids in {args.textgrid_dir}"
    elif mfa_available() and args.mfa_dictionary and args.mfa_acoustic_model:
        choice, why = "mfa", "mfa is installed and a dictionary and acoustic model were given"
    else:
        choice, why = "vad", "no word alignment available"
    log.info("--align_method auto: using %s (%s)", choice, why)
    return choice


def _textgrid_path(tg_dir: Path, utt: str, spk: Optional[str]) -> Path:
    for cand in (tg_dir / f"{utt}.TextGrid", tg_dir / (spk or "") / f"{utt}.TextGrid"):
        if cand.is_file():
            return cand
    raise TextGridError(f"{tg_dir}: no TextGrid for utterance {utt}")


def _mfa_align_part(args, wavs: Dict[str, str], texts: Dict[str, str]) -> Path:
    """Writes an MFA corpus (symlinked wavs + .lab transcripts) for this part and aligns it."""
    work = args.out.with_suffix(".mfa")
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for utt, path in wavs.items():
        if utt not in texts:
            raise DataDirError(f"{args.data_dir / 'text'}: MFA needs a transcript for {utt}")
        link = corpus / f"{utt}.wav"
        if not link.exists():
            os.symlink(os.path.abspath(path), link)
        (corpus / f"{utt}.lab").write_text(texts[utt] + "\n", encoding="utf-8")
    out = args.textgrid_dir or work / "textgrids"
    run_mfa_align(corpus, args.mfa_dictionary, args.mfa_acoustic_model, out)
    return out


def extract(args) -> int:
    settings = {
        "analyzer": AnalyzerConfig(
            f0=F0Config(method=args.f0_method, fmin=args.fmin, fmax=args.fmax, hop_s=args.f0_hop),
            max_pause=args.max_pause, syllable_fallback=args.syllable_fallback, vad_threshold=args.vad_threshold,
        ),
        "fs": args.fs,
    }
    wav_scp = args.wav_scp or args.data_dir / "wav.scp"
    wavs = read_map(wav_scp)
    method = resolve_align_method(args)
    record = {"fs": args.fs, "align_method": method, **settings["analyzer"].to_dict(),
              "inputs": inputs_digest([args.data_dir / n for n in ("words.ctm", "text", "utt2lang")],
                                      [wavs[u] for u in sorted(wavs)])}

    langs = read_map_if_present(args.data_dir / "utt2lang")
    texts = read_map_if_present(args.data_dir / "text")
    utt2spk = read_map_if_present(args.data_dir / "utt2spk")
    ctm = read_ctm(args.data_dir / CTM_FILE) if method == "given" else {}
    if method == "given" and not ctm:
        raise DataDirError(f"{args.data_dir / CTM_FILE}: --align_method given needs word alignments")
    tg_dir = args.textgrid_dir
    if method == "mfa" and (tg_dir is None or not tg_dir.is_dir() or args.mfa_dictionary):
        if not (args.mfa_dictionary and args.mfa_acoustic_model):
            raise ValueError("--align_method mfa needs --textgrid_dir with TextGrids, or "
                             "--mfa_dictionary and --mfa_acoustic_model to run mfa align")
        tg_dir = _mfa_align_part(args, wavs, texts)

    analyzer = AttributeAnalyzer(settings["analyzer"])
    rows = []
    for utt in sorted(wavs, key=c_sort_key):
        audio, _ = read_audio(wavs[utt], fs=args.fs)
        segments = None
        if method == "given":
            if utt not in ctm:
                raise DataDirError(f"{args.data_dir / CTM_FILE}: no words for utterance {utt}")
            segments = [(w.start, w.start + w.dur, w.word) for w in ctm[utt]]
        elif method == "mfa":
            segments = read_textgrid(_textgrid_path(tg_dir, utt, utt2spk.get(utt)), args.textgrid_tier)
        attrs = analyzer(utt, audio, args.fs, langs.get(utt), segments=segments, text=texts.get(utt),
                          align_method=method)
        rows.append(json.dumps(attrs.to_dict(), ensure_ascii=False))
    with atomic_open(args.out) as f:
        f.write("".join(r + "\n" for r in rows))
    with atomic_open(Path(f"{args.out}.settings.json")) as f:
        json.dump(record, f, indent=1)
    log.info("wrote %d utterances to %s (align: %s, F0: %s)", len(rows), args.out, method, args.f0_method)
    return 0


def merge(args) -> int:
    wavs = read_map(args.data_dir / "wav.scp")
    rows: Dict[str, str] = {}
    settings = None
    for part in args.parts:
        side = Path(f"{part}.settings.json")
        if not part.is_file() or not side.is_file():
            raise FileNotFoundError(f"{part}: missing output of an extraction job (see its log)")
        s = json.loads(side.read_text(encoding="utf-8"))
        s.pop("inputs", None)  # differs per part by design
        if settings is not None and s != settings:
            raise ValueError(f"{part}: extracted with other settings than {args.parts[0]}")
        settings = s
        for row in read_jsonl(part, "rerun its extraction job"):
            utt = row["utt"]
            lacking = [k for k in SUMMARY_FIELDS if k not in row]
            if lacking:  # named here, before anything is written
                raise ValueError(f"{row.source}: no {lacking[0]!r} field; rerun its extraction job")
            if utt in rows:
                raise ValueError(f"{row.source}: utterance {utt} appears in two parts")
            rows[utt] = row
    missing = sorted(set(wavs) - set(rows))
    if missing:
        raise ValueError(f"{len(missing)} utterance(s) of {args.data_dir / 'wav.scp'} have no attributes, e.g. {missing[0]}")
    extra = sorted(set(rows) - set(wavs))
    if extra:
        raise ValueError(f"attributes for utterances not in {args.data_dir / 'wav.scp'}, e.g. {extra[0]}")
    with atomic_open(args.out) as f:
        for utt in sorted(rows, key=c_sort_key):
            f.write(json.dumps(rows[utt], ensure_ascii=False) + "\n")
    summary = {key: sum(1 for r in rows.values() if r[key] is None) for key in SUMMARY_FIELDS}
    with atomic_open(args.out.with_suffix(".settings.json")) as f:
        json.dump({"settings": settings, "utterances": len(rows), "missing": summary}, f, indent=1)
    log.info("merged %d utterances into %s; missing values: %s", len(rows), args.out, summary)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"extract": extract, "merge": merge}, argv)


if __name__ == "__main__":
    sys.exit(main())
