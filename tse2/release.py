"""Released models: a trained checkpoint committed in a recipe with everything that says what it is.

A recipe can ship a model that its own stages trained for longer than the demo can (hours on a
CPU, or a GPU), so that ``make demo`` stands on a model that works and one option retrains it.
A release dir holds:

    config.yaml    the resolved ESPnet config of the training run (as ESPnet saved it)
    model.pth      the checkpoint (a state dict; loaded with weights_only and strictly); its
                   floating-point tensors stored in float16 (half the size; ``stored_dtype``) and
                   cast to the model's float32 when loaded (``load_state_dict`` copies with a cast)
    release.json   what it is: kind, sha256 of both files, the stored dtype, the training summary (epochs, steps,
                   batch, hours, threads), the validation curve read from ESPnet's train.log,
                   the corpus options, the exact command that reproduces it, measured results
    README.md      the same for a person

``make`` builds one from an ESPnet experiment dir; ``install`` verifies one (checksums, the model
builds and loads) and copies it into an experiment dir, where the stages after training find it
as ``released.pth`` (:data:`RELEASED_CHECKPOINT`); ``compact`` stores an older float32 release in
float16 (:func:`compact_release`).

Kinds: ``separator`` (stage 5 installs it), ``classifier`` (a stage-7 text or enrollment
classifier; stage 7 installs one per system from ``--cls_release``), ``remixer`` and ``cascade``
(the remix recipe reads them in place).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Dict, List, Optional

from tse2.manifest import FORMAT, read_manifest
from tse2.utils.fileio import atomic_open, atomic_path, sha256

META = "release.json"
RELEASED_CHECKPOINT = "released.pth"
FILES = ("config.yaml", "model.pth")
KINDS = ("separator", "classifier", "remixer", "cascade")
# the validation figure that picks a kind's best epoch, and whether higher is better
BEST_BY = {"classifier": ("acc", True)}
STORED_DTYPES = ("float16", "float32")
_EPOCH = re.compile(r"(\d+)epoch results: (.*)$")
_SECTION = re.compile(r"\[(\w+)\] (.*?)(?=, \[\w+\] |$)")
_ITEM = re.compile(r"(\w+)=(.*?)(?=, \w+=|$)")


class ReleaseError(ValueError):
    """A release dir is incomplete, altered or does not load; the message names the file."""


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def training_logs(exp_dir: Path) -> List[Path]:
    """The logs of a training run, oldest first: a resumed run moves the previous ``train.log`` to
    ``train.1.log`` (and that one to ``train.2.log``, ...), as ESPnet's launcher does."""
    exp_dir = Path(exp_dir)
    rotated = [p for p in exp_dir.glob("train.*.log") if p.name.split(".")[1].isdigit()]
    return sorted(rotated, key=lambda p: -int(p.name.split(".")[1])) + [exp_dir / "train.log"]


def training_curve(logs, threads: Optional[List[int]] = None) -> List[Dict]:
    """Per-epoch results of ESPnet training logs (one path, or a resumed run's logs oldest first):
    [{epoch, train: {...}, valid: {...}, threads}, ...]; ``threads[k]`` is what the k-th log ran with."""
    logs = [Path(logs)] if isinstance(logs, (str, Path)) else [Path(p) for p in logs]
    rows: Dict[int, Dict] = {}
    for k, log in enumerate(logs):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _EPOCH.search(line)
            if not m:
                continue
            row = {"epoch": int(m.group(1))}
            for name, body in _SECTION.findall(m.group(2)):
                row[name] = {k2: _number(v) for k2, v in _ITEM.findall(body)}
            if threads:
                row["threads"] = threads[min(k, len(threads) - 1)]
            rows[row["epoch"]] = row  # a resumed run logs an epoch again: keep the last
    return [rows[k] for k in sorted(rows)]


