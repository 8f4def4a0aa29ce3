"""The table of bench/gpu_check.sh: one row per run (steps/s, peak GPU memory, dev SI-SDRi after
each evaluation), read from each run's curve.json.  Needs only the standard library, as the
device machine may have nothing else.

    python3 bench/gpu_check_report.py exp/gpu_check > exp/gpu_check/summary.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RUNS = ("loco_fp32", "loco_bf16", "blstm_fp32", "blstm_bf16")


def report(out: Path) -> str:
    device = (out / "device.txt").read_text().strip().replace("\n", "; ") if (out / "device.txt").exists() else "?"
    lines = [f"# GPU check ({device})", "",
             "| run | architecture | bf16 | parameters | steps | steps/s | peak GiB | dev SI-SDRi (dB) at minutes |",
             "|---|---|---|---|---|---|---|---|"]
    for run in RUNS:
        path = out / run / "curve.json"
        if not path.is_file():
            lines.append(f"| {run} | – | – | – | – | – | – | did not finish (see {run}/stdout.txt) |")
            continue
        data = json.loads(path.read_text())
        args, curve = data["args"], data["curve"]
        last = curve[-1]
        trace = ", ".join(f"{r['dev_sisdri']:+.2f} @ {r['minutes']:g}" for r in curve if r.get("dev_sisdri") is not None)
        lines.append(f"| {run} | {args.get('arch', 'blstm_mask')} | {args.get('bf16')} | {data['parameters'] / 1e6:.2f} M "
                     f"| {last['step']} | {last.get('steps_per_s', '–')} | {last.get('peak_gib', '–')} | {trace} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(report(Path(sys.argv[1] if len(sys.argv) > 1 else "exp/gpu_check")))
