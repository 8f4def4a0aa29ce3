"""The example lists of stages 7-8: one directory per (set, system), what the tasks read.

Candidates are the separator's outputs (``sep_dir``: ``sep1.scp sep2.scp utt2label``) or, for the
paper's "Clean ACC" oracle and the single-stage baselines, the reverberant references ``spk1.scp
spk2.scp`` with the label taken from ``utt2target``.  Files written (Kaldi style, C-sorted; the
prompts of one mixture stay next to each other, which lets the classifier encode each candidate
once per batch):

    cand1.scp cand2.scp  example → wav            label     example → 1 if cand1 is the target, else 0
    prompt               example → prompt text    (cue text; one example per prompt of the chosen kinds)
    enroll.scp           example → wav            (cue enroll; one example per mixture)
    utt2num_samples      example → samples of the mixture (ESPnet's shape file)
    mix.scp target.scp   example → the mixture, the target reference (single-stage baselines)
    attr1 attr2          example → the attribute vector of each candidate's talker (the classifier's
                         auxiliary targets, :mod:`tse2.models.aux`; from ``mixtures.jsonl``: a separated
                         output is the talker it is nearer to, as ``utt2label`` says)
    examples.jsonl       example, mix, cue_type, kind, similar, target (for stage 8/9 reports)

"similar"/"same" prompts are left out unless ``keep_similar`` (training: paper, no; inference:
yes, the relative-vs-independent study reads them).  :mod:`tse2.systems` says which options each
system's examples take; ``tse2.bin.cls_data`` is the command line.

:func:`combine_examples` writes the union of example dirs (``--cls_train_clean``: a classifier on
separated outputs also trains on the references' examples, their ids prefixed ``clean-``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tse2.utils.datadir import DataDirError, c_sort_key, read_map, read_targets, write_map
from tse2.utils.fileio import atomic_open, read_jsonl

KINDS = ("relative", "independent")
CLEAN_PREFIX = "clean-"  # the ids of the references' examples in a combined training set
FILES = ("cand1.scp", "cand2.scp", "label", "utt2num_samples", "mix.scp", "target.scp", "attr1", "attr2",
         "prompt", "enroll.scp")  # every Kaldi-style file an example dir may hold, beside examples.jsonl


def candidates(mix_dir: Path, sep_dir: Optional[Path]) -> tuple:
    """(cand1, cand2, label) maps keyed by mixture: the references when ``sep_dir`` is None."""
    if sep_dir is None:
        c1, c2 = read_map(mix_dir / "spk1.scp"), read_map(mix_dir / "spk2.scp")
        target = read_targets(mix_dir / "utt2target")
        label = {m: "1" if t == 1 else "0" for m, t in target.items()}
    else:
        for name in ("sep1.scp", "sep2.scp", "utt2label"):
            if not (sep_dir / name).is_file():
                raise FileNotFoundError(f"{sep_dir / name} is missing: run stage 6 for this set")
        c1, c2 = read_map(sep_dir / "sep1.scp"), read_map(sep_dir / "sep2.scp")
        label = read_map(sep_dir / "utt2label")
    mixes = set(read_map(mix_dir / "wav.scp"))
    for name, m in (("candidate 1", c1), ("candidate 2", c2), ("label", label)):
        missing = sorted(mixes - set(m), key=c_sort_key)
        if missing:
            raise DataDirError(f"{len(missing)} mixture(s) of {mix_dir} have no {name}, e.g. {missing[0]}")
    return c1, c2, label


def candidate_attributes(mix_dir: Path, label: Dict[str, str]) -> Dict[str, tuple]:
    """Mixture → (attribute vector of candidate 1's talker, candidate 2's), from ``mixtures.jsonl``.

    ``label`` 1 says candidate 1 is the target: the candidates are then (target, interferer)."""
    from tse2.models.aux import attribute_vector

    path = mix_dir / "mixtures.jsonl"
    rows = {r["mix"]: r for r in read_jsonl(path, "run stage 3")} if path.is_file() else {}
    out = {}
    for m, lab in label.items():
        r = rows.get(m)
        if r is None:  # no metadata: no auxiliary targets (NaN / -1 add no loss)
            out[m] = (attribute_vector({}),) * 2
            continue
        tar, inf = (r["s1"], r["s2"]) if int(r["target"]) == 1 else (r["s2"], r["s1"])
        pair = (tar, inf) if lab == "1" else (inf, tar)
        out[m] = tuple(attribute_vector(side) for side in pair)
    return out


def write_examples(mix_dir: Path, out: Path, sep_dir: Optional[Path] = None, cue: str = "text",
                   kinds: Sequence[str] = ("relative",), keep_similar: bool = False,
                   cue_types: Sequence[str] = ()) -> Dict[str, int]:
    """Writes the example dir ``out`` of one mixture set; returns the number of examples per cue type."""
    mix_dir, out = Path(mix_dir), Path(out)
    c1, c2, label = candidates(mix_dir, None if sep_dir is None else Path(sep_dir))
    num_samples = read_map(mix_dir / "utt2num_samples")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds: unknown {unknown or list(kinds)!r}; choose from {', '.join(KINDS)}")
    cue_types = set(cue_types)
    rows: List[Dict] = []
    if cue == "text":
        prompts_file = mix_dir / "prompts.jsonl"
        for p in read_jsonl(prompts_file, "run stage 4"):
            if p["kind"] not in kinds or (cue_types and p["cue_type"] not in cue_types):
                continue
            if p.get("similar") and not keep_similar:
                continue
            if p["mix"] not in c1:
                raise DataDirError(f"{prompts_file}: prompt {p['id']} names mixture {p['mix']}, which is not in "
                                   f"{mix_dir / 'wav.scp'}")
            if "\n" in p["prompt"] or not p["prompt"].strip():
                raise DataDirError(f"{prompts_file}: prompt {p['id']} is empty or spans lines")
            rows.append(dict(id=p["id"], mix=p["mix"], cue_type=p["cue_type"], kind=p["kind"],
                             similar=bool(p.get("similar")), target=p["target"], prompt=p["prompt"]))
    else:
        enroll = read_map(mix_dir / "enroll_spk1.scp")
        target = read_targets(mix_dir / "utt2target")
        for m in c1:
            if m not in enroll:
                raise DataDirError(f"{mix_dir / 'enroll_spk1.scp'}: no enrollment utterance for {m}")
            rows.append(dict(id=m, mix=m, cue_type="enrollment", kind="enrollment", similar=False,
                             target=target[m], enroll=enroll[m]))
    if not rows:
        raise ValueError(f"no examples for {mix_dir} with kinds {kinds} and cue types "
                         f"{sorted(cue_types) or 'all'}: check stage 4's prompts.jsonl")
    rows.sort(key=lambda r: c_sort_key(r["id"]))
    out.mkdir(parents=True, exist_ok=True)
    write_map(out / "cand1.scp", {r["id"]: c1[r["mix"]] for r in rows})
    write_map(out / "cand2.scp", {r["id"]: c2[r["mix"]] for r in rows})
    write_map(out / "label", {r["id"]: label[r["mix"]] for r in rows})
    write_map(out / "utt2num_samples", {r["id"]: num_samples[r["mix"]] for r in rows})
    # the single-stage baselines read the mixture and the target reference of each example
    wavs, refs = read_map(mix_dir / "wav.scp"), {k: read_map(mix_dir / f"spk{k}.scp") for k in ("1", "2")}
    write_map(out / "mix.scp", {r["id"]: wavs[r["mix"]] for r in rows})
    write_map(out / "target.scp", {r["id"]: refs[str(r["target"])][r["mix"]] for r in rows})
    vectors = candidate_attributes(mix_dir, label)
    for k in (0, 1):
        write_map(out / f"attr{k + 1}", {r["id"]: " ".join(f"{v:.4f}" for v in vectors[r["mix"]][k]) for r in rows})
    if cue == "text":
        write_map(out / "prompt", {r["id"]: r["prompt"] for r in rows})
    else:
        write_map(out / "enroll.scp", {r["id"]: r["enroll"] for r in rows})
    return _write_records(out, [{**{k: v for k, v in r.items() if k not in ("prompt", "enroll")},
                                 "label": int(label[r["mix"]])} for r in rows])


def _write_records(out: Path, records: Sequence[Dict]) -> Dict[str, int]:
    """Writes ``out/examples.jsonl`` (atomically); returns the number of examples per cue type."""
    with atomic_open(out / "examples.jsonl") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    counts: Dict[str, int] = {}
    for r in records:
        counts[r["cue_type"]] = counts.get(r["cue_type"], 0) + 1
    return counts


def combine_examples(parts: Sequence[Tuple[str, Path]], out: Path) -> Dict[str, int]:
    """Writes the example dir ``out`` as the union of example dirs ``(id prefix, dir)``; returns the
    number of examples per cue type.  Each part must hold the same files (the first part says which);
    prefixed ids that collide are an error."""
    if not parts:
        raise ValueError("combine_examples: no example dirs given")
    first = Path(parts[0][1])
    names = [n for n in FILES if (first / n).is_file()]
    if not names or not (first / "examples.jsonl").is_file():
        raise DataDirError(f"{first}: not an example dir (no examples.jsonl or example files)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        merged: Dict[str, str] = {}
        for prefix, d in parts:
            path = Path(d) / name
            if not path.is_file():
                raise DataDirError(f"{path} is missing: {first} has {name}, so every combined example dir needs it")
            for key, value in read_map(path).items():
                if prefix + key in merged:
                    raise DataDirError(f"{path}: example {prefix + key} is already in another combined dir")
                merged[prefix + key] = value
        write_map(out / name, merged)
    rows = []
    for prefix, d in parts:
        for r in read_jsonl(Path(d) / "examples.jsonl"):
            rows.append(dict(r, id=prefix + r["id"]))
    rows.sort(key=lambda r: c_sort_key(r["id"]))
    return _write_records(out, rows)
