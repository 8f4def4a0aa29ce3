"""The voices corpus: recorded human speech and natural-voice synthesizers, for models that must
work on real recordings (the espeak-ng corpus alone teaches the engine, not speech).

Sources (``../shared/VOICES.md`` in the project notes lists them with their licences):

==============  ==========  =====================================================================
source          kind        what is read
==============  ==========  =====================================================================
``tuxpaint``    recorded    ``tuxpaint-stamps-default``: the spoken stamp descriptions
                            ``<stamp>_desc_<lang>.ogg``, one volunteer per language, with their
                            texts (``<stamp>.txt``: ``<lang>.utf8=<text>``) as transcripts
``asterisk``    recorded    ``asterisk-core-sounds-ru-wav`` and ``asterisk-prompt-it-menardi-wav``:
                            IVR prompts of one woman each, 8 kHz
``hedgewars``   recorded    ``hedgewars-data``: acted exclamations, one voice pack per folder
                            (the ``Robot`` pack is processed audio and is skipped)
``codec2``      recorded    ``codec2-examples``: English test sentences, some over the radio
``festival``    synthesizer Festival's 16 Debian-main voices (diphone, clunits, HTS), reading the
                            stamp texts of ``tuxpaint`` in their own language
``mbrola``      synthesizer the 50 MBROLA diphone voices of ``make -C tools voices-mbrola`` (Debian
                            contrib/non-free; each one recorded speaker's diphones, 15 languages)
                            through espeak-ng, reading the stamp texts with a seeded prosody per
                            utterance; non-commercial, non-military use only
==============  ==========  =====================================================================

``flite`` and ``asterisk-core-sounds-{en,es,fr,it}`` are never read: they are kept out of every
corpus, test and tuning on purpose (an independent check).

Speakers.  A d-vector check (resemblyzer, 24 clips a speaker) shows the tuxpaint languages are
distinct people (cross-speaker cosine <= 0.82 against >= 0.95 within), but the hedgewars packs are
not (0.95-0.98 between packs, as high as within one): they share actors.  So speakers carry a
*group* (``hedgewars``, ``codec2``, or the speaker itself) and a group never spans two splits.

Clips -> utterances.  Recorded clips are short (0.5-2 s: one description, one prompt).  Each clip
is read, averaged to mono, resampled once (polyphase) to ``fs``, refused when clipped (more than
0.1 % of samples at full scale) or when Silero VAD finds no speech, trimmed to its speech and
brought to one active level; then a speaker's clips, in a seeded order, are joined with pauses
U(0.15, 0.45) s into utterances of U(3, 6) s, the length of read sentences.  Long recordings
(codec2) are cut at their VAD pauses first.  Everything is a pure function of the seed.

Gender comes from the source's metadata where it has one (the asterisk voices, Festival's voice
descriptions); otherwise from the speaker's median F0 with a safety margin: below 150 Hz male,
165-255 Hz female, else unknown (children, acted voices), which no gender cue uses.

Splits.  Synthesizers and the groups that are one actor in many packs are training data.  The
real-speech dev and test sets are recorded speakers held out by name (:data:`REAL_DEV`,
:data:`REAL_TEST`: two men and two women in test, one of each in dev), so they are disjoint from
training by construction and a test checks it.  (The Spanish tuxpaint volunteer is not among them:
every one of those recordings is clipped, a median 7 % of samples at full scale, and the clip check
drops them all.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tse2.utils.audio import resample
from tse2.utils.datadir import spk2utt_from_utt2spk, write_map

VAD_RATE = 16000  # the rate Silero VAD runs at (it knows 8 and 16 kHz)

VOICES_DIR = "tools/voices"  # where `make -C tools voices` unpacks the Debian packages
NEVER_USED = ("flite", "asterisk-core-sounds-en", "asterisk-core-sounds-es", "asterisk-core-sounds-fr",
              "asterisk-core-sounds-it")

# Recorded speakers held out for the real-speech sets (see the module doc): by name, for good.
REAL_TEST = ("tuxpaint-bg", "tuxpaint-fr", "tuxpaint-el", "tuxpaint-be")
REAL_DEV = ("tuxpaint-da", "tuxpaint-ro")

MIN_CLIP = 0.3  # s of speech after trimming
MIN_UTT = 1.5  # s: shorter assembled utterances are dropped
CLIPPED_SHARE = 0.001  # of samples at |x| >= 0.999
LEVEL_DB = -26.0  # active RMS every clip is brought to before joining


class VoicesError(RuntimeError):
    """A source cannot be read (its package is not there, or a tool is missing)."""


@dataclass(frozen=True)
class Clip:
    source: str
    speaker: str
    lang: str
    path: str
    text: str = ""
    gender: str = ""  # "m"/"f" from metadata; "" = decide from F0
    group: str = ""  # speakers of one group never span two splits ("" = the speaker itself)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "recorded" or "synthesizer"
    packages: Tuple[str, ...]
    licence: str
    reader: Callable[["Roots"], List[Clip]]
    apt_component: str = "main"


@dataclass
class Roots:
    """Where packages are found: ``<voices_dir>/<package>/`` (unpacked by ``make -C tools voices``,
    nothing installed) and then ``/`` (installed with apt)."""

    voices_dir: Optional[Path] = None
    system_root: Path = Path("/")

    def find(self, package: str, rel: str) -> Optional[Path]:
        for base in ([Path(self.voices_dir) / package] if self.voices_dir else []) + [self.system_root]:
            p = base / rel
            if p.exists():
                return p
        return None

    def need(self, source: str, package: str, rel: str) -> Path:
        p = self.find(package, rel)
        if p is None:
            raise VoicesError(f"voices source {source!r} needs the Debian package {package} "
                              f"(run `make -C tools voices`, which unpacks it into {VOICES_DIR}/ without installing; "
                              f"or drop {source} from --voices)")
        return p


# --------------------------------------------------------------------------- recorded sources

_DESC = re.compile(r"^(?P<stamp>.+)_desc_(?P<lang>[a-z]{2,3})\.ogg$")


def stamp_texts(txt: Path) -> Dict[str, str]:
    """A tuxpaint stamp's texts: {lang: text}; the first line is the English one."""
    out: Dict[str, str] = {}
    try:
        lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for k, line in enumerate(lines):
        if k == 0 and "=" not in line:
            out["en"] = line.strip()
            continue
        key, sep, value = line.partition("=")
        if sep and key.endswith(".utf8"):
            lang = key[:-5]
            if re.fullmatch(r"[a-z]{2,3}", lang) and value.strip():
                out[lang] = value.strip()
    return out


