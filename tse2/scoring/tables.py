"""Per-cue scores of the stage-8 selections: the paper's Tables IV, V and VI and Fig. 6 as data.

Inputs, per evaluation set:

- the selections of each classifier system (``exp/cls_*/infer_<set>/selections.jsonl``, one row
  per (mixture, prompt): cue type, kind, similar flag, selected candidate, correct);
- the per-mixture signal metrics of the separated outputs (``tse2.bin.score metrics``:
  SI-SDR and PESQ of each output and of the mixture against the reference target);
- the mixtures' attributes (``mixtures.jsonl``) and the independent-cue bins, for the
  relative-vs-independent groups.

Systems are those of :mod:`tse2.systems` (a ``_clean`` oracle has no signal metrics; a single-stage
baseline's rows carry their own SI-SDRi and PESQ and no selection); the markdown of each table is
rendered by :mod:`tse2.scoring.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tse2.cues.labels import BY_NAME, CONTINUOUS, CUE_TYPES, IndependentBins
from tse2.utils.fileio import MissingEntry

# The continuous cues that have both a relative and an independent version (paper IV-D, Table VI).
PAIRED_CUES: Tuple[str, ...] = tuple(c.name for c in CONTINUOUS if c.bins)


@dataclass
class Example:
    """One scored (mixture, prompt) selection."""

    id: str
    mix: str
    cue_type: str
    kind: str
    similar: bool
    correct: Optional[bool]  # None for a single-stage baseline: it extracts, it does not select
    selected: int  # 1 or 2; 0 for a single-stage baseline
    sisdri: Optional[float] = None  # selected output vs target, minus the mixture's SI-SDR
    pesq: Optional[float] = None
    pesq_error: Optional[str] = None
    abstain: bool = False  # the attribute selector could not decide this prompt


@dataclass
class Group:
    """N, accuracy and mean signal metrics of a set of examples."""

    n: int = 0
    acc: Optional[float] = None
    sisdri: Optional[float] = None
    pesq: Optional[float] = None
    pesq_failed: int = 0
    pesq_errors: List[str] = field(default_factory=list)

    @classmethod
    def of(cls, examples: Sequence[Example]) -> "Group":
        if not examples:
            return cls()
        s = [e.sisdri for e in examples if e.sisdri is not None]
        p = [e.pesq for e in examples if e.pesq is not None]
        errors = [e.pesq_error for e in examples if e.pesq_error]
        c = [e.correct for e in examples if e.correct is not None]
        return cls(n=len(examples), acc=float(np.mean(c)) if c else None,
                   sisdri=float(np.mean(s)) if s else None, pesq=float(np.mean(p)) if p else None,
                   pesq_failed=len(errors), pesq_errors=sorted(set(errors)))


def scored_examples(selections: Iterable[Mapping], metrics: Optional[Mapping[str, Mapping]]) -> List[Example]:
    """Selections joined with per-mixture metrics (``None`` for the clean oracle: no metrics).
    Rows of a single-stage baseline (``tse2.bin.tse_inference``) carry their own SI-SDRi and PESQ."""
    out = []
    for r in selections:
        if "sisdri" in r and "selected" not in r:
            out.append(Example(id=r["id"], mix=r["mix"], cue_type=r["cue_type"], kind=r["kind"],
                               similar=bool(r["similar"]), correct=None, selected=0, sisdri=r["sisdri"],
                               pesq=r["pesq"], pesq_error=r["pesq_error"]))
            continue
        e = Example(id=r["id"], mix=r["mix"], cue_type=r["cue_type"], kind=r["kind"], similar=bool(r["similar"]),
                    correct=bool(r["correct"]), selected=int(r["selected"]), abstain=bool(r.get("abstain")))
        if metrics is not None:
            m = metrics.get(r["mix"])
            if m is None:
                raise MissingEntry(f"mixture {r['mix']} of example {r['id']} has no signal metrics "
                               "(rerun tse2.bin.score metrics for this set)")
            k = e.selected - 1
            e.sisdri = m["sisdr"][k] - m["sisdr_mix"]
            e.pesq, e.pesq_error = m["pesq"][k], m["pesq_error"][k]
        out.append(e)
    return out


def by_cue(examples: Sequence[Example], include_similar: bool = False) -> Dict[str, Group]:
    """Per cue type (paper order) and "overall"; similar/same prompts excluded unless asked, and
    prompts a selector abstained on always."""
    keep = [e for e in examples if (include_similar or not e.similar) and not e.abstain]
    out = {}
    for cue in list(CUE_TYPES) + sorted({e.cue_type for e in keep} - set(CUE_TYPES)):
        rows = [e for e in keep if e.cue_type == cue]
        if rows:
            out[cue] = Group.of(rows)
    out["overall"] = Group.of(keep)
    return out


def per_mixture_by_cue(mix_examples: Sequence[Example], cue_examples: Sequence[Example]) -> Dict[str, Group]:
    """A one-example-per-mixture system (enrollment) scored on the mixtures of each cue type's
    non-similar prompts, so each row has the same N as the text system (paper Table V)."""
    by_mix = {e.mix: e for e in mix_examples}
    out = {}
    for cue in by_cue(cue_examples):
        mixes = [e.mix for e in cue_examples if not e.similar and (cue == "overall" or e.cue_type == cue)]
        rows = [by_mix[m] for m in mixes if m in by_mix]
        if rows:
            out[cue] = Group.of(rows)
    return out


def oracle_selection(metrics: Mapping[str, Mapping]) -> Group:
    """The separator with a perfect selector: the output with the higher SI-SDR, every mixture."""
    rows = []
    for mix, m in metrics.items():
        k = int(np.argmax(m["sisdr"]))
        rows.append(Example(id=mix, mix=mix, cue_type="oracle", kind="oracle", similar=False, correct=True,
                            selected=k + 1, sisdri=m["sisdr"][k] - m["sisdr_mix"], pesq=m["pesq"][k],
                            pesq_error=m["pesq_error"][k]))
    return Group.of(rows)


# ----------------------------------------------------------------- relative vs independent (IV-D)


def speaker_values(row: Mapping, cue: str) -> Tuple[Optional[float], Optional[float]]:
    """(target, interferer) value of a continuous cue in one ``mixtures.jsonl`` row."""
    tar, inf = (row["s1"], row["s2"]) if row["target"] == 1 else (row["s2"], row["s1"])
    key = BY_NAME[cue].field
    a, b = tar.get(key), inf.get(key)
    return (None if a is None else float(a)), (None if b is None else float(b))


def absolute_condition(bins: IndependentBins, cue: str, x_tar: float, x_inf: float) -> Optional[str]:
    """"same", "adjacent" or "distinct" independent categories (paper IV-D); distinct = the two
    extremes, so a two-bin cue (near/far) is either same or distinct."""
    a, b = bins.category(cue, x_tar), bins.category(cue, x_inf)
    if a is None or b is None:
        return None
    names = BY_NAME[cue].bins
    gap = abs(names.index(a) - names.index(b))
    return "same" if gap == 0 else "distinct" if gap == len(names) - 1 else "adjacent"


def conditions(mixtures: Mapping[str, Mapping], bins: IndependentBins) -> Dict[Tuple[str, str], str]:
    """(mix, cue) → absolute condition, for every paired cue with known values."""
    out = {}
    for mix, row in mixtures.items():
        for cue in PAIRED_CUES:
            a, b = speaker_values(row, cue)
            if a is not None and b is not None:
                cond = absolute_condition(bins, cue, a, b)
                if cond is not None:
                    out[(mix, cue)] = cond
    return out


def relative_vs_independent(rel: Sequence[Example], ind: Sequence[Example],
                            cond: Mapping[Tuple[str, str], str]) -> Dict[str, Dict[str, Tuple[Group, Group]]]:
    """Table VI: cue → {"distinct": (independent non-same, relative non-similar),
    "indistinct": (independent same, relative similar), "all": (all, all)} over the paired cues.

    The independent examples are grouped by the speakers' independent categories, the relative
    ones by their similar flag; both on the same mixtures (one prompt of each kind per mixture)."""
    out: Dict[str, Dict[str, Tuple[Group, Group]]] = {}
    for cue in list(PAIRED_CUES) + ["overall"]:
        def pick(rows, cue=cue):
            return [e for e in rows if (e.cue_type == cue if cue != "overall" else e.cue_type in PAIRED_CUES)]
        i_rows = [e for e in pick(ind) if (e.mix, e.cue_type) in cond]
        r_rows = pick(rel)
        if not i_rows and not r_rows:
            continue
        i_same = [e for e in i_rows if cond[(e.mix, e.cue_type)] == "same"]
        i_diff = [e for e in i_rows if cond[(e.mix, e.cue_type)] != "same"]
        out[cue] = {"distinct": (Group.of(i_diff), Group.of([e for e in r_rows if not e.similar])),
                    "indistinct": (Group.of(i_same), Group.of([e for e in r_rows if e.similar])),
                    "all": (Group.of(i_rows), Group.of(r_rows))}
    return out


def condition_breakdown(rel: Sequence[Example], ind: Sequence[Example], cond: Mapping[Tuple[str, str], str],
                        cue: str) -> Dict[str, Tuple[Group, Group]]:
    """Fig. 6: per absolute condition (same/adjacent/distinct) of ``cue``, the independent
    classifier on every pair ("absolute, all") and the relative classifier on the pairs whose
    relative cue is not similar ("relative, non-similar")."""
    out = {}
    for c in ("same", "adjacent", "distinct"):
        i_rows = [e for e in ind if e.cue_type == cue and cond.get((e.mix, cue)) == c]
        r_rows = [e for e in rel if e.cue_type == cue and not e.similar and cond.get((e.mix, cue)) == c]
        if i_rows or r_rows:
            out[c] = (Group.of(i_rows), Group.of(r_rows))
    return out


# ----------------------------------------------------------------------------- markdown helpers


def pct(x: Optional[float]) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def db(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.2f}"


def pesq_cell(g: Optional[Group]) -> str:
    if g is None or g.n == 0:
        return "–"
    cell = "–" if g.pesq is None else f"{g.pesq:.2f}"
    return cell + (f" ({g.pesq_failed} failed)" if g.pesq_failed else "")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines
