"""A compact training payload for :mod:`tse2.bin.sep_train_fast` on a lent accelerator.

  python -m tse2.bin.sep_payload --train data/train,data/voices_train --dev data/real_dev \\
      --bank dump/rir_bank/train --rooms 256 --out gpu_payload --fs 16000

The machines we borrow take at most 64 MiB of files and have no speech synthesizer, so the payload
carries what training needs and nothing else, compactly:

- each set's utterances, trimmed to their speech (stage-2 trim points where the data dir has
  ``attributes.jsonl``, else whole), concatenated into Opus files (``--opus_level``; 0.95 is about
  18 kbit/s, where wideband Opus keeps speech intact to the ear; the mixtures and references are
  both made from the decoded signal, so the coding is not noise the model is asked to remove);
- ``index.json``: per set the files and, per utterance, [offset, length, speaker index, recorded]
  (``recorded`` from ``utt2source``: 1 for recorded human speech, which the trainer can weight);
- ``rirs.npz``: the two talker positions of the first ``--rooms`` rooms of a stage-3 RIR bank,
  float16, cut where the slowest has decayed by ``--rir_db`` (45 dB: the rest is below what a
  -6..6 dB SIR mixture lets one hear).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from tse2.utils.cli import run_tool

log = logging.getLogger("tse2.sep_payload")
RECORDED_SOURCES = ("tuxpaint", "asterisk", "hedgewars", "codec2", "recorded")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True, help="comma-separated data dirs")
    p.add_argument("--dev", default="", help="comma-separated data dirs (the trainer's dev curve)")
    p.add_argument("--bank", type=Path, required=True, help="a stage-3 RIR bank dir (room*.npz)")
    p.add_argument("--rooms", type=int, default=200)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--fs", type=int, default=16000)
    p.add_argument("--rir_db", type=float, default=45.0, help="RIRs are cut where they have decayed by this")
    p.add_argument("--opus_level", type=float, default=0.95)
    p.add_argument("--max_utts_per_speaker", type=int, default=0, help="0: all")
    p.add_argument("--minutes_per_file", type=float, default=10.0)
    p.add_argument("--nj", type=int, default=1,
                   help="processes that read and resample the audio (the payload is the same for any nj)")
    return p


def _planned(data_dir: Path, cap: int):
    """[(utt, speaker, recorded, wav path, trim attributes or None)] of a data dir, in order, the
    per-speaker cap applied: everything that decides what goes in is fixed before any reading."""
    from tse2.utils.datadir import read_map, read_map_if_present
    from tse2.utils.fileio import read_jsonl

    wavs = read_map(data_dir / "wav.scp")
    utt2spk = read_map(data_dir / "utt2spk")
    source = read_map_if_present(data_dir / "utt2source")
    attrs = {}
    if (data_dir / "attributes.jsonl").is_file():
        attrs = {r["utt"]: r for r in read_jsonl(data_dir / "attributes.jsonl")}
    per_spk: Dict[str, int] = {}
    plan = []
    for utt in sorted(wavs):
        spk = utt2spk[utt]
        if cap and per_spk.get(spk, 0) >= cap:
            continue
        per_spk[spk] = per_spk.get(spk, 0) + 1
        plan.append((utt, spk, int(source.get(utt, "") in RECORDED_SOURCES), wavs[utt], attrs.get(utt)))
    return plan


def _read_one(item, fs: int) -> Optional[np.ndarray]:
    """The samples of one planned utterance, trimmed to speech (None: under half a second of it)."""
    from tse2.simulation.mixing import trimmed_span
    from tse2.utils.audio import read_audio

    _, _, _, wav, attr = item
    x, _ = read_audio(wav, fs=fs)
    if attr is not None:  # stage 3's own trim points, uncropped
        try:
            start, n = trimmed_span(attr, fs, max_len=len(x) / fs)
        except ValueError:  # no speech between the trim points
            return None
        x = x[start: start + n]
    return x if len(x) >= fs // 2 else None


def trimmed(data_dir: Path, fs: int, cap: int, nj: int = 1):
    """(utt, speaker, recorded, samples) of a data dir, trimmed to speech, in the data dir's order;
    ``nj`` > 1 reads and resamples in that many processes (the same output: the plan is fixed
    first and the pool keeps its order)."""
    import functools

    plan = _planned(data_dir, cap)
    read = functools.partial(_read_one, fs=fs)
    if nj > 1 and len(plan) > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(nj) as pool:
            for item, x in zip(plan, pool.imap(read, plan, chunksize=8)):
                if x is not None:
                    yield item[0], item[1], item[2], x
        return
    for item in plan:
        x = read(item)
        if x is not None:
            yield item[0], item[1], item[2], x


def write_set(name: str, dirs: List[Path], out: Path, fs: int, level: float, cap: int, per_file: float,
              speakers: Dict[str, int], nj: int = 1) -> Dict:
    import soundfile as sf

    files, utts, buf, offset, file_start = [], [], [], 0, 0

    def flush():
        nonlocal buf, file_start
        if not buf:
            return
        fname = f"{name}_{len(files):03d}.ogg"
        sf.write(str(out / fname), np.concatenate(buf), fs, format="OGG", subtype="OPUS", compression_level=level)
        files.append(fname)
        buf, file_start = [], offset

    for d in dirs:
        for utt, spk, real, x in trimmed(d, fs, cap, nj):
            sid = speakers.setdefault(spk, len(speakers))
            utts.append([offset, len(x), sid, real])
            buf.append(np.clip(x, -1, 1))
            offset += len(x)
            if offset - file_start >= per_file * 60 * fs:
                flush()
    flush()
    log.info("%s: %d utterances, %.1f min, %d files", name, len(utts), offset / fs / 60, len(files))
    return {"files": files, "utts": utts, "dirs": [str(d) for d in dirs]}


def rir_array(bank: Path, rooms: int, decay_db: float = 45.0) -> np.ndarray:
    from tse2.simulation.bank import Bank

    b = Bank(bank)
    rirs = [b[k] for k in range(rooms)]
    keep = 1
    for r in rirs:
        e = np.cumsum((r.astype(np.float64) ** 2)[:, ::-1], axis=1)[:, ::-1]
        tail = np.argmax(e < e[:, :1] * 10 ** (-decay_db / 10), axis=1)
        keep = max(keep, int(tail.max()) or r.shape[1])
    out = np.zeros((rooms, 2, keep), np.float16)
    for k, r in enumerate(rirs):
        n = min(keep, r.shape[1])
        out[k, :, :n] = r[:2, :n]
    return out


def pack(args) -> int:
    from tse2.utils.fileio import atomic_open

    if args.nj < 1:
        raise ValueError(f"--nj must be at least 1, got {args.nj}")
    args.out.mkdir(parents=True, exist_ok=True)
    speakers: Dict[str, int] = {}
    sets = {"train": write_set("train", [Path(d) for d in args.train.split(",") if d], args.out, args.fs,
                               args.opus_level, args.max_utts_per_speaker, args.minutes_per_file, speakers, args.nj)}
    if args.dev:
        sets["dev"] = write_set("dev", [Path(d) for d in args.dev.split(",") if d], args.out, args.fs,
                                args.opus_level, args.max_utts_per_speaker, args.minutes_per_file, speakers, args.nj)
    rirs = rir_array(args.bank, args.rooms, args.rir_db)
    with open(args.out / "rirs.npz", "wb") as f:
        np.savez_compressed(f, rirs=rirs)
    with atomic_open(args.out / "index.json") as f:
        json.dump({"fs": args.fs, "sets": sets, "speakers": sorted(speakers, key=speakers.get),
                   "bank": str(args.bank), "rooms": args.rooms}, f)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{args.out}: {size / 2 ** 20:.1f} MiB ({len(speakers)} speakers; RIRs {rirs.shape})")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), pack, argv)


if __name__ == "__main__":
    raise SystemExit(main())
