"""tse2: text-guided target speech extraction with inter-speaker relative cues."""

__version__ = "0.1.0"

from tse2.utils.lazy_imports import defer as _defer  # noqa: E402

_defer()  # ESPnet's g2p_en and tacotron_cleaner imports: ~8 s and an NLTK download attempt, unused


# The end-user classes of the three systems, one contract (tse2.inference.common): from_pretrained(dir),
# .fs from the model's config, model(audio, prompt, rate=None) -> a result dataclass (retrieval:
# index(audio) and search(index, query)).  Lazy: `import tse2` stays light; torch loads with them.
_EXPORTS = {
    "TextGuidedExtractor": "tse2.extractor", "Extraction": "tse2.extractor",
    "Remixer": "tse2.inference.remix", "Remix": "tse2.inference.remix",
    "StyleRetrieval": "tse2.inference.retrieval", "StyleIndex": "tse2.inference.retrieval",
    "Search": "tse2.inference.retrieval", "Hit": "tse2.inference.retrieval",
    "pack": "tse2.packing", "pack_parts": "tse2.packing",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tse2' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
