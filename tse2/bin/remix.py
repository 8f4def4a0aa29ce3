"""Remix a recording as a sentence says: extract, remove, turn up or down speakers and sounds.

  python -m tse2.bin.remix --model_dir egs/mini_espeak/remix/released/remix_blstm_minilm \\
      --prompt "turn the birds down and remove the man" in.wav out.wav
  tse2-remix --model_dir DIR --prompt "keep only the woman" in.flac out.wav

Any sample rate and channel count comes in; the remix is written at the input's rate with the
input's channels.  Before remixing, every sound category the prompt names (the sound bank's words:
"the birds", "the music", ...) is extracted alone; one that comes out below ``--absent_db`` (dB
against the recording) is an error (exit 1) saying the recording does not seem to hold it, so
that near-silence is not written as a successful "keep only the dog".  ``--force`` remixes anyway.
Speaker genders the prompt names ("the woman") are checked the same way.  A model with a presence
head (``remixer_conf: presence_hidden``) decides instead by the head's probability that the named
source is there (absent below 0.5; the log prints it).  A prompt the reader
cannot follow (``tse2.inference.remix.read_prompt``: no remix action, nothing the model knows
named, one source given two actions, or words past the text model's token limit) is refused the
same way, with the reason.  By the level alone, the released model's absence check catches
near-silence, not a wrong prompt: a missing category extracts at -12.8 dB on average and none
falls below -25 dB (egs/mini_espeak/remix/README.md, "Prompts naming a missing source").
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.utils.cli import run_tool

log = logging.getLogger("remix")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", type=Path, required=True, help="a trained or released remixer dir")
    parser.add_argument("--model_file", default=None, help="checkpoint in --model_dir (default: model.pth or the best)")
    parser.add_argument("--prompt", required=True, help="what to do, in words")
    parser.add_argument("--absent_db", type=float, default=-25.0,
                        help="a named sound extracted below this level (dB against the recording) is absent")
    parser.add_argument("--force", action="store_true",
                        help="remix even when a named sound seems absent or the prompt cannot be followed")
    parser.add_argument("--ngpu", type=int, default=0)
    parser.add_argument("input", type=Path, help="the recording (any format soundfile reads)")
    parser.add_argument("output", type=Path, help="where to write the remix (WAV)")
    return parser


def main_(args) -> int:
    import numpy as np

    from tse2.extractor import check_recording
    from tse2.inference.remix import Remixer, read_prompt
    from tse2.utils.audio import read_audio
    from tse2.utils.fileio import write_wav

    if Path(args.output).resolve() == Path(args.input).resolve():
        raise ValueError(f"{args.output}: is also the input; write the remix to another file")
    if not args.prompt.strip():
        raise ValueError("--prompt is empty: say what to remix (e.g. 'remove the music')")
    from tse2.utils.fileio import check_writable

    check_writable(args.output, "remix")
    from tse2.utils.cli import import_quietly

    import_quietly("espnet.nets.pytorch_backend.transformer.attention")
    wav, rate = read_audio(str(args.input), mono=False)  # read and checked before any model loads
    check_recording(wav, rate, str(args.input))
    refuse_prompt(args, read_prompt(args.prompt).problems)  # before the model loads
    rm = Remixer.from_pretrained(args.model_dir, args.model_file, "cuda" if args.ngpu > 0 else "cpu")
    refuse_prompt(args, rm.prompt_problems(args.prompt))  # and the token limit, with its tokenizer
    checks = rm.check_prompt(wav, rate, args.prompt, args.absent_db)
    absent = [c for c in checks if not c.present]
    for c in checks:
        said = "" if c.presence is None else f", presence {c.presence:.2f}"
        log.info("%s (%s): %.1f dB of the recording%s%s", c.word, c.category, c.level_db, said,
                 "" if c.present else ": absent")
    if absent and not args.force:
        why = (f"the model's presence head gives {', '.join(f'{c.presence:.2f}' for c in absent)}, below 0.5"
               if absent[0].presence is not None else
               f"extracted at {', '.join(f'{c.level_db:.1f} dB' for c in absent)}, below {args.absent_db:g} dB")
        raise ValueError(f"{args.input}: the prompt names {', '.join(repr(c.word) for c in absent)}, which this "
                         f"recording does not seem to contain ({why}); nothing written (--force remixes anyway)")
    out = rm(wav, args.prompt, rate).audio
    peak = float(np.abs(out).max())
    if peak > 1.0:
        log.info("%s: peak %.2f, scaled to full scale", args.output, peak)
        out = out / peak
    write_wav(args.output, out, rate)
    print(f"{args.input} -> {args.output}: remixed as {args.prompt!r}")
    return 0


def refuse_prompt(args, problems: List[str]) -> None:
    """A prompt the reader cannot follow is an error, unless ``--force`` (then the remixer warns)."""
    if problems and not args.force:
        raise ValueError(f"cannot follow the prompt {args.prompt!r}: {'; '.join(problems)}; nothing written "
                         "(--force remixes anyway)")


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), main_, argv, quiet=True)


if __name__ == "__main__":
    sys.exit(main())