def write_state(src: Path, dst: Path, dtype: str = "float16") -> None:
    """Writes the state dict ``src`` to ``dst`` (atomically; ``dst`` may be ``src``) with its
    floating-point tensors in ``dtype`` and every other tensor unchanged.  A value that float16
    cannot hold (beyond +-65504) is a ReleaseError naming the tensor, not a silent inf."""
    import torch

    if dtype not in STORED_DTYPES:
        raise ValueError(f"stored dtype {dtype!r}: expected one of {', '.join(STORED_DTYPES)}")
    state = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ReleaseError(f"{src}: not a state dict of tensors")
    out = type(state)()
    for k, v in state.items():
        if v.is_floating_point():
            w = v.to(getattr(torch, dtype))
            if not torch.isfinite(w).all() and torch.isfinite(v).all():
                raise ReleaseError(f"{src}: {k} has values beyond the range of {dtype}; keep it float32")
            v = w
        out[k] = v.contiguous().clone()  # a view would drag its whole storage into the file
    with atomic_open(dst, "wb") as f:  # a file object: the archive's inner name is not the temp file's
        torch.save(out, f)


def compact_release(release_dir: Path, measured: str = "") -> Dict:
    """Verifies a release, stores its ``model.pth`` in float16 (:func:`write_state`), and rewrites
    ``release.json`` (the new sha256, ``stored_dtype``, ``stored_dtype_check``: ``measured``, what
    the float16 weights scored against the float32 ones) and the README from it."""
    release_dir = Path(release_dir)
    meta = read_release(release_dir)
    write_state(release_dir / "model.pth", release_dir / "model.pth", "float16")
    meta["files"]["model.pth"] = sha256(release_dir / "model.pth")
    meta["stored_dtype"] = "float16"
    if measured:
        meta["stored_dtype_check"] = measured
    _write_meta(release_dir, meta)
    return meta


def _write_meta(out_dir: Path, meta: Dict) -> None:
    with atomic_open(out_dir / META) as f:
        json.dump(meta, f, indent=1)
    with atomic_open(out_dir / "README.md") as f:
        f.write(readme(meta))


def make_release(exp_dir: Path, out_dir: Path, checkpoint: Path, kind: str, command: str, corpus: str,
                 threads, results: Optional[Dict] = None, notes: str = "", dtype: str = "float16") -> Dict:
    """Writes a release dir from an ESPnet experiment dir (``config.yaml``, its training logs).

    ``threads``: the CPU threads training ran with, an int or one per log of a resumed run (oldest
    first, see :func:`training_logs`), for the CPU-hours; 0 when it ran on GPUs.  ``dtype``: what
    ``model.pth`` stores its floating-point tensors in (:func:`write_state`)."""
    import yaml

    if kind not in KINDS:
        raise ReleaseError(f"release kind {kind!r}: expected one of {', '.join(KINDS)}")
    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    for f in (exp_dir / "config.yaml", exp_dir / "train.log", checkpoint):
        if not Path(f).is_file():
            raise ReleaseError(f"{f}: missing; cannot release {exp_dir}")
    conf = yaml.safe_load((exp_dir / "config.yaml").read_text(encoding="utf-8"))
    logs = training_logs(exp_dir)
    threads = [int(threads)] if isinstance(threads, int) else [int(t) for t in threads]
    if len(threads) not in (1, len(logs)):
        raise ReleaseError(f"{exp_dir}: {len(logs)} training logs ({', '.join(p.name for p in logs)}) but "
                           f"{len(threads)} thread counts; give one, or one per log")
    curve = training_curve(logs, threads)
    if not curve:
        raise ReleaseError(f"{exp_dir / 'train.log'}: no epoch results (did training run?)")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "config.yaml") as tmp:
        shutil.copyfile(exp_dir / "config.yaml", tmp)
    write_state(checkpoint, out_dir / "model.pth", dtype)
    iters = conf.get("num_iters_per_epoch")
    wall_s = sum(_seconds(r.get("train", {}).get("time")) for r in curve)
    cpu_s = sum(_seconds(r.get("train", {}).get("time")) * r["threads"] for r in curve)
    thread_text = "/".join(str(t) for t in threads)
    best = best_epoch(curve, kind)
    meta = {
        "format": FORMAT, "kind": kind, "name": out_dir.name,
        "files": {f: sha256(out_dir / f) for f in FILES}, "stored_dtype": dtype,
        "checkpoint_from": str(Path(checkpoint).name),
        "model": {k: conf.get(k) for k in ("encoder", "encoder_conf", "separator", "separator_conf",
                                           "decoder", "decoder_conf", "remixer", "remixer_conf", "text_encoder",
                                           "text_encoder_conf", "cond_dim", "speech_encoder",
                                           "speech_encoder_conf", "model_conf", "cue") if k in conf},
        "parameters": _parameters(out_dir),
        "training": {"epochs": len(curve), "best_epoch": best["epoch"], "iters_per_epoch": iters,
                     "steps": iters * len(curve) if iters else None, "batch_size": conf.get("batch_size"),
                     "dynamic_mixing": conf.get("dynamic_mixing", False),
                     "dynamic_mixing_conf": conf.get("dynamic_mixing_conf"),
                     "optim": conf.get("optim"), "optim_conf": conf.get("optim_conf"),
                     "wall_hours": round(wall_s / 3600, 3), "threads": thread_text,
                     "cpu_hours": round(cpu_s / 3600, 3) if all(threads) else None},
        "validation": [{"epoch": r["epoch"], **{k: v for k, v in r.get("valid", {}).items()
                                                if isinstance(v, float) and k != "total_count"}} for r in curve],
        "corpus": corpus, "command": command, "results": results or {}, "notes": notes,
    }
    _write_meta(out_dir, meta)
    return meta


