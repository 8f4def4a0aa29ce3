"""The package's layers: no module imports from a layer above its own, and no import circle.

Every import counts, the ones inside functions too (they are how a lower layer reached upward
before).  The layers, lowest first, are the README's system x layer map."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from conftest import ROOT

LAYERS = [
    {"utils"},
    {"cues", "systems"},  # prompt vocabulary and parsing; the registry of extraction systems
    {"attributes"},  # measuring cues on audio
    {"corpus"},  # making data
    {"simulation"},  # mixing it (and the remix tasks)
    {"models"},
    {"tasks"},  # ESPnet tasks: training
    {"scoring", "examples"},
    {"manifest"},
    {"release", "packing"},  # model dirs
    {"inference"},  # runtimes
    {"extractor"},
    {"bin"},  # command-line tools and recipe stages
]
LEVEL = {name: k for k, names in enumerate(LAYERS) for name in names}


def _modules():
    pkg = ROOT / "tse2"
    out = {}
    for f in sorted(pkg.rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _graph():
    mods = _modules()

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    edges = defaultdict(set)
    for mod, f in mods.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("tse2"):
                targets = [resolve(f"{node.module}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.startswith("tse2")]
            else:
                continue
            for t in targets:
                if t and t != mod and not mod.startswith(t + "."):  # a package's own __init__ is not an edge
                    edges[mod].add((t, node.lineno))
    return mods, edges


def _layer(mod: str) -> str:
    return mod.split(".")[1] if "." in mod else ""


def test_no_module_imports_from_a_layer_above_it():
    mods, edges = _graph()
    unknown = sorted({_layer(m) for m in mods if _layer(m) and _layer(m) not in LEVEL})
    assert not unknown, f"tse2/{unknown[0]}: not in the layer map (add it to LAYERS and the README's map)"
    upward = [f"{mods[m].relative_to(ROOT)}:{line} imports {t}"
              for m in sorted(edges) for t, line in sorted(edges[m])
              if _layer(m) and _layer(t) and LEVEL[_layer(t)] > LEVEL[_layer(m)]]
    assert not upward, "imports from a layer above:\n" + "\n".join(upward)


def test_no_import_circle():
    mods, edges = _graph()
    graph = {m: {t for t, _ in edges[m]} for m in mods}
    state, stack, circles = {}, [], []

    def visit(m):  # depth-first: a module reached again while on the stack closes a circle
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                circles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(mods):
        if m not in state:
            visit(m)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_map_catches_an_upward_import(tmp_path, monkeypatch):
    """The check itself: a corpus module that imports a runtime is reported."""
    import test_layers as me

    fake = dict(_modules())
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from tse2.inference.remix import Remixer\n")
    fake["tse2.corpus.bad"] = bad
    monkeypatch.setattr(me, "_modules", lambda: fake)
    mods, edges = me._graph()
    assert ("tse2.inference.remix", 2) in edges["tse2.corpus.bad"]
    assert LEVEL["inference"] > LEVEL["corpus"]


def test_every_layer_in_the_map_exists_and_the_readme_shows_them():
    assert all((ROOT / "tse2" / n).is_dir() or (ROOT / "tse2" / f"{n}.py").is_file() for names in LAYERS for n in names)
    readme = Path(ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for names in LAYERS for n in names if f"`{n}" not in readme]
    assert not missing, f"README.md's system x layer map does not name {missing}"
