"""Separator training on a lent accelerator: dynamic mixing and augmentation on the device.

Why a second trainer beside stage 5 (ESPnet's): a GPU we can borrow gets minutes, not hours, and
no package index; ESPnet and its dependencies are not there, and a CPU data loader that renders
reverberant mixtures with scipy (stage 5's :class:`tse2.simulation.dynamic.DynamicMixer`) cannot
feed it.  This one needs torch, numpy and soundfile only, keeps the whole corpus and the RIR bank
on the device, and draws every batch there.  It trains the very model stage 5 trains
(``blstm_mask`` between ESPnet's ``stft`` encoder and decoder; a test checks that its forward is
ESPnet's, weight for weight) and writes checkpoints in ESPnet's state-dict layout, so the release
and every runtime take them unchanged.

Input: a payload dir written by :mod:`tse2.bin.sep_payload` (utterances as Opus, speakers, the RIR
bank, the dev utterances).  Each training example follows stage 3's rules:

- two utterances of different speakers, each cropped to ``max_len`` (6 s); the overlap rule of the
  paper (either shorter than 3 s: the shorter one at a uniform offset inside the longer; else S1
  at 0 and S2 ending at 6 s); a ``chunk``-second window that holds the centre of the overlap;
- each talker in its own position of one room of the bank (RIRs of that room), SIR U(-6, 6) dB
  by the active power of the reverberant signals, the references being the reverberant sources;
- augmentation (each with its probability, drawn per example; ``--aug`` lists them):
  ``speed`` (0.9-1.1, the dry source resampled), ``eq`` (a smooth random response, ±6 dB at six
  log-spaced anchors), ``band`` (a low-pass at U(3.4, 7.5) kHz, or the 300-3400 Hz telephone
  band), ``level`` (U(-20, +6) dB), ``codec`` (G.711 mu-law, 8 bit).  The linear ones (eq, band,
  level) are applied to the mixture and the references alike, so the target is what the
  microphone channel let through; the codec's noise is in the mixture only.

Determinism: batch ``k`` is drawn by a generator seeded with ``(seed, k)``.

Output: ``<out>/best.pth`` (the best dev SI-SDRi of the evaluations, every ``--eval_every``
minutes and at the end), ``ckpt_<minutes>min.pth`` at each ``--save_at`` mark and ``last.pth`` on
request, float16 weights with ESPnet's keys (``separator.*``); ``curve.json`` (steps, minutes,
train SI-SNR, dev SI-SDRi, steps/s, peak memory) and ``log.txt``.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

AUGMENTATIONS = ("speed", "eq", "band", "level", "codec")


# --------------------------------------------------------------------------- payload


def load_payload(payload: Path):
    """{name: (audio float32 concatenated, offsets, lengths, speaker ids, real flags)}, rirs (N, 3, T)."""
    import soundfile as sf

    from concurrent.futures import ThreadPoolExecutor

    index = json.loads((payload / "index.json").read_text(encoding="utf-8"))
    sets = {}
    pool = ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1))  # libsndfile decodes without the GIL
    for name, meta in index["sets"].items():
        parts = list(pool.map(lambda f: sf.read(str(payload / f), dtype="float32")[0], meta["files"]))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        utts = meta["utts"]  # [[offset, length, speaker index, real], ...]
        arr = np.asarray(utts, dtype=np.int64).reshape(-1, 4)
        if arr.size and int((arr[:, 0] + arr[:, 1]).max()) > len(audio):
            raise ValueError(f"{payload}: set {name} index runs past its audio")
        sets[name] = (audio, arr)
    with np.load(payload / "rirs.npz") as z:
        rirs = z["rirs"].astype(np.float32)
    return index, sets, rirs


# --------------------------------------------------------------------------- model


def build_model(hidden: int, layers: int, n_fft: int, hop: int, arch: str = "blstm_mask"):
    """The separator with ESPnet's keys (``separator.*``), waveform (B, N) in, (B, 2, N) out.

    ``blstm_mask``: STFT -> :class:`tse2.models.blstm_mask.BLSTMMaskSeparator` -> iSTFT (the
    released real-voices separator's architecture; ``hidden`` x ``layers``, STFT ``n_fft``/``hop``).
    ``tf_locoformer``: :class:`tse2.models.tf_locoformer.TFLocoformerSeparator` in the paper's
    configuration (conf/tuning/sep_tflocoformer_paper.yaml: 6 layers, D 128, 4 heads, FFN 384,
    STFT 256/128); ``layers`` > 0 overrides its layer count (a smaller one for a CPU dry run).
    """
    import torch
    import torch.nn as nn

    if arch == "tf_locoformer":
        from tse2.models.tf_locoformer import TFLocoformerSeparator

        class Loco(nn.Module):
            def __init__(self):
                super().__init__()
                self.separator = TFLocoformerSeparator(num_spk=2, n_fft=256, hop_length=128, n_layers=layers or 6,
                                                       emb_dim=128, n_heads=4, ffn_hidden_dim=384, conv1d_kernel=4,
                                                       conv1d_shift=1, num_groups=4)

            def forward(self, mix: torch.Tensor) -> torch.Tensor:
                return self.separator.separate(mix)

        return Loco()
    if arch != "blstm_mask":
        raise ValueError(f"unknown architecture {arch!r} (blstm_mask, tf_locoformer)")

    from tse2.models.blstm_mask import BLSTMMaskSeparator

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_fft, self.hop = n_fft, hop
            self.separator = BLSTMMaskSeparator(n_fft // 2 + 1, num_spk=2, hidden=hidden, layers=layers or 3,
                                                mask="complex")

        def forward(self, mix: torch.Tensor) -> torch.Tensor:
            """mix (B, N) -> (B, 2, N)."""
            n = mix.shape[-1]
            window = torch.hann_window(self.n_fft, device=mix.device, dtype=torch.float32)
            spec = torch.stft(mix.float(), self.n_fft, self.hop, self.n_fft, window=window, center=True,
                              normalized=False, onesided=True, return_complex=True).transpose(1, 2)  # B, T, F
            ilens = torch.full((mix.shape[0],), spec.shape[1], dtype=torch.long, device=mix.device)
            outs, _, _ = self.separator(spec, ilens)
            wavs = [torch.istft(o.transpose(1, 2), self.n_fft, self.hop, self.n_fft, window=window, center=True,
                                normalized=False, onesided=True, length=n) for o in outs]
            return torch.stack(wavs, dim=1)

    return Model()


def si_snr(est, ref, eps: float = 1e-7):
    """(..., N) pairs -> (...) SI-SNR in dB of zero-mean signals (ESPnet's si_snr criterion)."""
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    proj = (est * ref).sum(-1, keepdim=True) * ref / ((ref ** 2).sum(-1, keepdim=True) + eps)
    noise = est - proj
    return 10 * (((proj ** 2).sum(-1) + eps) / ((noise ** 2).sum(-1) + eps)).log10()


def pit_si_snr(est, refs):
    """(B, 2, N) estimates and references -> (B,) best-permutation mean SI-SNR."""
    a = (si_snr(est[:, 0], refs[:, 0]) + si_snr(est[:, 1], refs[:, 1])) / 2
    b = (si_snr(est[:, 0], refs[:, 1]) + si_snr(est[:, 1], refs[:, 0])) / 2
    return a.maximum(b)


# --------------------------------------------------------------------------- mixing


class Mixer:
    """Draws batches of reverberant two-talker examples on the device (module doc)."""

    def __init__(self, audio: np.ndarray, utts: np.ndarray, rirs: np.ndarray, fs: int, device, chunk: float,
                 real_weight: float = 1.0, max_len: float = 6.0, short: float = 3.0) -> None:
        import torch

        self.torch = torch
        self.fs, self.device = fs, device
        self.audio = torch.from_numpy(audio).to(device)
        self.utts = utts
        self.rirs = torch.from_numpy(rirs).to(device)  # R, 3, T
        self.chunk = int(round(chunk * fs))
        self.max_len, self.short = int(max_len * fs), int(short * fs)
        w = np.where(utts[:, 3] > 0, real_weight, 1.0)
        self.cum = np.cumsum(w / w.sum())
        self.spk = utts[:, 2]

    def pick(self, rng: np.random.Generator) -> int:
        return min(int(np.searchsorted(self.cum, rng.random(), side="right")), len(self.cum) - 1)

    def layout(self, rng: np.random.Generator, len1: int, len2: int) -> Tuple[int, int, int]:
        if min(len1, len2) < self.short:
            off = int(rng.integers(0, abs(len1 - len2) + 1))
            return (off, 0, len2) if len1 <= len2 else (0, off, len1)
        return 0, self.max_len - len2, self.max_len

    def plan(self, rng: np.random.Generator, batch: int, speed: float) -> np.ndarray:
        """Per example and talker: (first sample in the corpus, stride, length after speed and crop,
        offset in the window) as a (B, 2, 4) float array; all draws come from ``rng``."""
        C = self.chunk
        out = np.zeros((batch, 2, 4))
        for b in range(batch):
            i = self.pick(rng)
            j = self.pick(rng)
            while self.spk[j] == self.spk[i]:
                j = self.pick(rng)
            srcs = []
            for k in (i, j):
                off, n = int(self.utts[k, 0]), int(self.utts[k, 1])
                f = float(rng.uniform(0.9, 1.1)) if speed and rng.random() < speed else 1.0
                m = max(2, int((n - 1) / f))  # samples after resampling by f (x(u f), u < m)
                s = int(rng.integers(0, m - self.max_len + 1)) if m > self.max_len else 0
                srcs.append((off + s * f, f, min(m, self.max_len)))
            o1, o2, length = self.layout(rng, srcs[0][2], srcs[1][2])
            lo, hi = max(o1, o2), min(o1 + srcs[0][2], o2 + srcs[1][2])
            centre = (lo + hi) // 2
            start = 0
            if length > C:
                first, last = max(0, centre - C), min(centre, length - C)
                start = int(rng.integers(first, max(first, last) + 1))
            for k, ((first_sample, f, m), o) in enumerate(zip(srcs, (o1, o2))):
                out[b, k] = (first_sample, f, m, o - start)
        return out

    def draw(self, rng: np.random.Generator, batch: int, aug: Sequence[str] = (), aug_prob: float = 0.0):
        """(mixture (B, C), references (B, 2, C)) on the device."""
        torch = self.torch
        C = self.chunk
        plan = self.plan(rng, batch, aug_prob if "speed" in aug else 0.0)
        room = rng.integers(len(self.rirs), size=batch)
        sir = rng.uniform(-6, 6, size=batch)
        p = torch.as_tensor(plan, device=self.device, dtype=torch.float64)  # B, 2, 4
        t = torch.arange(C, device=self.device, dtype=torch.float64) - p[..., 3:4]  # B, 2, C: source time
        valid = (t >= 0) & (t < p[..., 2:3])
        pos = (p[..., 0:1] + t.clamp_min(0) * p[..., 1:2]).clamp(0, len(self.audio) - 2)  # linear interpolation
        lo = pos.floor()
        w = (pos - lo).float()
        lo = lo.long()
        dry = (self.audio[lo] * (1 - w) + self.audio[lo + 1] * w) * valid  # B, 2, C
        rir = self.rirs[torch.as_tensor(room, device=self.device)][:, :2]  # B, 2, T
        n = C + rir.shape[-1]
        nfft = 1 << (n - 1).bit_length()
        wet = torch.fft.irfft(torch.fft.rfft(dry, nfft) * torch.fft.rfft(rir, nfft), nfft)[..., :C]  # B, 2, C
        # SIR by active power: 25 ms frames above -40 dB of each source's loudest frame
        e = (wet.unfold(-1, 400, 400) ** 2).mean(-1)  # B, 2, F
        active = e > e.amax(-1, keepdim=True) * 1e-4
        power = (e * active).sum(-1) / active.sum(-1).clamp_min(1) + 1e-10  # B, 2
        sir_t = torch.as_tensor(sir, device=self.device, dtype=torch.float32)
        gain = torch.sqrt(power[:, 1] / power[:, 0] * 10 ** (sir_t / 10))
        refs = torch.stack([wet[:, 0] * gain[:, None], wet[:, 1]], dim=1)
        mix = refs.sum(1)
        if aug:
            mix, refs = self.augment(rng, mix, refs, aug, aug_prob)
        peak = mix.abs().amax(-1).clamp_min(1e-8)
        scale = torch.where(peak > 0.9, 0.9 / peak, torch.ones_like(peak))
        return mix * scale[:, None], refs * scale[:, None, None]

    def augment(self, rng, mix, refs, aug, prob):
        """The channel augmentations of the module doc, drawn per example (numpy), applied at once."""
        torch = self.torch
        B, C = mix.shape
        nfft = 1 << (C - 1).bit_length()
        freqs = np.fft.rfftfreq(nfft, 1 / self.fs)
        resp = np.ones((B, len(freqs)))
        if "eq" in aug:
            anchors = np.log(np.geomspace(100, self.fs / 2, 6))
            logf = np.log(np.maximum(freqs, 50))
            for b in np.flatnonzero(rng.random(B) < prob):
                resp[b] *= 10 ** (np.interp(logf, anchors, rng.uniform(-6, 6, size=6)) / 20)
        if "band" in aug:
            for b in np.flatnonzero(rng.random(B) < prob):
                if rng.random() < 0.5:  # the telephone band
                    resp[b] *= _sigmoid((freqs - 300.0) / 40) * _sigmoid((3400.0 - freqs) / 80)
                else:
                    resp[b] *= _sigmoid((rng.uniform(3400, 7500) - freqs) / 80)
        if "level" in aug:
            on = rng.random(B) < prob
            resp *= np.where(on, 10 ** (rng.uniform(-20, 6, size=B) / 20), 1.0)[:, None]
        if not np.all(resp == 1):
            r = torch.as_tensor(resp, device=self.device, dtype=torch.float32)
            mix = torch.fft.irfft(torch.fft.rfft(mix, nfft) * r, nfft)[..., :C]
            refs = torch.fft.irfft(torch.fft.rfft(refs, nfft) * r[:, None], nfft)[..., :C]
        if "codec" in aug:
            on = torch.as_tensor(rng.random(B) < prob, device=self.device)
            if bool(on.any()):
                mu = 255.0
                peak = mix.abs().amax(-1, keepdim=True).clamp_min(1e-8)
                x = mix / peak
                y = torch.round(torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu) * 127) / 127
                coded = torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu * peak  # G.711 mu-law, 8 bit
                mix = torch.where(on[:, None], coded, mix)
        return mix, refs


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x, -60, 60)))