def best_epoch(curve: List[Dict], kind: str) -> Dict:
    """The row of ``curve`` a release takes its checkpoint from: the best validation ``acc`` for a
    classifier (:data:`BEST_BY`), else the lowest SI-SNR loss or loss; the last row without one."""
    key, higher = BEST_BY.get(kind, (None, False))
    if key is None or key not in curve[-1].get("valid", {}):
        key = next((k for k in ("si_snr_loss", "loss") if k in curve[-1].get("valid", {})), None)
        higher = False
    if key is None:
        return curve[-1]
    sign = -1.0 if higher else 1.0
    return min(curve, key=lambda r: sign * r.get("valid", {}).get(key, -sign * float("inf")))


def architecture(meta: Dict) -> str:
    """A few words for what the release's model is (the separator, remixer or encoders)."""
    m = meta["model"]
    if meta["kind"] == "classifier":
        return f"{m.get('cue', 'text')} classifier, {m.get('speech_encoder')} + {m.get('text_encoder')}"
    return m.get("separator") or m.get("remixer") or meta["kind"]


def _seconds(text) -> float:
    """humanfriendly's timespans as ESPnet logs them ("1 hour, 2 minutes and 3.5 seconds")."""
    if not isinstance(text, str):
        return 0.0
    units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
    total = 0.0
    for value, unit in re.findall(r"([\d.]+) (second|minute|hour|day|week)s?", text):
        total += float(value) * units[unit]
    return total


def _parameters(out_dir: Path) -> int:
    import torch

    state = torch.load(out_dir / "model.pth", map_location="cpu", weights_only=True)
    return int(sum(v.numel() for v in state.values() if hasattr(v, "numel")))


def _stored_dtype_lines(meta: Dict) -> List[str]:
    if meta.get("stored_dtype") != "float16":
        return []
    check = meta.get("stored_dtype_check")
    return [f"Weights are stored in float16 and loaded as float32{f' ({check})' if check else ''}.", ""]


def readme(meta: Dict) -> str:
    t = meta["training"]
    lines = [f"# Released {meta['kind']}: {meta['name']}", "",
             f"{meta['parameters'] / 1e6:.2f} M parameters ({architecture(meta)}); "
             f"checkpoint `{meta['checkpoint_from']}` of the training run, epoch {t['best_epoch']} of {t['epochs']}.", "",
             *_stored_dtype_lines(meta),
             "## Reproduce", "", "```bash", meta["command"], "```", "",
             f"Corpus: {meta['corpus']}", "",
             "## Training", "",
             f"- {t['epochs']} epochs" + (f" of {t['iters_per_epoch']} steps ({t['steps']} steps)" if t['steps'] else "")
             + f", batch {t['batch_size']}, "
             f"dynamic mixing {'on' if t['dynamic_mixing'] else 'off'} {t['dynamic_mixing_conf'] or ''}",
             f"- {t['optim']} {t['optim_conf']}",
             f"- {t['wall_hours']:.2f} h wall clock with {t['threads']} thread(s): {t['cpu_hours']} CPU-hours", "",
             "| epoch | " + " | ".join(k for k in meta["validation"][0] if k != "epoch") + " |",
             "|---" * len(meta["validation"][0]) + "|"]
    for r in meta["validation"]:
        lines.append(f"| {r['epoch']} | " + " | ".join(f"{v:.3f}" for k, v in r.items() if k != "epoch") + " |")
    if meta.get("results"):
        lines += ["", "## Results", "", "```json", json.dumps(meta["results"], indent=1), "```"]
    if meta.get("notes"):
        lines += ["", meta["notes"]]
    return "\n".join(lines) + "\n"


