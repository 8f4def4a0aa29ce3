"""Evaluation of a remixer: remix a fixed set, score it per task, and report.

  python -m tse2.bin.remix_eval infer --model_dir exp/remix_x \\
      --item data/remix_test,prompt,exp/remix_x/decode_test/prompt [--item ...] [--keys part.1 --part 1]
  python -m tse2.bin.remix_eval score --data_dir data/remix_test --decode_dir exp/remix_x/decode_test/prompt
  python -m tse2.bin.remix_eval report --out exp/results/RESULTS.md --row "name=DIR" ...

``infer`` remixes each ``--item`` (a data dir, its prompt file, an output dir; the model loads
once for all) into ``<out>/wav/<mix>.wav`` and ``<out>/wav.scp``.  Parallel jobs follow the
recipes' one convention (``run_jobs`` of ``utils/lib/stages.sh``): a list of ``<item number>:<mix>``
lines is split into parts, and job JOB remixes ``--keys`` part JOB with ``--part JOB``, writing
``wav.scp.<JOB>``; ``score`` reads every part.  A remix already written is kept (a rerun finishes
an interrupted job).
``score`` writes ``<decode_dir>/scores.jsonl`` (per mixture: task, SNR of the mixture and of the
remix, SNRi) and ``summary.json`` (per task: mean SNRi, the share of mixtures improved).
``report`` writes the Markdown table of several scored decodings, the paper's Table II layout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from tse2.utils.cli import run_tool, tool_parser


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    i = sub.add_parser("infer", help="remix every mixture of a set")
    i.add_argument("--model_dir", type=Path, required=True)
    i.add_argument("--model_file", default=None)
    i.add_argument("--item", action="append", required=True,
                   help="DATA_DIR,PROMPT_FILE,OUT_DIR: remix the data dir's wav.scp with its prompt file into OUT_DIR")
    add_part_arguments(i)
    c = sub.add_parser("cascade", help="the ideal cascade: separate, match by PIT, apply the true gains")
    c.add_argument("--model_dir", type=Path, required=True, help="a trained cascade separator")
    c.add_argument("--model_file", default=None)
    c.add_argument("--item", action="append", required=True, help="DATA_DIR,OUT_DIR (the set needs src<k>.scp)")
    add_part_arguments(c)
    s = sub.add_parser("score", help="SNR improvement per task")
    s.add_argument("--data_dir", type=Path, required=True)
    s.add_argument("--decode_dir", type=Path, required=True)
    s.add_argument("--absent_db", type=float, default=-25.0,
                   help="an extraction below this level against the mixture counts as \"not there\" (the CLI's check)")
    f = sub.add_parser("figure", help="before/after/target spectrograms of example prompts (PNG)")
    f.add_argument("--data_dir", type=Path, required=True)
    f.add_argument("--decode_dir", type=Path, required=True, help="a scored decoding")
    f.add_argument("--tasks", default="TSE,TAE,SD", help="one example per task: the median SNRi among its mixtures")
    f.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("report", help="the Markdown table of scored decodings")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--row", action="append", required=True, help="NAME=DECODE_DIR (scored)")
    r.add_argument("--title", default="Remixing: SNRi (dB) per task")
    return parser


def add_part_arguments(p) -> None:
    p.add_argument("--keys", type=Path, default=None,
                   help="only these mixtures: lines '<item number>:<mix>' (a part of the recipe's list)")
    p.add_argument("--part", type=int, default=None, help="with --keys: this part's number (writes wav.scp.<part>)")


def selected(args, n_items: int) -> Optional[Dict[int, set]]:
    """{item index: the mixtures of this job} from ``--keys``, or None for every mixture."""
    if args.keys is None:
        return None
    if args.part is None or args.part < 1:
        raise ValueError("--keys needs --part (this part's number, 1 or more)")
    out: Dict[int, set] = {}
    for ln, line in enumerate(args.keys.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        n, sep, key = line.split()[0].partition(":")
        if not sep or not n.isdigit() or not 1 <= int(n) <= n_items:
            raise ValueError(f"{args.keys}:{ln}: expected '<item number 1..{n_items}>:<mix>', got {line.split()[0]!r}")
        out.setdefault(int(n) - 1, set()).add(key)
    return out


def scp_name(args) -> str:
    return "wav.scp" if args.keys is None else f"wav.scp.{args.part}"


def infer(args) -> int:
    from tse2.inference.remix import Remixer
    from tse2.utils.audio import back_to_rate, read_audio, to_model_input
    from tse2.utils.datadir import c_sort_key, read_map, write_map
    from tse2.utils.fileio import write_wav

    items = []
    for spec in args.item:
        parts = spec.split(",")
        if len(parts) != 3:
            raise ValueError(f"--item must be DATA_DIR,PROMPT_FILE,OUT_DIR, got {spec!r}")
        data_dir, prompt_file, out_dir = Path(parts[0]), parts[1], Path(parts[2])
        items.append((out_dir, read_map(data_dir / "wav.scp"), read_map(data_dir / prompt_file)))
    mine = selected(args, len(items))
    rm = Remixer.from_pretrained(args.model_dir, args.model_file)
    for n, (out_dir, wavs, prompts) in enumerate(items):
        keys = sorted((k for k in wavs if mine is None or k in mine.get(n, ())), key=c_sort_key)
        if not keys:
            continue
        out, presence = {}, {}
        pres_file = out_dir / scp_name(args).replace("wav.scp", "presence")
        known = read_map(pres_file) if rm.has_presence and pres_file.is_file() else {}
        for k in keys:
            path = out_dir / "wav" / f"{k}.wav"
            if not path.is_file() or (rm.has_presence and k not in known):
                x, rate = read_audio(wavs[k])
                if rate == rm.fs:
                    y, prob = rm.remix_and_presence(x, prompts[k])
                else:  # one pass at the model's rate, as Remixer.__call__ does
                    y, prob = rm.remix_and_presence(to_model_input(x, rate, rm.fs, name=wavs[k]), prompts[k])
                    y = back_to_rate(y, rm.fs, rate, len(x))
                write_wav(path, np.clip(y, -1, 1), rate)
                if prob is not None:
                    presence[k] = f"{prob:.4f}"
            elif k in known:
                presence[k] = known[k]
            out[k] = str(path.resolve())
        if rm.has_presence:  # the presence head's probability per mixture, for the scoring stage
            write_map(pres_file, presence)
        write_map(out_dir / scp_name(args), out)
        print(f"{out_dir}: {len(out)} remixes" + (" with the presence head's answers" if rm.has_presence else ""))
    return 0


def cascade(args) -> int:
    from tse2.inference.remix import CascadeSeparator
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import c_sort_key, read_map, write_map
    from tse2.utils.fileio import write_wav

    mine = selected(args, len(args.item))
    sep = CascadeSeparator.from_pretrained(args.model_dir, args.model_file)
    for n, spec in enumerate(args.item):
        parts = spec.split(",")
        if len(parts) != 2:
            raise ValueError(f"--item must be DATA_DIR,OUT_DIR, got {spec!r}")
        data_dir, out_dir = Path(parts[0]), Path(parts[1])
        wavs, gains = read_map(data_dir / "wav.scp"), read_map(data_dir / "gains")
        srcs = [read_map(p) for p in sorted(data_dir.glob("src*.scp"), key=lambda p: int(p.stem[3:]))]
        if not srcs:
            raise FileNotFoundError(f"{data_dir}: no src<k>.scp (the cascade needs the reference sources)")
        out = {}
        keys = sorted((k for k in wavs if mine is None or k in mine.get(n, ())), key=c_sort_key)
        if not keys:
            continue
        for k in keys:
            path = out_dir / "wav" / f"{k}.wav"
            if not path.is_file():
                x, rate = read_audio(wavs[k], fs=sep.fs)
                s = np.stack([read_audio(m[k], fs=sep.fs)[0] for m in srcs])
                y = sep.ideal_remix(x, s, [float(g) for g in gains[k].split()])
                write_wav(path, np.clip(y, -1, 1), rate)
            out[k] = str(path.resolve())
        write_map(out_dir / scp_name(args), out)
        print(f"{out_dir}: {len(out)} cascade remixes")
    return 0


def decoded(decode_dir: Path, name: str = "wav.scp") -> Dict[str, str]:
    """The map ``name`` (``wav.scp``; ``presence``) of a decode dir, whole or in job parts."""
    from tse2.utils.datadir import read_map

    one = decode_dir / name
    if one.is_file():
        return read_map(one)
    parts = sorted(decode_dir.glob(f"{name}.*"))
    if not parts:
        if name == "wav.scp":
            raise FileNotFoundError(f"{decode_dir}: no wav.scp (run infer first)")
        return {}  # an optional map (presence: only a model with a head writes it)
    out: Dict[str, str] = {}
    for p in parts:
        out.update(read_map(p))
    return out


def score(args) -> int:
    from tse2.scoring.remix import score_mixture, summarize, summary_lines
    from tse2.simulation.remix_tasks import ABSENT_TASKS, TASKS
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import c_sort_key, read_map
    from tse2.utils.fileio import atomic_open

    mix, ref, task = (read_map(args.data_dir / n) for n in ("wav.scp", "spk1.scp", "task"))
    est = decoded(args.decode_dir)
    missing = sorted(set(mix) - set(est), key=c_sort_key)
    if missing:
        raise ValueError(f"{args.decode_dir}: {len(missing)} mixtures of {args.data_dir} were not remixed, e.g. {missing[0]}")
    unknown = sorted({t for t in task.values() if t not in TASKS and t not in ABSENT_TASKS})
    if unknown:
        raise ValueError(f"{args.data_dir}/task: unknown tasks {unknown}")
    rows = [score_mixture(k, task[k], *(read_audio(p)[0] for p in (mix[k], ref[k], est[k])))
            for k in sorted(mix, key=c_sort_key)]
    presence = decoded(args.decode_dir, "presence")  # a model with a presence head wrote its answers
    if presence:
        lacking = [r["mix"] for r in rows if r["mix"] not in presence]
        if lacking:
            raise ValueError(f"{args.decode_dir}: no presence answer for {len(lacking)} mixtures, e.g. {lacking[0]} "
                             "(rerun infer)")
        for r in rows:
            r["presence"] = round(float(presence[r["mix"]]), 4)
    with atomic_open(args.decode_dir / "scores.jsonl") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    summary = summarize(rows, args.absent_db)
    for line in summary_lines(summary):
        print(f"{args.decode_dir}: {line}")
    with atomic_open(args.decode_dir / "summary.json") as f:
        json.dump(summary, f, indent=1)
    return 0


def figure(args) -> int:
    from tse2.simulation.remix_tasks import TASK_LABELS
    from tse2.scoring.figures import remix_spectrograms
    from tse2.utils.audio import read_audio
    from tse2.utils.datadir import read_map
    from tse2.utils.fileio import read_jsonl

    scores = read_jsonl(args.decode_dir / "scores.jsonl", "run score first")
    mix, ref, prompts = (read_map(args.data_dir / n) for n in ("wav.scp", "spk1.scp", "prompt"))
    est = decoded(args.decode_dir)
    rows, picked = [], []
    for task in args.tasks.split(","):
        sel = sorted((r for r in scores if r["task"] == task), key=lambda r: r["snri"])
        if not sel:
            raise ValueError(f"{args.decode_dir}: no scored mixture of task {task}")
        r = sel[len(sel) // 2]
        fs = read_audio(mix[r["mix"]])[1]
        panels = [(f"unprocessed (SNR {r['snr_mix']:.1f} dB)", read_audio(mix[r["mix"]])[0]),
                  (f"remixed (SNRi {r['snri']:+.1f} dB)", read_audio(est[r["mix"]])[0]),
                  ("target", read_audio(ref[r["mix"]])[0])]
        rows.append((f"{TASK_LABELS[task]}: \"{prompts[r['mix']]}\"", panels))
        picked.append(f"{r['mix']} ({task}, SNRi {r['snri']:+.1f} dB): {prompts[r['mix']]}")
    remix_spectrograms(rows, fs, args.out)
    print(f"{args.out}: " + "; ".join(picked))
    return 0


def report(args) -> int:
    from tse2.scoring.remix import report_lines
    from tse2.utils.cli import write_markdown

    rows = []
    for spec in args.row:
        name, _, d = spec.partition("=")
        if not d:
            raise ValueError(f"--row must be NAME=DECODE_DIR, got {spec!r}")
        p = Path(d) / "summary.json"
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing (run score on {d})")
        rows.append((name, json.loads(p.read_text())))
    lines = report_lines(args.title, rows)
    write_markdown(args.out, lines)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"infer": infer, "cascade": cascade, "score": score, "figure": figure, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