# --------------------------------------------------------------------------- training


def save_state(model, path: Path) -> None:
    import torch

    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def dev_batches(sets, rirs, fs, device, n: int, chunk: float, seed: int, batch: int = 25):
    """The fixed dev set: ``n`` mixtures of the dev utterances in the last rooms of the bank."""
    if "dev" not in sets or len(sets["dev"][1]) < 2:
        return []
    audio, utts = sets["dev"]
    mixer = Mixer(audio, utts, rirs[-max(1, len(rirs) // 8):], fs, device, chunk)
    rng = np.random.default_rng([seed, 99])
    return [mixer.draw(rng, min(batch, n - k)) for k in range(0, n, batch)]


def evaluate(model, batches) -> float:
    """Mean oracle-permutation SI-SDR improvement (dB) over the dev mixtures."""
    import torch

    if not batches:
        return float("nan")
    model.eval()
    gains = []
    with torch.no_grad():
        for mix, refs in batches:
            est = model(mix)
            out = pit_si_snr(est, refs)
            base = (si_snr(mix, refs[:, 0]) + si_snr(mix, refs[:, 1])) / 2
            gains.append((out - base).cpu())
    model.train()
    return float(torch.cat(gains).mean())


def train(args) -> int:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = torch.device(args.device if (args.device != "cuda" or torch.cuda.is_available()) else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    logf = open(args.out / "log.txt", "a", encoding="utf-8")

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    torch.manual_seed(args.seed)
    index, sets, rirs = load_payload(args.payload)
    fs = int(index["fs"])
    audio, utts = sets["train"]
    log(f"train: {len(utts)} utterances, {len(set(utts[:, 2].tolist()))} speakers, {len(audio) / fs / 3600:.2f} h; "
        f"{len(rirs)} rooms; device {device}")
    arch = getattr(args, "arch", "blstm_mask")
    model = build_model(args.hidden, args.layers, args.n_fft, args.hop, arch).to(device)
    if args.init:
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        if missing or unexpected:
            raise ValueError(f"{args.init}: does not fit {arch} {args.hidden}x{args.layers}: {missing[:3]} {unexpected[:3]}")
        log(f"initialised from {args.init}")
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    aug = [a for a in args.aug.split(",") if a]
    unknown = sorted(set(aug) - set(AUGMENTATIONS))
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; known: {AUGMENTATIONS}")
    mixer = Mixer(audio, utts, rirs[: max(1, len(rirs) - len(rirs) // 8)], fs, device, args.chunk, args.real_weight)
    dev = dev_batches(sets, rirs, fs, device, args.dev_mixtures, args.chunk, args.seed)
    curve: List[Dict] = []
    save_at = sorted(float(m) for m in args.save_at.split(",") if m)
    t0 = time.time()
    step, losses, next_eval = 0, [], 0.0
    total_steps_guess = None
    dev0 = best = evaluate(model, dev)
    curve.append({"step": 0, "minutes": 0.0, "dev_sisdri": round(dev0, 3)})
    log(f"{arch}: {params / 1e6:.2f} M parameters; bf16 autocast {args.bf16}; dev SI-SDRi at start {dev0:.2f} dB")
    while True:
        minutes = (time.time() - t0) / 60
        if (args.dry_run and step >= args.dry_run) or (not args.dry_run and minutes >= args.minutes):
            break
        rng = np.random.default_rng([args.seed, step])
        mix, refs = mixer.draw(rng, args.batch, aug, args.aug_prob)
        # lr: warm-up, then cosine over the time budget
        frac = min(1.0, minutes / args.minutes) if not args.dry_run else step / max(1, args.dry_run)
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.bf16 == "true"):
            est = model(mix)
        loss = -pit_si_snr(est.float(), refs).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        losses.append(loss.detach())
        step += 1
        if minutes >= next_eval or (save_at and minutes >= save_at[0]):
            d = evaluate(model, dev)
            mem = torch.cuda.max_memory_allocated() / 2 ** 30 if device.type == "cuda" else 0.0
            row = {"step": step, "minutes": round(minutes, 2), "train_si_snr": round(-float(torch.stack(losses[-100:]).mean()), 3),
                   "dev_sisdri": round(d, 3), "lr": lr, "steps_per_s": round(step / max(1e-6, time.time() - t0), 2),
                   "peak_gib": round(mem, 2)}
            curve.append(row)
            log(json.dumps(row))
            if d > best:
                best = d
                save_state(model, args.out / "best.pth")
            next_eval = minutes + args.eval_every
            while save_at and minutes >= save_at[0]:
                save_state(model, args.out / f"ckpt_{save_at.pop(0):g}min.pth")
    d = evaluate(model, dev)
    if d > best or not (args.out / "best.pth").is_file():
        best = d
        save_state(model, args.out / "best.pth")
    mem = torch.cuda.max_memory_allocated() / 2 ** 30 if device.type == "cuda" else 0.0
    curve.append({"step": step, "minutes": round((time.time() - t0) / 60, 2), "dev_sisdri": round(d, 3),
                  "train_si_snr": round(-float(torch.stack(losses[-100:]).mean()), 3) if losses else None,
                  "steps_per_s": round(step / max(1e-6, time.time() - t0), 2), "peak_gib": round(mem, 2)})
    if args.save_last == "true":
        save_state(model, args.out / "last.pth")
    (args.out / "curve.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                    "parameters": params, "curve": curve}, indent=1))
    log(f"done: {step} steps, dev SI-SDRi {d:.2f} dB (best {best:.2f} dB, in best.pth)")
    return 0