def read_tuxpaint(roots: Roots) -> List[Clip]:
    base = roots.need("tuxpaint", "tuxpaint-stamps-default", "usr/share/tuxpaint/stamps")
    clips = []
    for p in sorted(base.rglob("*_desc_*.ogg")):
        m = _DESC.match(p.name)
        if not m:  # e.g. "x_desc_da.ogg.ogg": a packaging slip, not a language
            continue
        lang = m["lang"]
        text = stamp_texts(p.with_name(m["stamp"] + ".txt")).get(lang, "")
        clips.append(Clip("tuxpaint", f"tuxpaint-{lang}", lang, str(p), text=text))
    return clips


def read_asterisk(roots: Roots) -> List[Clip]:
    voices = (("asterisk-core-sounds-ru-wav", "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU", "ru"),
              ("asterisk-prompt-it-menardi-wav", "usr/share/asterisk/sounds/it_IT_f_Menardi", "it"))
    clips = []
    for package, rel, lang in voices:
        base = roots.need("asterisk", package, rel)
        for p in sorted(base.rglob("*.wav")):
            if "silence" in p.parts:
                continue
            clips.append(Clip("asterisk", f"asterisk-{lang}", lang, str(p), gender="f"))
    return clips


HEDGEWARS_LANG = {"Default_es": "es", "Default_pl": "pl", "Default_ru": "ru", "Default_uk": "uk", "Russian_pl": "pl"}


def read_hedgewars(roots: Roots) -> List[Clip]:
    base = roots.need("hedgewars", "hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/voices")
    clips = []
    for p in sorted(base.glob("*/*.ogg")):
        pack = p.parent.name
        if pack == "Robot":
            continue
        clips.append(Clip("hedgewars", f"hedgewars-{pack.lower().replace('_', '')}", HEDGEWARS_LANG.get(pack, "en"),
                          str(p), group="hedgewars"))
    return clips


def read_codec2(roots: Roots) -> List[Clip]:
    base = roots.need("codec2", "codec2-examples", "usr/share/codec2/wav")
    clips = []
    for p in sorted(base.glob("*.wav")):
        if p.stem == "all":  # the others, concatenated
            continue
        clips.append(Clip("codec2", f"codec2-{p.stem.lower().replace('_', '')}", "en", str(p), group="codec2"))
    return clips


# --------------------------------------------------------------------------- Festival

