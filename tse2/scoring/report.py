"""Stage 9's report: one function per paper table and figure, each on one evaluation set.

Every function takes the scored examples of the systems (``{name: [Example]}``, from
:func:`tse2.scoring.tables.scored_examples`) and returns markdown lines and the numbers behind
them; which system appears where is what :mod:`tse2.systems` says of it.  :func:`set_report`
reads one set's files and joins the sections; :func:`write_report` writes ``RESULTS.md``,
``scores.json`` and ``figures/`` for several sets.

| function | paper | systems |
|---|---|---|
| :func:`table4` | Table IV: single-stage vs two-stage per cue type | single-stage baselines, then Table-IV selectors |
| :func:`table5` | Table V: text vs enrollment, clean vs separated | the Table-V selectors, clean and separated |
| :func:`table6` | Table VI and Fig. 6: relative vs independent | each independent system and its relative twin |
| :func:`figure4` | Fig. 4: accuracy vs attribute difference | the text classifier (clean preferred) |
| :func:`figure7` | Fig. 7: target vs interferer values | the Table VI pair, else the text classifier |
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tse2.cues.labels import IndependentBins
from tse2.scoring import figures
from tse2.scoring.metrics import pesq_mode
from tse2.scoring.tables import (PAIRED_CUES, Example, Group, by_cue, condition_breakdown, conditions, db,
                                 oracle_selection, pct, per_mixture_by_cue, pesq_cell, relative_vs_independent,
                                 scored_examples, speaker_values, table)
from tse2.systems import system
from tse2.utils.cli import write_markdown
from tse2.utils.fileio import atomic_open, read_jsonl

log = logging.getLogger("tse2.report")

Examples = Mapping[str, Sequence[Example]]


def table4(ex: Examples, oracle: Group, pesq_mix: Optional[float], mode: str) -> Tuple[List[str], Dict]:
    """Single-stage baselines, then the two-stage selectors on separated candidates, per cue type."""
    single = [s for s in ex if system(s).single_stage]
    shown = single + [s for s in ex if not system(s).clean and not system(s).single_stage and system(s).base.table4]
    if not shown:
        return [], {}
    groups = {s: by_cue(ex[s]) for s in shown}
    cues = list(dict.fromkeys(c for s in shown for c in groups[s]))
    header = ["cue type"]
    for s in shown:
        header += [f"{s}: N"] + ([] if s in single else ["Sep ACC"]) + ["SI-SDRi (dB)", f"PESQ ({mode})"]
    rows = []
    for c in cues:
        row = [c]
        for s in shown:
            g = groups[s].get(c)
            cells = 3 if s in single else 4
            row += ["–"] * cells if g is None else \
                [str(g.n)] + ([] if s in single else [pct(g.acc)]) + [db(g.sisdri), pesq_cell(g)]
        rows.append(row)
    title = "Single-stage vs two-stage TSE" if single else "Two-stage TSE"
    lines = [f"### {title} per cue type (paper Table IV)", "",
             "Prompts whose cue is not similar/same; SI-SDRi and PESQ of the extracted (single-stage) or "
             "selected (two-stage) output against the reference target.", ""] + table(header, rows)
    lines += ["", f"Separator with an oracle selector (the output nearer the target): SI-SDRi "
              f"{db(oracle.sisdri)} dB, PESQ {pesq_cell(oracle)} over {oracle.n} mixtures; unprocessed "
              f"mixture PESQ {db(pesq_mix)}.", ""]
    return lines, {s: {c: vars(g) for c, g in groups[s].items()} for s in shown}


def table5(ex: Examples, mode: str) -> Tuple[List[str], Dict]:
    """Accuracy per cue type of the Table-V selectors, clean oracle first, on the same mixtures."""
    cue_ref = ex.get("text") or ex.get("text_clean")
    cols = sorted((s for s in ex if system(s).base.table5 is not None),
                  key=lambda s: (system(s).base.table5, not system(s).clean))
    if cue_ref is None or not [s for s in cols if s != "text"]:
        return [], {}
    grp = {s: (per_mixture_by_cue(ex[s], cue_ref) if system(s).base.per_mixture else by_cue(ex[s])) for s in cols}
    per_mix = [s for s in cols if system(s).base.per_mixture and not system(s).clean]
    header = ["cue type", "N"] + [f"{s} {'Clean' if system(s).clean else 'Sep'} ACC" for s in cols]
    for s in per_mix:
        header += [f"{s} SI-SDRi (dB)", f"{s} PESQ ({mode})"]
    rows = []
    for c, ref_group in by_cue(cue_ref).items():
        row = [c, str(ref_group.n)] + [pct(grp[s][c].acc) if c in grp[s] else "–" for s in cols]
        for s in per_mix:
            g = grp[s].get(c)
            row += [db(g.sisdri if g else None), pesq_cell(g)]
        rows.append(row)
    note = ["Enrollment has one example per mixture; each row scores it on the mixtures of that cue "
            "type's prompts, so N matches the text columns."]
    if any(system(s).base_name == "attributes" for s in cols):
        note.append("The attribute selector (training-free) is scored on the prompts it can decide: those with "
                    "a measurable cue (pitch, pitch range, loudness, speaking rate, speaking duration, temporal "
                    "order); its N is in `scores.json`.")
    lines = ["### Classification accuracy: text vs enrollment, clean vs separated (paper Table V)", ""] + \
        [" ".join(note), ""] + table(header, rows) + [""]
    return lines, {s: {c: vars(g) for c, g in grp[s].items()} for s in cols}


def relative_independent_pairs(ex: Examples) -> List[Tuple[str, str]]:
    """(relative, independent) systems that both ran: separated candidates first, then the oracles."""
    pairs = [(system(s).twin(), s) for s in ex if system(s).twin() in ex]
    return sorted(pairs, key=lambda p: system(p[0]).clean)


def table6(ex: Examples, mixtures: Mapping[str, Mapping], bins: IndependentBins, fig_dir: Path,
           set_name: str) -> Tuple[List[str], Dict]:
    """Table VI and Fig. 6 for every relative/independent pair (Fig. 6 is drawn into ``fig_dir``)."""
    lines: List[str] = []
    scores: Dict = {}
    cond = conditions(mixtures, bins)
    for rel, ind in relative_independent_pairs(ex):
        clean = system(rel).clean
        where = "reverberant references (Clean ACC)" if clean else "separated candidates"
        rvi = relative_vs_independent(ex[rel], ex[ind], cond)
        signal = not clean  # the oracles choose between references: accuracy only
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
        fig6 = fig_dir / f"{set_name}_fig6_conditions_{rel}.png"
        figures.condition_bars(breakdown, fig6, f"{set_name}, {where}: accuracy per absolute condition")
        lines += [f"### Same / adjacent / distinct independent categories, {where} (paper Fig. 6)", "",
                  "Independent classifier on every pair in the condition vs relative classifier on the pairs "
                  "whose relative cue is not similar.", ""]
        lines += table(["cue", "condition", "independent N", "ACC (all)", "relative N", "ACC (non-similar)"], rows)
        lines += ["", f"![Fig. 6]({fig6.parent.name}/{fig6.name})", ""]
        scores[rel] = {c: {k: [vars(i), vars(r)] for k, (i, r) in v.items()} for c, v in rvi.items()}
    return lines, scores


def _deltas(mix_dir: Path) -> Dict[Tuple[str, str], Optional[float]]:
    out = {}
    for row in read_jsonl(mix_dir / "cues.jsonl", "run stage 4"):
        for cue, lab in row["cues"].items():
            out[(row["mix"], cue)] = lab.get("delta")
    return out


def figure4(ex: Examples, mix_dir: Path, fig_dir: Path, set_name: str) -> List[str]:
    """Fig. 4 of the text classifier (the clean oracle when it ran): accuracy vs attribute difference."""
    texts = [s for s in ex if system(s).base_name == "text"]
    if not texts:
        return []
    name = sorted(texts, key=lambda s: not system(s).clean)[0]
    fig4 = fig_dir / f"{set_name}_fig4_accuracy_vs_difference.png"
    figures.accuracy_vs_difference(figures.delta_points(ex[name], _deltas(mix_dir)), fig4,
                                   f"{set_name}: {name} classifier accuracy vs attribute difference")
    return [f"- accuracy vs attribute difference, {name} classifier (Fig. 4): ![Fig. 4]({fig4.parent.name}/{fig4.name})"]


def figure7(ex: Examples, mixtures: Mapping[str, Mapping], fig_dir: Path, set_name: str,
            pairs: Sequence[Tuple[str, str]]) -> List[str]:
    """Fig. 7: target vs interferer values, correct/incorrect, of the first Table VI pair (both kinds),
    else the relative text classifier (separated, else clean)."""
    if pairs:
        sources: Tuple = (("independent", ex[pairs[0][1]]), ("relative", ex[pairs[0][0]]))
    elif "text" in ex:
        sources = (("relative", ex["text"]),)
    elif "text_clean" in ex:
        sources = (("relative", ex["text_clean"]),)
    else:
        return []
    pts: Dict[str, Dict[str, list]] = {}
    for kind, rows in sources:
        for e in rows:
            if e.cue_type in PAIRED_CUES and e.mix in mixtures:
                a, b = speaker_values(mixtures[e.mix], e.cue_type)
                if a is not None and b is not None:
                    pts.setdefault(e.cue_type, {}).setdefault(kind, []).append((b, a, e.correct))
    fig7 = fig_dir / f"{set_name}_fig7_joint.png"
    figures.joint_scatter(pts, fig7, f"{set_name}: target vs interferer value, correct/incorrect")
    return [f"- target vs interferer values (Fig. 7): ![Fig. 7]({fig7.parent.name}/{fig7.name})"]


def pesq_failures(metrics_rows: Mapping[str, Mapping]) -> List[str]:
    failed = sum(e is not None for r in metrics_rows.values() for e in r["pesq_error"])
    if not failed:
        return []
    errs = sorted({e for r in metrics_rows.values() for e in r["pesq_error"] if e})
    return [f"PESQ failed on {failed} of {2 * len(metrics_rows)} separated outputs (left out of the PESQ "
            f"means, counted in the tables): {'; '.join(errs[:3])}", ""]


def set_report(name: str, mix_dir: Path, score_dir: Path, systems: Sequence[Tuple[str, Path]],
               bins: Optional[IndependentBins], fig_dir: Path) -> Tuple[List[str], Dict]:
    """Every section for one evaluation set, from its stage-8 selections and stage-9 metrics."""
    metrics_rows = {r["mix"]: r for r in read_jsonl(score_dir / "metrics.jsonl", "run stage 9 scoring (metrics)")}
    ex = {s: scored_examples(read_jsonl(d / f"infer_{name}" / "selections.jsonl", f"run stage 8 for {d.name} on {name}"),
                             None if system(s).clean else metrics_rows) for s, d in systems}
    pm = [r["pesq_mix"] for r in metrics_rows.values() if r["pesq_mix"] is not None]
    mode = pesq_mode(next(iter(metrics_rows.values()))["fs"]) if metrics_rows else "wb"
    oracle = oracle_selection(metrics_rows)
    scores: Dict = {"oracle_selection": vars(oracle), "pesq_mode": mode}
    lines = [f"## {name}", ""]
    scores["accuracy"] = {s: by_cue(e).get("overall", Group()).acc for s, e in ex.items()
                          if not system(s).single_stage and not system(s).base.per_mixture}
    # single relative cues per cue type: what every phrasing set has (the hand-written one has only these)
    scores["relative_by_cue"] = {s: {c: [g.n, g.acc] for c, g in by_cue(
        [x for x in e if x.kind == "relative" and x.cue_type not in ("random", "all")]).items()}
        for s, e in ex.items() if not system(s).single_stage and not system(s).base.per_mixture}
    t4, scores4 = table4(ex, oracle, float(np.mean(pm)) if pm else None, mode)
    if t4:
        lines += t4
        scores["table4"] = scores4
    t5, scores5 = table5(ex, mode)
    if t5:
        lines += t5
        scores["table5"] = scores5
    mixtures = {r["mix"]: r for r in read_jsonl(mix_dir / "mixtures.jsonl", "run stage 3")}
    scores["table6"] = {}
    if bins is not None:
        t6, scores["table6"] = table6(ex, mixtures, bins, fig_dir, name)
        lines += t6
    pairs = relative_independent_pairs(ex) if bins is not None else []
    fig_lines = figure4(ex, mix_dir, fig_dir, name) + figure7(ex, mixtures, fig_dir, name, pairs)
    if fig_lines:
        lines += ["### Figures", ""] + fig_lines + [""]
    return lines + pesq_failures(metrics_rows), scores


PHRASINGS = (("heldout", "held-out grammar"), ("handwritten", "hand-written"))


def heldout_table(all_scores: Mapping[str, Mapping]) -> List[str]:
    """Accuracy on prompts in training phrasings against the other phrasings of the same mixtures
    and cues (stage 4's ``<set>_heldout``: the prompt-variety engine's held-out grammar; ``<set>_handwritten``:
    the hand-written test sentences of ``tse2/cues/handwritten/extraction.txt``), per prompt-reading
    system: overall, then per cue type over single relative cues (the prompts every phrasing has)."""
    bases = [n for n in all_scores if not any(n.endswith(f"_{p}") for p, _ in PHRASINGS)
             and any(f"{n}_{p}" in all_scores for p, _ in PHRASINGS)]
    if not bases:
        return []
    lines = ["## Phrasings never seen in training", ""]
    rows = []
    for name in bases:
        sc, held = all_scores[name], all_scores.get(f"{name}_heldout")
        for s, acc in sc.get("accuracy", {}).items():
            other = (held or {}).get("accuracy", {}).get(s)
            if acc is not None and other is not None:
                rows.append([name, s, pct(acc), pct(other), f"{100 * (other - acc):+.1f}"])
    if rows:
        lines += ["Overall accuracy (prompts whose cue is not similar/same) on the same mixtures and cues, with the "
                  "training templates and in the held-out grammar.", ""] + \
            table(["set", "system", "training phrasings", "held-out grammar", "difference (points)"], rows) + [""]
    rows = []
    for name in bases:
        per = all_scores[name].get("relative_by_cue", {})
        others = [(label, all_scores.get(f"{name}_{p}", {}).get("relative_by_cue", {})) for p, label in PHRASINGS]
        for s, cues in per.items():
            for cue, (n, acc) in cues.items():
                cells = []
                for _, o in others:
                    got = o.get(s, {}).get(cue)
                    cells += ["–", "–"] if not got or got[1] is None else [f"{got[0]}", pct(got[1])]
                if acc is not None and any(c != "–" for c in cells):
                    rows.append([name, s, cue, str(n), pct(acc)] + cells)
    if rows:
        head = ["set", "system", "cue type", "N", "training"]
        for _, label in PHRASINGS:
            head += ["N", label]
        lines += ["Per cue type, single relative cues only (the hand-written sentences name one cue): accuracy "
                  "with the training phrasings, the held-out grammar and the hand-written sentences.", ""] + \
            table(head, rows) + [""]
    return lines


def separator_warnings(all_scores: Mapping[str, Mapping]) -> List[str]:
    """What makes a set's figures meaningless, for the top of the report: a separator whose best
    output does not improve on the mixture (oracle SI-SDRi <= 0 dB), so that "the output nearer the
    target" is noise and any accuracy over it says nothing."""
    out = []
    for name, sc in all_scores.items():
        sisdri = (sc.get("oracle_selection") or {}).get("sisdri")
        if sisdri is not None and sisdri <= 0.0:
            out.append(f"on {name}, the separator's better output is {sisdri:+.2f} dB SI-SDRi against the mixture "
                       "(oracle selection): it does not separate, so the accuracies over its outputs are "
                       "meaningless. Train it longer or use the released separator (stage 5).")
    return out