def read_release(release_dir: Path) -> Dict:
    """Reads and verifies a release dir (:func:`tse2.manifest.read_manifest`): every file present
    and matching its recorded sha256."""
    release_dir = Path(release_dir)
    path = release_dir / META
    if not path.is_file():
        raise ReleaseError(f"{path}: missing; {release_dir} is not a tse2 release")
    meta = read_manifest(release_dir, META, error=ReleaseError)
    for name in FILES:
        if name not in (meta.get("files") or {}):
            raise ReleaseError(f"{path}: lists no sha256 for {name}")
    return meta


def _check_loads(release_dir: Path, kind: str) -> None:
    """Builds the release's model from its config and loads its weights strictly (a ReleaseError
    naming the dir when they do not fit)."""
    config, weights = release_dir / "config.yaml", release_dir / "model.pth"
    if kind not in ("separator", "classifier"):
        raise ReleaseError(f"{release_dir / META}: a {kind!r} release is read in place, not installed")
    try:
        if kind == "separator":
            from tse2.tasks.enh import Tse2EnhancementTask

            Tse2EnhancementTask.build_model_from_file(config, weights, "cpu")
        elif kind == "classifier":
            import argparse

            from tse2.models.checkpoint import build_named, load_state, resolved_config
            from tse2.models.cls_build import build_classifier

            args = argparse.Namespace(**resolved_config(config))
            load_state(build_named(build_classifier, args, config, "classifier"), weights, config, "cpu")
    except (RuntimeError, KeyError, ValueError) as e:
        raise ReleaseError(f"{release_dir}: its model.pth does not load into the model config.yaml builds: {e}") from e


def install_release(release_dir: Path, exp_dir: Path, kind: Optional[str] = None) -> Dict:
    """Verifies a separator or classifier release (of ``kind`` when given), checks that it builds
    and loads, and copies it into ``exp_dir`` (``config.yaml``, ``released.pth``, ``release.json``)."""
    release_dir, exp_dir = Path(release_dir), Path(exp_dir)
    meta = read_release(release_dir)
    if kind is not None and meta.get("kind") != kind:
        raise ReleaseError(f"{release_dir / META}: a {meta.get('kind')!r} release, not a {kind}")
    _check_loads(release_dir, meta.get("kind"))
    exp_dir.mkdir(parents=True, exist_ok=True)
    for src, dst in (("config.yaml", "config.yaml"), ("model.pth", RELEASED_CHECKPOINT), (META, META)):
        with atomic_path(exp_dir / dst) as tmp:
            shutil.copyfile(release_dir / src, tmp)
    return meta


def summary(meta: Dict) -> str:
    """One line: what the release is, how long it trained, what it measured."""
    t = meta["training"]
    res = meta.get("results", {}).get("test")
    measured = ""
    if res and "mean_pit_sisdri" in res:
        measured = (f"; embedded test set: PIT SI-SDRi {res['mean_pit_sisdri']:+.1f} dB, "
                    f"target SI-SDRi {res['mean_sisdri']:+.1f} dB")
    elif res and "average" in res:
        measured = f"; embedded test set: SNRi {res['average']['snri']:+.2f} dB averaged over tasks"
    elif res and (res.get("per_cue") or {}).get("overall", {}).get("acc") is not None:
        measured = f"; embedded test set: {100 * res['per_cue']['overall']['acc']:.1f} % correct selections"
    steps = f"{t['steps']} steps" if t.get("steps") else f"{t['epochs']} epochs"
    return (f"{meta['name']}: {meta['parameters'] / 1e6:.2f} M-parameter {architecture(meta)}, "
            f"{steps} in {t['wall_hours']:.1f} h ({t['threads']} threads){measured}")