# voice, language, gender (the package's description), text encoding Festival expects
FESTIVAL_VOICES = (
    ("kal_diphone", "en", "m", "latin-1"), ("ked_diphone", "en", "m", "latin-1"),
    ("cmu_us_slt_arctic_hts", "en", "f", "latin-1"), ("upc_ca_ona_hts", "ca", "f", "latin-1"),
    ("czech_dita", "cs", "f", "iso-8859-2"), ("czech_machac", "cs", "m", "iso-8859-2"),
    ("czech_krb", "cs", "", "iso-8859-2"), ("czech_ph", "cs", "m", "iso-8859-2"),
    ("suo_fi_lj_diphone", "fi", "f", "latin-1"), ("hy_fi_mv_diphone", "fi", "m", "latin-1"),
    ("msu_ru_nsh_clunits", "ru", "m", "utf-8"), ("hindi_NSK_diphone", "hi", "m", "utf-8"),
    ("marathi_NSK_diphone", "mr", "m", "utf-8"), ("telugu_NSK_diphone", "te", "m", "utf-8"),
    ("lp_diphone", "it", "f", "latin-1"), ("pc_diphone", "it", "m", "latin-1"),
)


def festival_voices() -> List[Tuple[str, str, str, str]]:
    """The voices of :data:`FESTIVAL_VOICES` that are installed."""
    if shutil.which("text2wave") is None:
        raise VoicesError("voices source 'festival' needs Debian's festival and festvox-* packages "
                          "(`make -C tools voices-festival`; or drop festival from --voices)")
    have = {p.name for p in Path("/usr/share/festival/voices").glob("*/*")}
    return [v for v in FESTIVAL_VOICES if v[0] in have]


def festival_plan(roots: Roots, per_voice: int, seed: int) -> List[Clip]:
    """One clip per utterance to synthesize: 2-4 stamp texts of the voice's language, joined."""
    base = roots.need("festival", "tuxpaint-stamps-default", "usr/share/tuxpaint/stamps")
    texts: Dict[str, List[str]] = {}
    for txt in sorted(base.rglob("*.txt")):
        for lang, t in stamp_texts(txt).items():
            texts.setdefault(lang, []).append(t.rstrip(".") + ".")
    clips = []
    for voice, lang, gender, enc in festival_voices():
        pool = sorted(set(texts.get(lang, [])))
        usable = [t for t in pool if _encodable(t, enc)]
        if len(usable) < 4:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(voice.encode())])
        for k in range(per_voice):
            n = int(rng.integers(2, 5))
            text = " ".join(usable[i] for i in rng.choice(len(usable), size=n, replace=False))
            clips.append(Clip("festival", f"festival-{voice.lower().replace('_', '')}", lang,
                              f"festival:{voice}:{enc}:{k:04d}", text=text, gender=gender))
    return clips


def _encodable(text: str, enc: str) -> bool:
    try:
        text.encode(enc)
        return True
    except UnicodeEncodeError:
        return False


def synthesize_festival(clip: Clip, out: Path) -> Optional[Path]:
    """Runs ``text2wave`` for a planned clip (``path`` = ``festival:<voice>:<encoding>:<k>``);
    None when the voice produced no audio for the text."""
    _, voice, enc, _ = clip.path.split(":")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.wav")
    proc = subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-o", str(tmp)],
                          input=clip.text.encode(enc), capture_output=True, timeout=120)
    if proc.returncode != 0 or not tmp.is_file():
        raise VoicesError(f"festival voice {voice} failed on {clip.text[:40]!r}: {proc.stderr.decode(errors='replace')[-300:]}")
    if tmp.stat().st_size <= 44:  # some voices say nothing for some texts (msu_ru_nsh: a few in four)
        tmp.unlink()
        return None
    tmp.replace(out)
    return out


def synthesize_all(clips: Sequence[Clip], out_dir: Path, nj: int,
                   speak: Callable[[Clip, Path], Optional[Path]] = None, log=print) -> List[Clip]:
    """The planned clips with ``path`` set to their wavs, synthesizing the missing ones with ``nj``
    synthesizer processes at a time (``speak``: Festival's by default; a rerun reuses what is there).

    A voice whose synthesizer fails (an installed but broken voice package, e.g. a Festival voice
    missing one of its own files) is left out with one logged line naming it and the error; the
    corpus is built from the others.  All voices failing is an error."""
    from concurrent.futures import ThreadPoolExecutor

    speak = speak or synthesize_festival
    broken: Dict[str, str] = {}

    def one(cw):
        c, w = cw
        if c.speaker in broken:
            return
        try:
            speak(c, w)
        except VoicesError as exc:
            if c.speaker not in broken:
                broken[c.speaker] = str(exc)
                log(f"voices: {c.speaker} left out, its synthesizer fails: {exc}")

    wavs = [Path(out_dir) / c.speaker / f"{c.path.split(':')[-1]}.wav" for c in clips]
    todo = [(c, w) for c, w in zip(clips, wavs) if not w.is_file()]
    with ThreadPoolExecutor(max_workers=max(1, nj)) as pool:
        list(pool.map(one, todo))
    out = [replace(c, path=str(w)) for c, w in zip(clips, wavs) if w.is_file() and c.speaker not in broken]
    if clips and not out:
        raise VoicesError(f"every voice failed to synthesize under {out_dir}: " + "; ".join(
            f"{k}: {v}" for k, v in sorted(broken.items())[:3]))
    return out


