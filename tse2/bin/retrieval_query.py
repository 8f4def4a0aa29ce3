"""Rank an embedded collection by a description of how it is spoken.

  python -m tse2.bin.retrieval_query --model_dir exp/ret_x --index exp/ret_x/index_test \\
      --query "sounds like they are about to cry" [--query ...] [--k 5] [--json]

Prints the top k keys with their cosine similarity (one block per query, or JSON lines).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from tse2.utils.cli import run_tool


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True)
    p.add_argument("--model_file", default=None)
    p.add_argument("--index", required=True, help="an index dir (tse2.bin.retrieval_index)")
    p.add_argument("--query", action="append", required=True, help="a description; repeat for several")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", action="store_true", help="one JSON line per query")
    return p


def query(args) -> int:
    from tse2.inference.retrieval import StyleIndex, StyleRetrieval

    runtime = StyleRetrieval.from_pretrained(args.model_dir, args.model_file)
    index = StyleIndex.load(args.index)
    if index.model_digest and index.model_digest != runtime.digest:
        raise ValueError(f"{args.index} was embedded by another model ({index.model_digest}); re-embed it")
    for q in args.query:
        top = runtime.search(index, q, args.k).hits
        if args.json:
            print(json.dumps({"query": q, "top": [{"key": k, "score": round(s, 4)} for k, s in top]}))
        else:
            print(f"# {q}")
            for rank, (k, s) in enumerate(top, 1):
                print(f"{rank}\t{s:.4f}\t{k}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), query, argv, quiet=True)


if __name__ == "__main__":
    sys.exit(main())
