"""Stage 9: signal metrics of the separated outputs, then RESULTS.md and figures.

  python -m tse2.bin.score metrics --mix_dir data/test_mix --sep_dir exp/sep_x/separate_test \\
      --wav_scp split/wav.scp.1 --out split/metrics.1.jsonl
  python -m tse2.bin.score merge --mix_dir data/test_mix --out_dir exp/sep_x/score_test split/metrics.*.jsonl
  python -m tse2.bin.score report --out_dir exp/results_x --bins data/train_mix/independent_bins.json \\
      --set test data/test_mix exp/sep_x/score_test \\
      --system text exp/cls_y_text --system enroll exp/cls_y_enroll --system text_clean exp/cls_y_text_clean

``metrics`` scores each separated output and the mixture against the reference target: SI-SDR
(torchmetrics) and PESQ (``pesq``; wide band at 16 kHz, narrow band at 8 kHz).  A PESQ failure is
kept as its message.  ``merge`` joins the parts into ``metrics.jsonl`` (one row per mixture) and
``summary.json``.  ``report`` reads every system's ``<dir>/infer_<set>/selections.jsonl`` (stage 8)
and writes ``RESULTS.md`` (paper Tables IV, V and VI, Fig. 6 as a table), ``scores.json`` and
``figures/*.png``; it only reads files, so it recomputes the whole report in seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from tse2.cues.labels import IndependentBins
from tse2.scoring import figures
from tse2.scoring.metrics import pesq_mode, pesq_score, si_sdr
from tse2.scoring.tables import (PAIRED_CUES, by_cue, condition_breakdown, conditions, db, is_clean,
                                 is_single_stage, oracle_selection, pct, per_mixture_by_cue, pesq_cell,
                                 relative_vs_independent, scored_examples, speaker_values, table)
from tse2.utils.audio import read_audio
from tse2.utils.cli import merge_parts, run_tool, write_markdown
from tse2.utils.datadir import DataDirError, c_sort_key, read_map
from tse2.utils.fileio import atomic_open, read_jsonl

log = logging.getLogger("score")

def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("metrics", help="SI-SDR and PESQ of both separated outputs and the mixture")
    m.add_argument("--mix_dir", type=Path, required=True, help="stage-3 mixture dir (wav.scp spk1/2.scp utt2target)")
    m.add_argument("--sep_dir", type=Path, required=True, help="stage-6 output dir (sep1.scp sep2.scp)")
    m.add_argument("--wav_scp", type=Path, default=None, help="a part of the mixtures' wav.scp (default: all)")
    m.add_argument("--out", type=Path, required=True)
    g = sub.add_parser("merge", help="join the metrics parts of one set")
    g.add_argument("--mix_dir", type=Path, required=True)
    g.add_argument("--out_dir", type=Path, required=True)
    g.add_argument("parts", type=Path, nargs="+")
    r = sub.add_parser("report", help="RESULTS.md, scores.json and figures from stage-8 selections")
    r.add_argument("--out_dir", type=Path, required=True)
    r.add_argument("--bins", type=Path, default=None, help="independent-cue bins (relative vs independent study)")
    r.add_argument("--set", nargs=3, action="append", required=True, metavar=("NAME", "MIX_DIR", "SCORE_DIR"),
                   dest="sets", help="an evaluation set: name, mixture dir, merged metrics dir")
    r.add_argument("--system", nargs=2, action="append", required=True, metavar=("NAME", "DIR"), dest="systems",
                   help="a selector: text, text_ind, enroll (each optionally _clean) or any other name")
    r.add_argument("--title", default="Text-guided TSE with relative cues")
    return parser


# ----------------------------------------------------------------------------------- metrics


def metrics(args) -> int:
    wavs = read_map(args.wav_scp or args.mix_dir / "wav.scp")
    targets = read_map(args.mix_dir / "utt2target")
    refs = {k: read_map(args.mix_dir / f"spk{k}.scp") for k in (1, 2)}
    seps = {k: read_map(args.sep_dir / f"sep{k}.scp") for k in (1, 2)}
    rows = []
    for mix in sorted(wavs, key=c_sort_key):
        for name, table_ in (("utt2target", targets), ("sep1.scp", seps[1]), ("sep2.scp", seps[2])):
            if mix not in table_:
                raise DataDirError(f"{name} has no entry for mixture {mix} ({args.mix_dir}, {args.sep_dir})")
        tgt = int(targets[mix])
        if tgt not in (1, 2):
            raise DataDirError(f"{args.mix_dir / 'utt2target'}: {mix}: target must be 1 or 2, got {tgt}")
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


def _load_selections(system_dir: Path, set_name: str) -> List[Mapping]:
    return read_jsonl(system_dir / f"infer_{set_name}" / "selections.jsonl",
                      f"run stage 8 for {system_dir.name} on {set_name}")


def _deltas(mix_dir: Path) -> Dict[Tuple[str, str], Optional[float]]:
    out = {}
    for row in read_jsonl(mix_dir / "cues.jsonl", "run stage 4"):
        for cue, lab in row["cues"].items():
            out[(row["mix"], cue)] = lab.get("delta")
    return out


def _set_report(name: str, mix_dir: Path, score_dir: Path, systems: List[Tuple[str, Path]],
                bins: Optional[IndependentBins], fig_dir: Path) -> Tuple[List[str], Dict]:
    metrics_rows = {r["mix"]: r for r in read_jsonl(score_dir / "metrics.jsonl", "run stage 9 scoring (metrics)")}
    ex = {s: scored_examples(_load_selections(d, name), None if is_clean(s) else metrics_rows) for s, d in systems}
    oracle = oracle_selection(metrics_rows)
    pm = [r["pesq_mix"] for r in metrics_rows.values() if r["pesq_mix"] is not None]
    mode = pesq_mode(next(iter(metrics_rows.values()))["fs"]) if metrics_rows else "wb"
    scores: Dict = {"oracle_selection": vars(oracle), "pesq_mode": mode}
    lines = [f"## {name}", ""]

    # Table IV: single-stage baselines, then the two-stage system per cue type (and any other
    # separated-candidate selector).
    single = [s for s in ex if is_single_stage(s)]
    sep_systems = single + [s for s in ex
                            if not is_clean(s) and not is_single_stage(s) and s not in ("text_ind", "enroll")]
    if sep_systems:
        groups = {s: by_cue(ex[s]) for s in sep_systems}
        cues = list(dict.fromkeys(c for s in sep_systems for c in groups[s]))
        header = ["cue type"]
        for s in sep_systems:
            header += [f"{s}: N"] + ([] if s in single else ["Sep ACC"]) + ["SI-SDRi (dB)", f"PESQ ({mode})"]
        rows = []
        for c in cues:
            row = [c]
            for s in sep_systems:
                g = groups[s].get(c)
                cells = 3 if s in single else 4
                row += ["–"] * cells if g is None else \
                    [str(g.n)] + ([] if s in single else [pct(g.acc)]) + [db(g.sisdri), pesq_cell(g)]
            rows.append(row)
        title = "Single-stage vs two-stage TSE" if single else "Two-stage TSE"
        lines += [f"### {title} per cue type (paper Table IV)", "",
                  "Prompts whose cue is not similar/same; SI-SDRi and PESQ of the extracted (single-stage) or "
                  "selected (two-stage) output against the reference target.", ""] + table(header, rows)
        lines += ["", f"Separator with an oracle selector (the output nearer the target): SI-SDRi "
                  f"{db(oracle.sisdri)} dB, PESQ {pesq_cell(oracle)} over {oracle.n} mixtures; unprocessed "
                  f"mixture PESQ {db(float(np.mean(pm)) if pm else None)}.", ""]
        scores["table4"] = {s: {c: vars(g) for c, g in groups[s].items()} for s in sep_systems}

    # Table V: text vs enrollment, clean vs separated candidates, on the same mixtures per cue.
    cue_ref = ex.get("text") or ex.get("text_clean")
    table5 = ("text_clean", "text", "enroll_clean", "enroll", "attributes_clean", "attributes")
    if cue_ref is not None and any(s in ex for s in table5 if s != "text"):
        cols = [s for s in table5 if s in ex]
        grp = {s: (per_mixture_by_cue(ex[s], cue_ref) if s.startswith("enroll") else by_cue(ex[s])) for s in cols}
        header = ["cue type", "N"] + [f"{s} {'Clean' if is_clean(s) else 'Sep'} ACC" for s in cols]
        if "enroll" in ex:
            header += ["enroll SI-SDRi (dB)", f"enroll PESQ ({mode})"]
        rows = []
        for c, ref_group in by_cue(cue_ref).items():
            row = [c, str(ref_group.n)] + [pct(grp[s][c].acc) if c in grp[s] else "–" for s in cols]
            if "enroll" in ex:
                g = grp["enroll"].get(c)
                row += [db(g.sisdri if g else None), pesq_cell(g)]
            rows.append(row)
        note = ["Enrollment has one example per mixture; each row scores it on the mixtures of that cue "
                "type's prompts, so N matches the text columns."]
        if any(s.startswith("attributes") for s in cols):
            note.append("The attribute selector (training-free) is scored on the prompts it can decide: those with "
                        "a measurable cue (pitch, pitch range, loudness, speaking rate, speaking duration, temporal "
                        "order); its N is in `scores.json`.")
        lines += ["### Classification accuracy: text vs enrollment, clean vs separated (paper Table V)", ""] + \
            [" ".join(note), ""] + table(header, rows) + [""]
        scores["table5"] = {s: {c: vars(g) for c, g in grp[s].items()} for s in cols}

    # Table VI and Fig. 6: relative vs independent prompts (needs both kinds and the bins), on
    # separated candidates and/or on the references (the _clean oracles).
    mixtures = {r["mix"]: r for r in read_jsonl(mix_dir / "mixtures.jsonl", "run stage 3")}
    scatter_sources: Tuple = (("relative", ex["text"]),) if "text" in ex else ()
    pairs = [(r, i) for r, i in (("text", "text_ind"), ("text_clean", "text_ind_clean")) if r in ex and i in ex]
    scores["table6"] = {}
    for rel, ind in pairs if bins is not None else ():
        where = "reverberant references (Clean ACC)" if is_clean(rel) else "separated candidates"
        cond = conditions(mixtures, bins)
        rvi = relative_vs_independent(ex[rel], ex[ind], cond)
        signal = not is_clean(rel)  # the oracles choose between references: accuracy only
        header = ["cue", "group"] + [f"{k} {m}" for k in ("ind", "rel")
                                     for m in (("N", "ACC", "SI-SDRi", "PESQ") if signal else ("N", "ACC"))]
        names = {"distinct": "non-same / non-similar", "indistinct": "same / similar", "all": "all"}
        rows = []
        for cue in ["overall"] + [c for c in rvi if c != "overall"]:
            for key in ("distinct", "indistinct", "all"):
                row = [cue, names[key]]
                for g in rvi[cue][key]:
                    row += [str(g.n), pct(g.acc)] + ([db(g.sisdri), pesq_cell(g)] if signal else [])
                rows.append(row)
        lines += [f"### Relative vs independent cues, {where}: `{rel}` vs `{ind}` (paper Table VI)", "",
                  "Independent prompts grouped by the speakers' independent categories (training-set "
                  "equal-frequency bins), relative prompts by their similar flag.", ""] + table(header, rows) + [""]
        breakdown = {c: condition_breakdown(ex[rel], ex[ind], cond, c) for c in PAIRED_CUES}
        rows = [[c, k, str(i.n), pct(i.acc), str(r.n), pct(r.acc)]
                for c, b in breakdown.items() for k, (i, r) in b.items()]
        fig6 = fig_dir / f"{name}_fig6_conditions_{rel}.png"
        figures.condition_bars(breakdown, fig6, f"{name}, {where}: accuracy per absolute condition")
        lines += [f"### Same / adjacent / distinct independent categories, {where} (paper Fig. 6)", "",
                  "Independent classifier on every pair in the condition vs relative classifier on the pairs "
                  "whose relative cue is not similar.", ""]
        lines += table(["cue", "condition", "independent N", "ACC (all)", "relative N", "ACC (non-similar)"], rows)
        lines += ["", f"![Fig. 6]({fig6.parent.name}/{fig6.name})", ""]
        scores["table6"][rel] = {c: {k: [vars(i), vars(r)] for k, (i, r) in v.items()} for c, v in rvi.items()}
        if rel == pairs[0][0]:
            scatter_sources = (("independent", ex[ind]), ("relative", ex[rel]))
    if not scatter_sources and "text_clean" in ex:
        scatter_sources = (("relative", ex["text_clean"]),)

    # Figs. 4 and 7.
    fig_lines = []
    f4_system = "text_clean" if "text_clean" in ex else "text" if "text" in ex else None
    if f4_system is not None:
        fig4 = fig_dir / f"{name}_fig4_accuracy_vs_difference.png"
        figures.accuracy_vs_difference(figures.delta_points(ex[f4_system], _deltas(mix_dir)), fig4,
                                       f"{name}: {f4_system} classifier accuracy vs attribute difference")
        fig_lines.append(f"- accuracy vs attribute difference, {f4_system} classifier (Fig. 4): "
                         f"![Fig. 4]({fig4.parent.name}/{fig4.name})")
    if scatter_sources:
        pts: Dict[str, Dict[str, list]] = {}
        for kind, rows_ in scatter_sources:
            for e in rows_:
                if e.cue_type in PAIRED_CUES and e.mix in mixtures:
                    a, b = speaker_values(mixtures[e.mix], e.cue_type)
                    if a is not None and b is not None:
                        pts.setdefault(e.cue_type, {}).setdefault(kind, []).append((b, a, e.correct))
        fig7 = fig_dir / f"{name}_fig7_joint.png"
        figures.joint_scatter(pts, fig7, f"{name}: target vs interferer value, correct/incorrect")
        fig_lines.append(f"- target vs interferer values (Fig. 7): ![Fig. 7]({fig7.parent.name}/{fig7.name})")
    if fig_lines:
        lines += ["### Figures", ""] + fig_lines + [""]
    failed = sum(e is not None for r in metrics_rows.values() for e in r["pesq_error"])
    if failed:
        errs = sorted({e for r in metrics_rows.values() for e in r["pesq_error"] if e})
        lines += [f"PESQ failed on {failed} of {2 * len(metrics_rows)} separated outputs (left out of the PESQ "
                  f"means, counted in the tables): {'; '.join(errs[:3])}", ""]
    return lines, scores


def report(args) -> int:
    systems = [(s, Path(d)) for s, d in args.systems]
    names = [s for s, _ in systems]
    if len(set(names)) != len(names):
        raise ValueError(f"--system names must be unique, got {' '.join(names)}")
    bins = IndependentBins.load(args.bins) if args.bins is not None else None
    command = "python -m tse2.bin.score " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("score.py") else None
    lines = [f"# {args.title}", "", "Systems: " + ", ".join(f"`{s}` ({d})" for s, d in systems) + ".", ""]
    if command:
        lines += ["Recompute this report from the stage-8 outputs with:", "", "```", command, "```", ""]
    all_scores = {}
    for set_name, mix_dir, score_dir in args.sets:
        set_lines, all_scores[set_name] = _set_report(set_name, Path(mix_dir), Path(score_dir), systems, bins,
                                                      args.out_dir / "figures")
        lines += set_lines
    with atomic_open(args.out_dir / "scores.json") as f:
        json.dump(all_scores, f, indent=1)
    write_markdown(args.out_dir / "RESULTS.md", lines)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"metrics": metrics, "merge": merge, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