# --------------------------------------------------------------------------- MBROLA

# Per-utterance prosody of an MBROLA clip, drawn uniformly: espeak's rate (words/min), base pitch
# and pitch range (0..99).  A diphone voice has one recorded speaker's timbre; varying the prosody
# around it gives the separator many pitch tracks per timbre, as a real talker has across sentences.
MBROLA_PROSODY = {"rate": (135, 195), "pitch": (35, 65), "pitch_range": (30, 75)}


def mbrola_voices(roots: Roots) -> List[Tuple[str, str, str]]:
    """(voice, language, gender) of the MBROLA voices that are installed and in the voice table
    (:data:`tse2.corpus.mbrola.MBROLA_VOICES`; every one is a training voice here: the separator's
    real-speech sets are recorded speakers, never a synthesizer)."""
    from tse2.corpus.mbrola import MBROLA_VOICES, MbrolaMissing, mbrola_paths

    if roots.voices_dir is None:
        raise VoicesError("voices source 'mbrola' needs --voices_dir (where `make -C tools voices-mbrola` unpacked "
                          "the MBROLA voices)")
    try:
        data, _ = mbrola_paths(Path(roots.voices_dir))
    except MbrolaMissing as exc:
        raise VoicesError(f"voices source 'mbrola': {exc}") from None
    have = {p.name for p in (data / "espeak-ng-data" / "mbrola").iterdir()}
    return [(v, lang, g) for v, (lang, g, _) in sorted(MBROLA_VOICES.items()) if v in have]


def mbrola_plan(roots: Roots, per_voice: int, seed: int) -> List[Clip]:
    """One clip per utterance to synthesize: one or two stamp texts of the voice's language
    (:func:`stamp_sentences`), with a seeded prosody (:data:`MBROLA_PROSODY`)
    written into the clip's path, ``mbrola:<voice>:<rate>:<pitch>:<range>:<k>``."""
    voices = mbrola_voices(roots)
    texts = stamp_sentences(Path(roots.voices_dir), sorted({lang for _, lang, _ in voices}), per_lang=200)
    clips = []
    for voice, lang, gender in voices:
        pool = texts.get(lang, [])
        if len(pool) < 4:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(voice.encode()), 3])
        for k in range(per_voice):
            n = int(rng.integers(1, 3))
            text = " ".join(pool[int(i)] for i in rng.choice(len(pool), size=n, replace=False))
            rate, pitch, prange = (int(rng.integers(lo, hi + 1)) for lo, hi in MBROLA_PROSODY.values())
            clips.append(Clip("mbrola", f"mbrola-{voice}", lang, f"mbrola:{voice}:{rate}:{pitch}:{prange}:{k:04d}",
                              text=text, gender=gender))
    return clips


class MbrolaSpeaker:
    """Renders :func:`mbrola_plan` clips to wavs (level-calibrated by
    :class:`tse2.corpus.mbrola.MbrolaRenderer`); a clip MBROLA cannot finish is skipped (None)."""

    def __init__(self, roots: Roots, fs: int) -> None:
        from tse2.corpus.mbrola import MbrolaRenderer, mbrola_synth

        self.fs = fs
        self.render = MbrolaRenderer(mbrola_synth(Path(roots.voices_dir)), fs)

    def __call__(self, clip: Clip, out: Path) -> Optional[Path]:
        from types import SimpleNamespace

        from tse2.utils.fileio import write_wav

        _, voice, rate, pitch, prange, k = clip.path.split(":")
        u = SimpleNamespace(voice=f"mb-{voice}", rate=int(rate), pitch=int(pitch), pitch_range=int(prange), volume=100)
        try:
            audio = self.render(u, clip.text, seed=int(k)).audio
        except RuntimeError:  # MBROLA gave no complete audio for this text in its tries
            return None
        out.parent.mkdir(parents=True, exist_ok=True)
        write_wav(out, audio, self.fs)  # atomic: a rerun never reads half a file
        return out


