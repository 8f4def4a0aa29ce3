"""Extract the talker a sentence describes from a recording of two talkers.

  python -m tse2.bin.extract --model_dir exp/packed/tflocoformer_tiny_minilm_whisper \\
      --prompt "Extract the speaker who starts first." mixture.wav target.wav [--other other.wav]
  tse2-extract --model_dir DIR --selector attributes --prompt "the louder speaker" in.flac out.wav

Any sample rate and channel count comes in (down-mixed and resampled, with a log line); the
outputs are written at the input's rate.  Prints each separated output's score (the classifier's
decision value: a cosine similarity plus its readout term, not bounded to [-1, 1]; or the attribute
selector's signed margin) and which one was selected, and warns when the prompt names no cue,
contradicts itself, or runs past the text model's token limit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.utils.cli import run_tool

log = logging.getLogger("extract")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", type=Path, required=True, help="a packed model dir (tse2.bin.pack)")
    parser.add_argument("--prompt", default=None, help="the sentence describing the target talker")
    parser.add_argument("--enroll", type=Path, default=None,
                        help="an enrollment utterance of the target (for an enrollment classifier)")
    parser.add_argument("--selector", choices=("classifier", "attributes"), default="classifier",
                        help="the trained classifier, or the training-free attribute selector")
    parser.add_argument("--other", type=Path, default=None, help="also write the other separated talker here")
    parser.add_argument("--ngpu", type=int, default=0)
    parser.add_argument("input", type=Path, help="the mixture (any format soundfile reads)")
    parser.add_argument("output", type=Path, help="where to write the extracted talker (WAV)")
    return parser


def main_(args) -> int:
    from tse2.extractor import TextGuidedExtractor, check_recording, describe, to_model_input
    from tse2.utils.audio import read_audio
    from tse2.utils.fileio import write_wav

    if args.prompt is None and args.enroll is None:
        raise ValueError("give --prompt (or --enroll for an enrollment classifier)")
    if args.prompt is not None and not args.prompt.strip():
        raise ValueError("--prompt is empty: describe the talker to extract (e.g. 'the louder speaker')")
    check_outputs(args.input, [args.output, args.other] + ([args.enroll] if args.enroll else []))
    # the audio is read and checked before any model loads: bad input fails in a second
    wav, rate = read_audio(str(args.input), mono=False)  # any rate, any channels
    check_recording(wav, rate, str(args.input))
    enroll = None
    if args.enroll is not None:  # brought to the mixture's rate; the extractor takes both on from there
        audio, e_rate = read_audio(str(args.enroll), mono=False)
        enroll = to_model_input(audio, e_rate, rate, str(args.enroll))
    ex = TextGuidedExtractor.from_pretrained(args.model_dir, "cuda" if args.ngpu > 0 else "cpu", args.selector)
    result = ex(wav, args.prompt, rate=rate, enroll=enroll, name=str(args.input))
    for path, audio in ((args.output, result.target), (args.other, result.other)):
        if path is not None:
            peak = float(abs(audio).max())
            if peak > 1.0:
                log.info("%s: peak %.2f, scaled to full scale", path, peak)
                audio = audio / peak
            write_wav(path, audio, result.fs)
    print(f"{args.input}: {describe(result, args.selector)}")
    log.info("wrote %s%s", args.output, f" and {args.other}" if args.other else "")
    return 0


def check_outputs(input_path: Path, paths: List[Optional[Path]]) -> None:
    """Refuses, before any model loads, to write an output over the input (or the enrollment), both
    outputs to one file, or to a path that cannot be written (a directory, a read-only dir)."""
    inputs = {Path(input_path).resolve(): input_path}
    if paths[2:]:
        inputs[Path(paths[2]).resolve()] = paths[2]
    outs = [p for p in paths[:2] if p is not None]
    for p in outs:
        if Path(p).resolve() in inputs:
            raise ValueError(f"{p}: is also an input ({inputs[Path(p).resolve()]}); "
                             "write the extracted talker to another file")
    if len(outs) == 2 and Path(outs[0]).resolve() == Path(outs[1]).resolve():
        raise ValueError(f"{outs[0]}: given as both the output and --other")
    from tse2.utils.fileio import check_writable

    for p in outs:
        check_writable(p)


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), main_, argv, quiet=True)


if __name__ == "__main__":
    sys.exit(main())
