"""Deferred imports of ESPnet's text front ends, which tse2 never calls.

ESPnet's task modules import ``espnet2.text.phoneme_tokenizer``, which imports ``g2p_en`` at
module level.  ``g2p_en`` imports ``inflect`` (4.6 s here) and asks NLTK to *download* cmudict
when it is absent, a network call refused on offline machines, on every run of every tse2 tool
that builds a model.  ``espnet2.text.cleaner`` imports ``tacotron_cleaner.cleaners``, which builds
an ``inflect`` engine on import (3.5 s).  tse2 builds neither a phoneme tokenizer nor a text
cleaner, so :func:`defer` registers these
modules as deferred: ``import g2p_en`` succeeds at once and the real module is imported only
when an attribute of it is first used (ESPnet does so only when a
``g2p_en`` tokenizer is built).  Nothing is stubbed: a use gets the real module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

DEFERRED = ("g2p_en", "tacotron_cleaner", "tacotron_cleaner.cleaners")


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for an installed module until an attribute of it is used; then
    the real module is imported and takes its place.  (``importlib.util.LazyLoader`` would load it
    at the next ``import`` statement already, on Python 3.11, through its ``__spec__`` check.)"""

    def __init__(self, name: str, spec) -> None:
        super().__init__(name)
        self.__spec__ = spec
        if spec.submodule_search_locations is not None:  # a package: ``import pkg.sub`` can proceed
            self.__path__ = list(spec.submodule_search_locations)
        self.__deferred__ = True

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        root = self.__name__.split(".")[0]
        for name in [n for n, m in sys.modules.items() if isinstance(m, _Deferred) and n.split(".")[0] == root]:
            del sys.modules[name]  # the real package imports its real submodules
        real = importlib.import_module(self.__name__)
        return getattr(real, attr)


def defer(names=DEFERRED) -> None:
    """Registers each installed, not yet imported module of ``names`` as a deferred module."""
    for name in names:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            module = sys.modules[name] = _Deferred(name, spec)
            parent, _, child = name.rpartition(".")
            if parent and isinstance(sys.modules.get(parent), _Deferred):
                setattr(sys.modules[parent], child, module)