SOURCES: Dict[str, Source] = {
    "tuxpaint": Source("tuxpaint", "recorded", ("tuxpaint-stamps-default",), "GPL-2", read_tuxpaint),
    "asterisk": Source("asterisk", "recorded", ("asterisk-core-sounds-ru-wav", "asterisk-prompt-it-menardi-wav"),
                       "CC-BY-SA-3.0 (ru), GPL / CC-BY-SA (it)", read_asterisk),
    "hedgewars": Source("hedgewars", "recorded", ("hedgewars-data",), "GPL-2 / CC-BY-SA-3.0", read_hedgewars),
    "codec2": Source("codec2", "recorded", ("codec2-examples",), "LGPL-2.1", read_codec2),
    "festival": Source("festival", "synthesizer", ("festival",) + tuple(
        "festvox-" + p for p in ("kallpc16k", "kdlpc16k", "us-slt-hts", "ca-ona-hts", "czech-dita", "czech-krb",
                                 "czech-machac", "czech-ph", "suopuhe-lj", "suopuhe-mv", "ru", "hi-nsk", "mr-nsk",
                                 "te-nsk", "italp16k", "itapc16k")),
                       "Festival: MIT-style; voices: free licences per package (see /usr/share/doc/festvox-*)",
                       lambda roots: []),  # planned by festival_plan (it synthesizes)
    "mbrola": Source("mbrola", "synthesizer", ("mbrola", "espeak-ng-mbrola"),
                     "MBROLA voices: non-commercial, non-military use only (so is a model trained on them)",
                     lambda roots: [], apt_component="contrib/non-free"),  # planned by mbrola_plan
}
RECORDED = tuple(n for n, s in SOURCES.items() if s.kind == "recorded")


# the recipe's sentence lists cover en/fr/de/es; the other languages read tuxpaint's stamp texts
STAMP_LANG = {"it": "it", "nl": "nl", "pt": "pt", "pt-br": "pt", "ro": "ro", "sv": "sv", "pl": "pl",
              "cs": "cs", "hu": "hu", "el": "el", "tr": "tr"}


def stamp_sentences(voices_dir: Path, langs: Sequence[str], per_lang: int = 60) -> Dict[str, List[str]]:
    """Sentences for the MBROLA voices whose language the recipe's lists lack: tuxpaint's spoken
    stamp descriptions (``tuxpaint-stamps-default``, installed by ``make -C tools``), 5-16 words,
    letters and plain punctuation only (no digits, quotes, symbols or ellipses: they break espeak's
    word events), the first ``per_lang`` in a fixed hash order."""
    import re
    import zlib

    from tse2.corpus.mbrola import MbrolaMissing

    root = Path(voices_dir) / "tuxpaint-stamps-default" / "usr/share/tuxpaint/stamps"
    if not root.is_dir():
        root = Path("/usr/share/tuxpaint/stamps")
    if not root.is_dir():
        raise MbrolaMissing("the MBROLA voices of other languages read tuxpaint's stamp texts: "
                            "run `make -C tools` (it unpacks tuxpaint-stamps-default)")
    texts: Dict[str, set] = {lang: set() for lang in langs}
    for txt in sorted(root.rglob("*.txt")):
        found = stamp_texts(txt)
        for lang in langs:
            t = " ".join(found.get(STAMP_LANG.get(lang, lang), "").replace("...", " ").replace("…", " ").split())
            t = re.sub(r"^[\W_]+", "", t)  # a leading dash or quote: MBROLA loses its way on some
            # words and plain punctuation only: quotes and symbols break espeak's word events
            if 5 <= len(t.split()) <= 16 and re.fullmatch(r"[^\W\d_][^\W\d_ ,.!?;:'’-]*(?:[ ,.!?;:'’-]+[^\W\d_]*)*", t):
                texts[lang].add(t)
    out = {}
    for lang in langs:
        pick = sorted(texts[lang], key=lambda t: zlib.crc32(t.encode("utf-8")))[:per_lang]
        if len(pick) < 13:
            raise ValueError(f"tuxpaint has only {len(pick)} usable {lang} sentences")
        out[lang] = pick
    return out


# --------------------------------------------------------------------------- clips to utterances


@dataclass
class Piece:
    """A clip read, checked and trimmed: float32 at ``fs``, active level :data:`LEVEL_DB`."""

    clip: Clip
    audio: np.ndarray


@dataclass
class Utterance:
    utt: str
    speaker: str
    source: str
    lang: str
    group: str
    text: str
    pieces: List[str] = field(default_factory=list)  # clip paths, in order
    audio: Optional[np.ndarray] = None
    gender: str = ""