def write_report(out_dir: Path, sets: Sequence[Tuple[str, Path, Path]], systems: Sequence[Tuple[str, Path]],
                 bins: Optional[IndependentBins], title: str, command: Optional[str] = None) -> None:
    """``RESULTS.md`` (printed too), ``scores.json`` and ``figures/`` of every set."""
    names = [s for s, _ in systems]
    if len(set(names)) != len(names):
        raise ValueError(f"system names must be unique, got {' '.join(names)}")
    for s in names:
        system(s)  # an unknown name is an error before any work
    lines = [f"# {title}", "", "Systems: " + ", ".join(f"`{s}` ({d})" for s, d in systems) + ".", ""]
    if command:
        lines += ["Recompute this report from the stage-8 outputs with:", "", "```", command, "```", ""]
    all_scores, body = {}, []
    for set_name, mix_dir, score_dir in sets:
        set_lines, all_scores[set_name] = set_report(set_name, Path(mix_dir), Path(score_dir), systems, bins,
                                                     Path(out_dir) / "figures")
        body += set_lines
    warnings = separator_warnings(all_scores)
    for w in warnings:
        log.warning("%s", w)
    lines += [f"**Warning:** {w}" for w in warnings] + ([""] if warnings else []) + body
    lines += heldout_table(all_scores)
    with atomic_open(Path(out_dir) / "scores.json") as f:
        json.dump(all_scores, f, indent=1)
    write_markdown(Path(out_dir) / "RESULTS.md", lines)
