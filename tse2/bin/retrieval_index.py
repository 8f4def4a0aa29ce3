"""Embed a speech collection once with a trained retrieval model (restartable, JOB-array parallel).

  python -m tse2.bin.retrieval_index embed --model_dir exp/ret_x (--wav_scp data/test/wav.scp | --audio_dir DIR) \\
      --out exp/ret_x/index_test [--part 1]
  python -m tse2.bin.retrieval_index merge --out exp/ret_x/index_test

Parallel jobs follow the recipes' one convention (``run_jobs`` of ``utils/lib/stages.sh``): the
list is split into parts (``split/wav.scp.JOB``) and job JOB embeds ``--wav_scp`` part JOB with
``--part JOB``.  ``embed`` writes its items in chunks of ``--chunk`` (``<out>/parts/<part>.<c>.npz``),
each with a digest of its keys, their files and the model; a rerun skips the chunks whose digest
still matches, so a killed job loses at most one chunk. ``merge`` joins every part into the index
(``keys`` in sorted order whatever the split, ``emb.npy``, and ``index.json`` written last).
Audio of any sample rate and channel count is accepted.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from tse2.utils.cli import run_tool, tool_parser
from tse2.utils.fileio import atomic_path

log = logging.getLogger("tse2.retrieval_index")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    e = sub.add_parser("embed", help="embed one job's share of the collection")
    e.add_argument("--model_dir", required=True, help="a trained retrieval model dir (config.yaml + checkpoint)")
    e.add_argument("--model_file", default=None, help="checkpoint in --model_dir (default: model.pth or the best)")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--wav_scp", type=Path, help="utt -> audio path")
    src.add_argument("--audio_dir", type=Path, help="every audio file under it (key: its relative path)")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--part", type=int, default=1, help="this job's number (names its chunk files)")
    e.add_argument("--chunk", type=int, default=64)
    m = sub.add_parser("merge", help="join the parts of all jobs into the index")
    m.add_argument("--out", type=Path, required=True)
    return parser


def items(args) -> List[Tuple[str, str]]:
    from tse2.inference.retrieval import audio_paths
    from tse2.utils.datadir import read_map

    if args.audio_dir is not None:
        return audio_paths(str(args.audio_dir))
    return sorted(read_map(args.wav_scp).items())


def chunk_digest(model_digest: str, chunk: List[Tuple[str, str]]) -> str:
    h = hashlib.sha1(model_digest.encode())
    for key, path in chunk:
        try:
            st = os.stat(path)
            h.update(f"{key}\t{path}\t{st.st_size}\t{int(st.st_mtime)}\n".encode())
        except OSError:
            h.update(f"{key}\t{path}\tmissing\n".encode())
    return h.hexdigest()


def embed(args) -> int:
    from tse2.inference.retrieval import StyleRetrieval

    if args.part < 1:
        raise ValueError(f"--part must be 1 or more, got {args.part}")
    mine = items(args)
    runtime = StyleRetrieval.from_pretrained(args.model_dir, args.model_file)
    parts = args.out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    done = made = 0
    for c in range(0, len(mine), args.chunk):
        chunk = mine[c:c + args.chunk]
        path = parts / f"{args.part}.{c // args.chunk:05d}.npz"
        digest = chunk_digest(runtime.digest, chunk)
        if path.is_file():
            try:
                with np.load(path) as z:
                    if str(z["digest"]) == digest:
                        done += 1
                        continue
            except (OSError, ValueError, KeyError):
                pass  # a damaged part: embed it again
        emb = runtime.embed_signals([runtime.read(p) for _, p in chunk])
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, keys=np.array([k for k, _ in chunk]), emb=emb, digest=np.array(digest),
                         model_digest=np.array(runtime.digest))
        made += 1
    log.info("part %d: %d items, %d chunks embedded now, %d kept", args.part, len(mine), made, done)
    return 0


def merge(args) -> int:
    from tse2.inference.retrieval import StyleIndex

    parts = sorted((args.out / "parts").glob("*.npz"))
    if not parts:
        raise FileNotFoundError(f"{args.out}/parts: no embedded parts (run embed first)")
    pieces, digests = [], set()
    for p in parts:
        with np.load(p) as z:
            pieces.append(StyleIndex([str(k) for k in z["keys"]], z["emb"], str(z["model_digest"])))
            digests.add(str(z["model_digest"]))
    if len(digests) != 1:
        raise ValueError(f"{args.out}/parts: parts embedded by {len(digests)} different models; rerun embed")
    index = StyleIndex.concat(pieces)
    order = sorted(range(len(index.keys)), key=lambda i: index.keys[i])  # the same index whatever the split
    index = StyleIndex([index.keys[i] for i in order], index.emb[order], index.model_digest)
    index.save(args.out)
    print(f"{args.out}: {len(index.keys)} items")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"embed": embed, "merge": merge}, argv)


if __name__ == "__main__":
    sys.exit(main())