def read_clip(path: str, fs: int) -> np.ndarray:
    """Mono float32 at ``fs`` (averaged channels; polyphase resampling once)."""
    import soundfile as sf

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    return resample(audio, rate, fs) if rate != fs else audio.astype(np.float32)


def clean_clip(audio: np.ndarray, fs: int, vad) -> Tuple[Optional[np.ndarray], str]:
    """(trimmed audio at the common level, "") or (None, why it was dropped)."""
    if audio.size == 0 or not np.all(np.isfinite(audio)):
        return None, "empty or not finite"
    if np.mean(np.abs(audio) >= 0.999) > CLIPPED_SHARE:
        return None, "clipped"
    vad_in = audio if fs == VAD_RATE else resample(audio, fs, VAD_RATE)
    segs = vad(vad_in, VAD_RATE)
    if not segs:
        return None, "no speech"
    start, end = int(segs[0][0] * fs), int(segs[-1][1] * fs)
    if end - start < MIN_CLIP * fs:
        return None, "too short"
    out = audio[start:end].astype(np.float64)
    active = np.concatenate([out[max(0, int(s * fs) - start): max(0, int(e * fs) - start)] for s, e, _ in segs])
    rms = np.sqrt(np.mean(active ** 2)) if active.size else np.sqrt(np.mean(out ** 2))
    if rms <= 1e-6:
        return None, "silent"
    out *= 10 ** (LEVEL_DB / 20) / rms
    peak = np.max(np.abs(out))
    if peak > 0.95:  # a clip with a loud burst: keep its shape, below full scale
        out *= 0.95 / peak
    return out.astype(np.float32), ""


def cut_long(audio: np.ndarray, fs: int, vad, max_len: float = 6.0) -> List[np.ndarray]:
    """A long recording cut at its VAD pauses into pieces of at most ``max_len`` s."""
    if len(audio) <= max_len * fs:
        return [audio]
    segs = vad(audio if fs == VAD_RATE else resample(audio, fs, VAD_RATE), VAD_RATE)
    pieces, cur = [], None
    for s, e, _ in segs:
        s, e = int(s * fs), int(e * fs)
        if cur is not None and e - cur[0] <= max_len * fs:
            cur[1] = e
        else:
            if cur is not None:
                pieces.append(audio[cur[0]: cur[1]])
            cur = [s, min(e, s + int(max_len * fs))]
    if cur is not None:
        pieces.append(audio[cur[0]: cur[1]])
    return pieces


def speaker_gender(f0s: Sequence[float]) -> str:
    """m / f from the median F0 of a speaker's clips with a safety margin; "" when unsure."""
    if not f0s:
        return ""
    med = float(np.median(f0s))
    if med < 150:
        return "m"
    if 165 <= med <= 255:
        return "f"
    return ""


def clip_f0(audio: np.ndarray, fs: int) -> Optional[float]:
    import parselmouth

    pitch = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=fs).to_pitch(pitch_floor=60, pitch_ceiling=500)
    f = pitch.selected_array["frequency"]
    f = f[f > 0]
    return float(np.median(f)) if f.size >= 5 else None


def assemble(pieces: Sequence[Piece], speaker: str, fs: int, seed: int, max_utts: int) -> List[Utterance]:
    """A speaker's pieces, in a seeded order, joined with pauses into utterances of U(3, 6) s."""
    rng = np.random.default_rng([seed, zlib.crc32(speaker.encode())])
    order = rng.permutation(len(pieces))
    utts: List[Utterance] = []
    cur: List[Piece] = []
    target = rng.uniform(3.0, 6.0)

    def flush():
        nonlocal cur, target
        if not cur:
            return
        parts = []
        for k, p in enumerate(cur):
            if k:
                parts.append(np.zeros(int(rng.uniform(0.15, 0.45) * fs), dtype=np.float32))
            parts.append(p.audio)
        audio = np.concatenate(parts)
        if len(audio) >= MIN_UTT * fs:
            c = cur[0].clip
            texts = [p.clip.text for p in cur]
            utts.append(Utterance(f"{speaker}_{len(utts):04d}", speaker, c.source, c.lang, c.group or speaker,
                                  " ".join(texts) if all(texts) else "", [p.clip.path for p in cur], audio))
        cur, target = [], rng.uniform(3.0, 6.0)

    for i in order:
        if len(utts) >= max_utts:
            break
        p = pieces[int(i)]
        length = sum(len(q.audio) for q in cur) + 0.3 * fs * len(cur)
        if cur and length + len(p.audio) > 6.5 * fs:
            flush()
        cur.append(p)
        if sum(len(q.audio) for q in cur) >= target * fs or len(cur) >= 10:
            flush()
    if len(utts) < max_utts:
        flush()
    return utts


