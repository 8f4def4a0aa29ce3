"""tse2: text-guided target speech extraction with inter-speaker relative cues."""

__version__ = "0.1.0"

from tse2.utils.lazy_imports import defer as _defer  # noqa: E402

_defer()  # ESPnet's g2p_en and tacotron_cleaner imports: ~8 s and an NLTK download attempt, unused


def __getattr__(name):  # lazy: `import tse2` stays light; torch loads with the extractor
    if name in ("TextGuidedExtractor", "Extraction"):
        from tse2 import extractor

        return getattr(extractor, name)
    raise AttributeError(f"module 'tse2' has no attribute {name!r}")
