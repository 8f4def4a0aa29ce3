"""Systems: every selector and extractor the recipe trains, runs and reports, defined once.

A system is named as in ``--cls_systems``: a base name, optionally with ``_clean`` (its candidates
are the reverberant references instead of the separated outputs: the Clean ACC oracle), or
``tse_<tag>``, a single-stage baseline of ``--tse_configs``.  ``tse2.sh`` asks this module where
each system's data and experiment live (``python -m tse2.bin.systems``); stage 9's report asks it
which table shows which system.  A new selector is one entry of :data:`BASES`.

| base | compares candidates with | prompts | stage 7 | runtime | reported in |
|---|---|---|---|---|---|
| ``text`` | the prompt | relative | trains a classifier | ClassifierSelector | Tables IV, V, VI; Figs. 4, 6, 7 |
| ``text_ind`` | the prompt | independent | trains a classifier | ClassifierSelector | Table VI, Figs. 6, 7 |
| ``enroll`` | an enrollment utterance | relative (its mixtures) | trains a classifier | ClassifierSelector | Table V |
| ``attributes`` | the prompt, by measured cues | relative | nothing (training-free) | AttributeSelector | Tables IV, V |
| ``tse_<tag>`` | (extracts directly) | relative | trains the baseline | SingleStageExtractor | Table IV |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

CLEAN = "_clean"
SINGLE_STAGE = "tse_"


@dataclass(frozen=True)
class Base:
    cue: str  # "text" or "enroll": what the candidates are compared with
    prompts: str  # "relative" or "independent": the prompt kind it trains and is evaluated on
    trained: bool  # stage 7 trains it
    runtime: str  # the tse2.inference class that runs it
    table4: bool = False  # a two-stage row set of Table IV (separated candidates)
    table5: Optional[int] = None  # column order in Table V (None: not shown)
    relative_twin: Optional[str] = None  # Table VI: the relative system an independent one is compared with
    per_mixture: bool = False  # one example per mixture (enrollment), scored on each cue type's mixtures


BASES: Dict[str, Base] = {
    "text": Base("text", "relative", True, "ClassifierSelector", table4=True, table5=0),
    "text_ind": Base("text", "independent", True, "ClassifierSelector", relative_twin="text"),
    "enroll": Base("enroll", "relative", True, "ClassifierSelector", table5=1, per_mixture=True),
    "attributes": Base("text", "relative", False, "AttributeSelector", table4=True, table5=2),
}
SINGLE_STAGE_BASE = Base("text", "relative", True, "SingleStageExtractor", table4=True)


@dataclass(frozen=True)
class System:
    name: str
    base_name: str
    base: Base
    clean: bool  # candidates are the references (an oracle: accuracy only, no signal metrics)

    @property
    def single_stage(self) -> bool:
        return self.base is SINGLE_STAGE_BASE

    @property
    def kinds(self) -> str:
        return self.base.prompts

    def source(self, sep_tag: str) -> str:
        """Where the candidates come from: ``clean`` or ``sep_<tag>`` (the stage-6 outputs)."""
        return "clean" if self.clean or self.single_stage else f"sep_{sep_tag}"

    def exp_dir(self, expdir: str, sep_tag: str, cls_tag: str) -> str:
        if self.single_stage:
            return f"{expdir}/{self.name}"
        if not self.base.trained:  # training-free: no classifier tag
            return f"{expdir}/{self.base_name}_{self.source(sep_tag)}"
        return f"{expdir}/cls_{cls_tag}_{self.name}"

    def data_dir(self, dumpdir: str, sep_tag: str, set_name: str) -> str:
        """The stage-7/8 example dir of one set (``tse2.bin.cls_data``)."""
        return f"{dumpdir}/cls/{self.source(sep_tag)}/{self.base.cue}_{self.kinds}/{set_name}"

    @property
    def kind(self) -> str:
        """``classifier``, ``attributes`` (training-free) or ``single_stage``: which tools run it."""
        return {"ClassifierSelector": "classifier", "AttributeSelector": "attributes",
                "SingleStageExtractor": "single_stage"}[self.base.runtime]

    def examples(self, purpose: str) -> Tuple[str, bool, str]:
        """(example dir suffix, keep similar/same prompts, cue types) of its ``train``, ``valid`` or
        ``eval`` examples.  Selectors are evaluated on every prompt, similar ones flagged (Table VI
        reads them); a single-stage baseline validates on each mixture's "all" prompt only (a full
        pass costs more than its epoch) and is evaluated on the discriminative prompts (Table IV)."""
        if purpose not in ("train", "valid", "eval"):
            raise ValueError(f"purpose must be train, valid or eval, got {purpose!r}")
        if self.single_stage:
            return ("_all", False, "all") if purpose == "valid" else ("", False, "")
        return ("_eval", True, "") if purpose == "eval" else ("", False, "")

    def data_names(self) -> List[Tuple[str, str, str]]:
        """(file, ESPnet data name, type) its task reads from an example dir."""
        if self.single_stage:
            return [("mix.scp", "speech_mix", "sound"), ("target.scp", "speech_ref1", "sound"),
                    ("prompt", "prompt", "text")]
        return [("cand1.scp", "cand1", "sound"), ("cand2.scp", "cand2", "sound"), ("label", "label", "text_int"),
                ("prompt", "prompt", "text") if self.base.cue == "text" else ("enroll.scp", "enroll", "sound"),
                ("attr1", "attr1", "text_float"), ("attr2", "attr2", "text_float")]

    def twin(self) -> Optional[str]:
        """Table VI: the relative system this independent one is compared with (``text_ind_clean`` ->
        ``text_clean``)."""
        if self.base.relative_twin is None:
            return None
        return self.base.relative_twin + (CLEAN if self.clean else "")


def system(name: str) -> System:
    """The system called ``name``; an unknown name is an error listing the known ones."""
    if name.startswith(SINGLE_STAGE) and len(name) > len(SINGLE_STAGE):
        return System(name, name, SINGLE_STAGE_BASE, clean=False)
    clean = name.endswith(CLEAN)
    base_name = name[: -len(CLEAN)] if clean else name
    if base_name not in BASES:
        raise ValueError(f"unknown system {name!r}: one of {', '.join(BASES)}, each optionally with {CLEAN}, "
                         f"or {SINGLE_STAGE}<tag> (a single-stage baseline)")
    return System(name, base_name, BASES[base_name], clean)