def split_of(speaker: str, group: str, kind: str) -> str:
    if kind == "recorded" and group == speaker:
        if speaker in REAL_TEST:
            return "test_real"
        if speaker in REAL_DEV:
            return "dev_real"
    return "train"


# --------------------------------------------------------------------------- the whole build


def select_clips(clips: Sequence[Clip], seed: int, per_speaker: int, splits: Optional[Sequence[str]] = None) -> List[Clip]:
    """At most ``per_speaker`` clips of each speaker, in a seeded order (so that a small corpus
    does not read every file of a large source), of the speakers whose split is in ``splits``."""
    kinds = {n: s.kind for n, s in SOURCES.items()}
    by_spk: Dict[str, List[Clip]] = {}
    for c in clips:
        if splits is None or split_of(c.speaker, c.group or c.speaker, kinds[c.source]) in splits:
            by_spk.setdefault(c.speaker, []).append(c)
    out: List[Clip] = []
    for spk, cs in sorted(by_spk.items()):
        order = np.random.default_rng([seed, zlib.crc32(spk.encode()), 2]).permutation(len(cs))
        out.extend(cs[int(i)] for i in sorted(order[:per_speaker]))
    return out


def build(sources: Sequence[str], roots: Roots, fs: int, seed: int, work_dir: Path, max_utts: int = 120,
          festival_per_voice: int = 60, log=print, nj: int = 2, splits: Optional[Sequence[str]] = None,
          mbrola_per_voice: int = 60) -> List[Utterance]:
    """Reads, cleans and assembles every source (only the speakers of ``splits``: ``train``,
    ``dev_real``, ``test_real``; all by default); returns the utterances (audio attached).  A
    speaker's clips are read up to 8 per utterance wanted."""
    from tse2.attributes.segments import SileroVAD

    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise VoicesError(f"unknown voices source(s) {unknown}; known: {', '.join(SOURCES)} (espeak is the "
                          "embedded corpus itself)")
    vad = SileroVAD()
    by_speaker: Dict[str, List[Piece]] = {}
    dropped: Dict[str, int] = {}
    for name in sources:
        src = SOURCES[name]
        if name == "festival":
            if splits is not None and "train" not in splits:
                continue
            clips = synthesize_all(festival_plan(roots, festival_per_voice, seed), Path(work_dir) / "festival", nj,
                                   log=log)
        elif name == "mbrola":
            if splits is not None and "train" not in splits:
                continue
            clips = synthesize_all(mbrola_plan(roots, mbrola_per_voice, seed), Path(work_dir) / "mbrola", nj,
                                   speak=MbrolaSpeaker(roots, fs), log=log)
        else:
            clips = select_clips(src.reader(roots), seed, 8 * max_utts, splits)
        log(f"voices: {name}: {len(clips)} clips")
        for clip in clips:
            try:
                raw = read_clip(clip.path, fs)
            except Exception as exc:  # a corrupt file in a package: skip it, counted
                dropped[f"{name}: unreadable"] = dropped.get(f"{name}: unreadable", 0) + 1
                log(f"voices: {clip.path}: unreadable ({exc}); skipped")
                continue
            for part in cut_long(raw, fs, vad):
                audio, why = clean_clip(part, fs, vad)
                if audio is None:
                    dropped[f"{name}: {why}"] = dropped.get(f"{name}: {why}", 0) + 1
                    continue
                by_speaker.setdefault(clip.speaker, []).append(Piece(clip, audio))
    for k, v in sorted(dropped.items()):
        log(f"voices: dropped {v} clips ({k})")
    utts: List[Utterance] = []
    genders: Dict[str, str] = {}
    for spk in sorted(by_speaker):
        pieces = by_speaker[spk]
        meta = {p.clip.gender for p in pieces} - {""}
        if meta:
            genders[spk] = meta.pop()
        else:
            rng = np.random.default_rng([seed, zlib.crc32(spk.encode()), 1])
            sample = [pieces[int(i)] for i in rng.permutation(len(pieces))[:20]]
            genders[spk] = speaker_gender([f for f in (clip_f0(p.audio, fs) for p in sample) if f])
        utts.extend(assemble(pieces, spk, fs, seed, max_utts))
    for u in utts:
        u.gender = genders.get(u.speaker, "")
    return utts


