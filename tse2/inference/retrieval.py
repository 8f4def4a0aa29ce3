"""The retrieval runtime: embed a speech collection once, then rank it by style descriptions.

    from tse2 import StyleRetrieval, StyleIndex
    r = StyleRetrieval.from_pretrained("exp/ret_minilm_whisper")   # an experiment dir or a pack
    index = r.index("my_recordings/")      # a dir, a list of paths, or {key: samples} with rate=
    index.save("my_recordings.index")      # or: tse2.bin.retrieval_index embed ... / merge
    result = r.search(StyleIndex.load("my_recordings.index"), "someone whispering slowly", k=5)
    for key, score in result.hits:
        ...

Any sample rate and channel count comes in: audio is averaged to mono and resampled to the
model's rate (``r.fs``, its config's ``fs``).  The model dir names its own styles (``styles`` in
its config), so it loads from any working directory.  The index keeps the projected, unnormalised
speech embeddings (the auxiliary classifier reads them for the classification baseline); search
uses their cosine similarity.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from tse2.inference.common import Runtime
from tse2.models.checkpoint import resolved_config
from tse2.utils.audio import read_for_model, to_model_input
from tse2.utils.fileio import atomic_open, atomic_path

log = logging.getLogger("tse2.retrieval")

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MIN_SECONDS = 0.1  # the shortest clip worth indexing (a style needs a word or two)


class Hit(NamedTuple):
    key: str
    score: float  # mean cosine similarity to the query's prompts


@dataclass
class Search:
    """The answer to a query: the best ``hits`` first, and what the query reader found wrong."""

    query: Union[str, List[str]]
    hits: List[Hit]
    problems: List[str] = field(default_factory=list)


def audio_paths(audio_dir: str) -> List[Tuple[str, str]]:
    """(key, path) of every audio file under ``audio_dir``; the key is the relative path without suffix."""
    root = Path(audio_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{audio_dir}: not a directory")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"{audio_dir}: holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    return [(str(p.relative_to(root).with_suffix("")).replace("/", "__").replace(" ", "_"), str(p)) for p in files]


class StyleIndex:
    """Keys and their speech embeddings; saved as ``keys``, ``emb.npy`` and ``index.json`` (last)."""

    def __init__(self, keys: Sequence[str], emb: np.ndarray, model_digest: str = "") -> None:
        if len(keys) != len(emb):
            raise ValueError(f"index: {len(keys)} keys for {len(emb)} embeddings")
        self.keys, self.emb, self.model_digest = list(keys), np.asarray(emb, dtype=np.float32), model_digest
        norm = np.linalg.norm(self.emb, axis=1, keepdims=True)
        self.unit = self.emb / np.maximum(norm, 1e-12)

    def save(self, path) -> None:
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        (d / "index.json").unlink(missing_ok=True)  # a half-written index is never trusted
        with atomic_open(d / "keys") as f:
            f.write("".join(k + "\n" for k in self.keys))
        with atomic_path(d / "emb.npy") as tmp:
            with open(tmp, "wb") as f:
                np.save(f, self.emb)
        with atomic_open(d / "index.json") as f:
            json.dump({"items": len(self.keys), "dim": int(self.emb.shape[1]) if len(self.emb) else 0,
                       "model_digest": self.model_digest}, f)

    @classmethod
    def load(cls, path) -> "StyleIndex":
        d = Path(path)
        if not (d / "index.json").is_file():
            raise FileNotFoundError(f"{d}: no complete index (index.json missing; run retrieval_index merge)")
        meta = json.loads((d / "index.json").read_text())
        keys = (d / "keys").read_text(encoding="utf-8").split()
        emb = np.load(d / "emb.npy")
        if len(keys) != meta["items"]:
            raise ValueError(f"{d}: keys has {len(keys)} entries, index.json says {meta['items']}")
        return cls(keys, emb, meta.get("model_digest", ""))

    @classmethod
    def concat(cls, parts: Iterable["StyleIndex"]) -> "StyleIndex":
        parts = list(parts)
        keys = [k for p in parts for k in p.keys]
        if len(set(keys)) != len(keys):
            raise ValueError("index parts overlap: a key is in two parts")
        emb = np.concatenate([p.emb for p in parts]) if parts else np.zeros((0, 0), np.float32)
        return cls(keys, emb, parts[0].model_digest if parts else "")


class StyleRetrieval(Runtime):
    """A trained retrieval model (``retrieval.sh`` stage 3) as an embedder and a search."""

    name = "retrieval"
    CHECKPOINTS = ("model.pth", "valid.match.best.pth", "valid.loss.best.pth", "latest.pth")
    WHAT, STAGE, PACK_KIND = "trained retrieval model", 3, "retrieval"

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        import torch

        from tse2.models.checkpoint import build_named, load_state
        from tse2.models.encoders import load_tokenizer
        from tse2.models.retrieval import build_retriever, read_style_list
        from tse2.utils.audio import model_rate

        conf = resolved_config(Path(config))
        if not conf.get("styles"):  # a model trained before configs named their styles
            sl = Path(conf["style_list"])
            beside = Path(config).parent / sl.name  # a copied model dir holds its list
            conf["styles"] = read_style_list(beside if beside.is_file() else sl)
        self.args = argparse.Namespace(**conf)
        self.styles = list(conf["styles"])
        self.fs = model_rate(conf, str(config))
        self.model = build_named(build_retriever, self.args, config, "retrieval model")
        load_state(self.model, model_file, config, device)
        self.model.to(device).eval()
        self.tokenizer = load_tokenizer(self.args.text_encoder_conf["model_dir"])
        self.device, self.model_file, self.torch = device, Path(model_file), torch
        st = Path(model_file).stat()
        self.digest = f"{Path(model_file).resolve()}:{st.st_size}:{int(st.st_mtime)}"

    def read(self, path: str) -> np.ndarray:
        """A file as the model's input: mono float32 at ``fs``, at least 0.1 s (errors name the file)."""
        return read_for_model(str(path), self.fs, min_seconds=MIN_SECONDS)

    def embed_signals(self, signals: Sequence[np.ndarray]) -> np.ndarray:
        """(N, D) unnormalised embeddings of mono signals at ``fs``, one at a time (no padding)."""
        torch = self.torch
        out = []
        with torch.no_grad():
            for x in signals:
                wav = torch.as_tensor(np.asarray(x, np.float32))[None].to(self.device)
                out.append(self.model.embed_speech(wav, torch.tensor([wav.shape[1]], device=self.device))[0].cpu())
        return torch.stack(out).numpy() if out else np.zeros((0, self.model.speech_proj.out_features), np.float32)

    def embed_audio(self, path: str) -> np.ndarray:
        return self.embed_signals([self.read(path)])[0]

    def index(self, audio: Union[str, Path, Sequence, Dict[str, np.ndarray]], rate: Optional[int] = None) -> StyleIndex:
        """The index of a collection: a directory (every audio file under it, keyed by its relative
        path, :func:`audio_paths`), a list of files (keyed by their names), or ``{key: samples}``
        at ``rate`` (default the model's; any channel count)."""
        if isinstance(audio, (str, Path)):
            items = audio_paths(str(audio))
        elif isinstance(audio, dict):
            rate = int(rate or self.fs)
            keys = list(audio)
            return self.index_signals(keys, [to_model_input(audio[k], rate, self.fs, name=str(k),
                                                            min_seconds=MIN_SECONDS) for k in keys])
        else:
            items = [(Path(p).stem, str(p)) for p in audio]
        return self.index_signals([k for k, _ in items], [self.read(p) for _, p in items])

    def embed_text(self, prompts: Sequence[str]) -> np.ndarray:
        """(N, D) L2-normalised prompt embeddings."""
        torch = self.torch
        if not prompts or any(not str(p).strip() for p in prompts):
            raise ValueError("a query must be a non-empty description")
        rows = [self.tokenizer(p, truncation=True, max_length=self.args.max_prompt_tokens)["input_ids"] for p in prompts]
        n = max(len(r) for r in rows)
        ids = torch.tensor([r + [0] * (n - len(r)) for r in rows], device=self.device)
        with torch.no_grad():
            z = self.model.embed_text(ids, torch.tensor([len(r) for r in rows], device=self.device))
        return torch.nn.functional.normalize(z, dim=-1).cpu().numpy()

    def query_vector(self, prompts: Sequence[str]) -> np.ndarray:
        """The mean of the prompts' unit embeddings: its dot product with a unit speech embedding is
        the mean cosine similarity to the prompts (the paper's ranking score)."""
        return self.embed_text(list(prompts)).mean(axis=0)

    def scores(self, index: StyleIndex, prompts: Sequence[str]) -> np.ndarray:
        return index.unit @ self.query_vector(prompts)

    def class_scores(self, index: StyleIndex) -> np.ndarray:
        """(N, styles) logits of the auxiliary classifier (the classification baseline)."""
        if self.model.classifier is None:
            raise ValueError("this model has no auxiliary classifier (aux_weight: 0)")
        with self.torch.no_grad():
            return self.model.classifier(self.torch.as_tensor(index.emb)).numpy()

    def query_problems(self, query: str) -> List[str]:
        """:func:`tse2.cues.styles.query_problems`, and the part past the text model's token limit."""
        from tse2.cues.styles import query_problems
        from tse2.models.encoders import clip_middle, ignored_tail

        problems = query_problems(query)
        tail = ignored_tail(self.tokenizer, query, self.args.max_prompt_tokens)
        if tail:
            problems.append(f"it is longer than the {self.args.max_prompt_tokens} tokens the text model reads: "
                            f"{clip_middle(tail)!r} is ignored")
        return problems

    def search(self, index: StyleIndex, query, k: int = 5) -> Search:
        """The top ``k`` hits (key, score) for a description (or a list of them, averaged); a
        description with a problem (:meth:`query_problems`) is ranked all the same, with a warning."""
        prompts = [query] if isinstance(query, str) else list(query)
        problems = []
        for p in prompts:
            for problem in self.query_problems(p):
                log.warning("query %r: %s", p, problem)
                problems.append(problem)
        s = self.scores(index, prompts)
        top = np.argsort(-s, kind="stable")[:k]
        return Search(query, [Hit(index.keys[i], float(s[i])) for i in top], problems)

    def index_signals(self, keys: Sequence[str], signals: Sequence[np.ndarray]) -> StyleIndex:
        return StyleIndex(keys, self.embed_signals(signals), self.digest)

