"""Stage 3: reverberant two-speaker mixtures, as JOB-array jobs.

  python -m tse2.bin.simulate_mixtures bank  --bank_dir B --split train --ids bank.1 [--rir_backend ism_diffuse]
  python -m tse2.bin.simulate_mixtures ids   --prefix train --num 400 --out mix.list
  python -m tse2.bin.simulate_mixtures mix   --data_dir data/train --bank_dir B --bank_size 200 \\
      --mix_list split/mix.1 --wav_dir dump/mix/train --out split/mixtures.1.jsonl
  python -m tse2.bin.simulate_mixtures merge --data_dir data/train --out_dir data/train_mix split/mixtures.*.jsonl

Every call does its work (``tse2.sh``'s markers decide what to redo).  ``mix`` reads the clean data dir (``wav.scp``, ``utt2spk``, ``attributes.jsonl`` from stage 2 and
the optional metadata ``utt2lang text utt2emotion spk2gender spk2age``) and writes four wavs per
mixture (mixture, reverberant S1 and S2 as mixed, target enrollment) plus one metadata row.
``merge`` writes the mixture data dir: ``wav.scp spk1.scp spk2.scp enroll_spk1.scp utt2spk
spk2utt utt2target utt2dur utt2num_samples mixtures.jsonl simulation.json`` (the last: the clean
data dir, RIR bank and options the mixtures were made from, which dynamic mixing reuses).  See :mod:`tse2.simulation.mixing` for the rules.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional

from tse2.simulation.bank import Bank, build_bank
from tse2.simulation.dynamic import SIMULATION_FILE
from tse2.simulation.mixing import MixConfig, mixture_row, plan_mixture, read_metadata, render_mixture
from tse2.simulation.rir import RIR_BACKENDS
from tse2.utils.audio import read_audio
from tse2.utils.datadir import c_sort_key, read_map, spk2utt_from_utt2spk, write_map
from tse2.utils.cli import add_merge_parser, run_tool, tool_parser
from tse2.utils.fileio import atomic_open, inputs_digest, read_jsonl, write_wav

log = logging.getLogger("simulate_mixtures")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    b = sub.add_parser("bank", help="precompute RIR bank entries")
    b.add_argument("--bank_dir", type=Path, required=True)
    b.add_argument("--split", required=True, help="split name (part of every entry's seed)")
    b.add_argument("--ids", type=Path, required=True, help="file with one entry number a line")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--rir_backend", choices=RIR_BACKENDS, default="ism_diffuse")
    b.add_argument("--fs", type=int, default=16000)
    i = sub.add_parser("ids", help="write the list of mixture ids")
    i.add_argument("--prefix", required=True)
    i.add_argument("--num", type=int, required=True)
    i.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("mix", help="simulate the mixtures of one id list")
    m.add_argument("--data_dir", type=Path, required=True, help="clean data dir with attributes.jsonl")
    m.add_argument("--bank_dir", type=Path, required=True)
    m.add_argument("--bank_size", type=int, required=True)
    m.add_argument("--mix_list", type=Path, required=True)
    m.add_argument("--wav_dir", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True, help="metadata rows (JSON lines)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--fs", type=int, default=16000)
    m.add_argument("--max_len", type=float, default=6.0, help="sources are cropped to this many seconds")
    g = add_merge_parser(sub, "--data_dir", "write the mixture data dir (--data_dir: the clean one, for the id check)")
    g.add_argument("--mix_list", type=Path, required=True, help="every mixture id of the split")
    return parser


def mix(args) -> int:
    cfg = MixConfig(fs=args.fs, max_len=args.max_len)
    settings = {"seed": args.seed, "bank_size": args.bank_size, "fs": args.fs, "max_len": args.max_len,
                "bank_dir": str(args.bank_dir),
                "inputs": inputs_digest([args.data_dir / n for n in ("attributes.jsonl", "wav.scp", "utt2spk")])}
    mix_ids = args.mix_list.read_text(encoding="utf-8").split()
    d = read_metadata(args.data_dir)
    wavs = read_map(args.data_dir / "wav.scp")
    attrs = {row["utt"]: row for row in read_jsonl(args.data_dir / "attributes.jsonl", "run stage 2 first")}
    utts = sorted((u for u in wavs if attrs.get(u, {}).get("speech_end") is not None), key=c_sort_key)
    if len(utts) < len(wavs):
        log.warning("%d utterance(s) without speech (no trim points) are not used", len(wavs) - len(utts))
    spk2utts: Dict[str, List[str]] = {}
    for u in utts:
        spk2utts.setdefault(d["utt2spk"][u], []).append(u)
    bank = Bank(args.bank_dir)
    audio_cache: Dict[str, object] = {}

    def audio(utt: str):
        if utt not in audio_cache:
            audio_cache[utt] = read_audio(wavs[utt], fs=args.fs)[0]
        return audio_cache[utt]

    rows = []
    for mix_id in mix_ids:
        plan = plan_mixture(args.seed, mix_id, utts, d["utt2spk"], spk2utts, attrs, args.bank_size, cfg)
        needed = (plan.utt1, plan.utt2, plan.enroll_utt)
        m = render_mixture(plan, {u: audio(u) for u in needed}, attrs,
                           {plan.bank_id: bank[plan.bank_id], plan.enroll_bank_id: bank[plan.enroll_bank_id]}, cfg)
        paths = {}
        for name, sig in (("mix", m.mixture), ("s1", m.sources[0]), ("s2", m.sources[1]), ("enroll", m.enrollment)):
            paths[name] = str((args.wav_dir / f"{mix_id}_{name}.wav").resolve())
            write_wav(paths[name], sig, args.fs)
        meta = mixture_row(m, plan, d, attrs, bank.spec(plan.bank_id))
        meta["wav"] = paths
        rows.append(json.dumps(meta, ensure_ascii=False))
    with atomic_open(args.out) as f:
        f.write("".join(r + "\n" for r in rows))
    with atomic_open(Path(f"{args.out}.settings.json")) as f:  # a record for merge (simulation.json)
        json.dump(settings, f)
    log.info("simulated %d mixtures into %s", len(rows), args.wav_dir)
    return 0


def merge(args) -> int:
    expected = args.mix_list.read_text(encoding="utf-8").split()
    rows: Dict[str, Dict] = {}
    for part in args.parts:
        if not part.is_file():
            raise FileNotFoundError(f"{part}: missing output of a mixing job (see its log)")
        for row in read_jsonl(part, "rerun its mixing job"):
            rows[row["mix"]] = row
    missing = sorted(set(expected) - set(rows))
    if missing:
        raise ValueError(f"{len(missing)} mixture(s) were not simulated, e.g. {missing[0]}")
    settings = _parts_settings(args.parts)
    tables: Dict[str, Dict[str, str]] = {n: {} for n in ("wav.scp", "spk1.scp", "spk2.scp", "enroll_spk1.scp",
                                                         "utt2spk", "utt2target", "utt2dur", "utt2num_samples")}
    for mix_id in expected:
        r = rows[mix_id]
        tables["wav.scp"][mix_id] = r["wav"]["mix"]
        tables["spk1.scp"][mix_id] = r["wav"]["s1"]
        tables["spk2.scp"][mix_id] = r["wav"]["s2"]
        tables["enroll_spk1.scp"][mix_id] = r["wav"]["enroll"]
        tables["utt2spk"][mix_id] = mix_id  # a mixture is its own "speaker" (ESPnet enh convention)
        tables["utt2target"][mix_id] = str(r["target"])
        tables["utt2dur"][mix_id] = f"{r['length']:.3f}"
        tables["utt2num_samples"][mix_id] = str(r["num_samples"])  # ESPnet's shape file
    for name, table in tables.items():
        write_map(args.out_dir / name, table)
    write_map(args.out_dir / "spk2utt", spk2utt_from_utt2spk(tables["utt2spk"]))
    with atomic_open(args.out_dir / "mixtures.jsonl") as f:
        for mix_id in sorted(expected, key=c_sort_key):
            f.write(json.dumps(rows[mix_id], ensure_ascii=False) + "\n")
    # how these mixtures were made, for dynamic mixing (tse2.simulation.dynamic) to mix alike
    with atomic_open(args.out_dir / SIMULATION_FILE) as f:
        json.dump({"data_dir": str(args.data_dir.resolve()), "bank_dir": str(Path(settings["bank_dir"]).resolve()),
                   **{k: settings[k] for k in ("bank_size", "seed", "fs", "max_len")},
                   "mixtures": len(expected)}, f, indent=1)
    log.info("wrote %s: %d mixtures", args.out_dir, len(expected))
    return 0


def _parts_settings(parts: List[Path]) -> Dict:
    """The settings every part was simulated with (``<part>.settings.json``); they must agree."""
    settings = None
    for part in parts:
        side = Path(f"{part}.settings.json")
        if not side.is_file():
            raise FileNotFoundError(f"{side}: missing (a mixing job did not finish: see its log)")
        s = json.loads(side.read_text(encoding="utf-8"))
        if settings is not None and s != settings:
            raise ValueError(f"{part}: simulated with other settings than {parts[0]}")
        settings = s
    return settings


def bank(args) -> int:
    entries = [int(x) for x in args.ids.read_text().split()]
    made = build_bank(args.bank_dir, args.split, entries, args.seed, args.rir_backend, args.fs)
    log.info("RIR bank %s: made %d of %d entries", args.bank_dir, made, len(entries))
    return 0


def ids(args) -> int:
    if args.num < 1:
        raise ValueError("--num must be positive")
    with atomic_open(args.out) as f:
        f.write("".join(f"{args.prefix}-{m:06d}\n" for m in range(args.num)))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"bank": bank, "ids": ids, "mix": mix, "merge": merge}, argv)


if __name__ == "__main__":
    sys.exit(main())