def write_corpus(utts: Sequence[Utterance], wav_dir: Path, data_root: Path, fs: int,
                 prefix: str = "voices_") -> Dict[str, Dict[str, float]]:
    """Writes the wavs and one data dir per split (``<prefix>train``, ``dev_real``, ``test_real``)."""
    from tse2.utils.fileio import write_wav

    kinds = {n: s.kind for n, s in SOURCES.items()}
    by_split: Dict[str, List[Utterance]] = {}
    for u in utts:
        split = split_of(u.speaker, u.group, kinds[u.source])
        by_split.setdefault(split, []).append(u)
    groups: Dict[str, set] = {}
    for split, rows in by_split.items():
        for u in rows:
            groups.setdefault(u.group, set()).add(split)
    spread = {g: s for g, s in groups.items() if len(s) > 1}
    if spread:
        raise VoicesError(f"speaker groups span splits: {spread}")
    stats = {}
    for split, rows in sorted(by_split.items()):
        name = prefix + split if split == "train" else split
        d = Path(data_root) / name
        tables: Dict[str, Dict[str, str]] = {k: {} for k in ("wav.scp", "utt2spk", "utt2lang", "utt2source", "utt2dur", "text")}
        genders: Dict[str, str] = {}
        for u in sorted(rows, key=lambda r: r.utt):
            wav = (Path(wav_dir) / u.speaker / f"{u.utt}.wav").resolve()
            if not wav.is_file():
                write_wav(wav, u.audio, fs)
            tables["wav.scp"][u.utt] = str(wav)
            tables["utt2spk"][u.utt] = u.speaker
            tables["utt2lang"][u.utt] = u.lang
            tables["utt2source"][u.utt] = u.source
            tables["utt2dur"][u.utt] = f"{len(u.audio) / fs:.3f}"
            if u.text:
                tables["text"][u.utt] = u.text
            if u.gender:
                genders[u.speaker] = u.gender
        if len(tables["text"]) != len(tables["wav.scp"]):
            tables.pop("text")  # text is all or nothing in a data dir
        for fname, table in tables.items():
            write_map(d / fname, table)
        write_map(d / "spk2utt", spk2utt_from_utt2spk(tables["utt2spk"]))
        write_map(d / "spk2gender", genders)
        stats[name] = {"utterances": len(rows), "speakers": len(set(tables["utt2spk"].values())),
                       "minutes": sum(len(u.audio) for u in rows) / fs / 60}
    return stats


def corpus_table(utts: Sequence[Utterance], fs: int) -> str:
    """Markdown: per source and split, speakers, minutes, languages and the licence."""
    kinds = {n: s.kind for n, s in SOURCES.items()}
    rows: Dict[Tuple[str, str], List[Utterance]] = {}
    for u in utts:
        rows.setdefault((u.source, split_of(u.speaker, u.group, kinds[u.source])), []).append(u)
    lines = ["| source | kind | split | speakers (f/m/?) | utterances | minutes | languages | licence |",
             "|---|---|---|---|---|---|---|---|"]
    for (src, split), us in sorted(rows.items()):
        spks = {u.speaker: u.gender for u in us}
        g = [sum(1 for v in spks.values() if v == x) for x in ("f", "m", "")]
        langs = ", ".join(sorted({u.lang for u in us}))
        lines.append(f"| {src} | {SOURCES[src].kind} | {split} | {len(spks)} ({g[0]}/{g[1]}/{g[2]}) | {len(us)} | "
                     f"{sum(len(u.audio) for u in us) / fs / 60:.1f} | {langs} | {SOURCES[src].licence} |")
    return "\n".join(lines) + "\n"


def parse_sources(text: str) -> List[str]:
    """``"espeak,recorded,festival"`` → the voices sources (``recorded`` = every recorded one;
    ``espeak`` is the embedded corpus and is not read here)."""
    out: List[str] = []
    for tok in re.split(r"[,\s]+", text.strip()):
        if not tok or tok == "espeak":
            continue
        names = RECORDED if tok == "recorded" else (tok,)
        for n in names:
            if n in NEVER_USED or tok in NEVER_USED:
                raise VoicesError(f"{tok}: never used in tse2 corpora (kept as an independent check)")
            if n not in SOURCES:
                raise VoicesError(f"unknown voices source {tok!r}; known: espeak, recorded, {', '.join(SOURCES)}")
            if n not in out:
                out.append(n)
    return out


def speakers_by_split(data_root: Path, names: Iterable[str]) -> Mapping[str, set]:
    """{data dir name: its speakers} (read back from utt2spk, for the disjointness check)."""
    from tse2.utils.datadir import read_map

    return {n: set(read_map(Path(data_root) / n / "utt2spk").values()) for n in names}
