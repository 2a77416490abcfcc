"""The package's import graph: lower layers never import higher ones, no cycles, no UI or export code.

Layers, lowest first (docs/architecture.md): core; image and speech (neither imports the other); the
package root (`resgen/__init__.py`: `resgen.load`, which picks a modality's pipeline); baselines; eval;
train; cli (and `python -m resgen`). Every import counts, also those inside functions, since a lazy import
is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "resgen"
LAYERS = {"core": 0, "image": 1, "speech": 1, "baselines": 3, "eval": 4, "train": 5, "cli": 6}
ROOT_LEVEL = 2      # resgen.load sits above the modalities' pipelines
SIBLINGS_APART = {("image", "speech"), ("speech", "image")}
FORBIDDEN_TOP = {"app", "export", "gradio", "benchmarks", "tests"}
MAX_LINES = 350


def module_name(path: Path, pkg: Path = PKG) -> str:
    parts = path.relative_to(pkg.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, pkg: Path = PKG) -> set[str]:
    """Absolute names of the modules (or packages) this file imports, anywhere in it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path, pkg)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)   # `from pkg import submodule`
    return out


def graph(root: Path = PKG) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    edges = {}
    for name, path in files.items():
        edges[name] = {m for m in imports_of(path, root) if m in known and m != name}
    return edges


def layer(name: str) -> tuple[str, int]:
    parts = name.split(".")
    if len(parts) == 1:
        return "root", ROOT_LEVEL
    if parts[1] == "__main__":
        return "cli", LAYERS["cli"]
    return parts[1], LAYERS.get(parts[1], 99)


def violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in edges.items():
        src_room, src_level = layer(src)
        for dst in targets:
            dst_room, dst_level = layer(dst)
            if dst_level > src_level or (src_room, dst_room) in SIBLINGS_APART:
                bad.append(f"{src} ({src_room}) imports {dst} ({dst_room})")
    return sorted(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_lower_layers_never_import_higher_ones():
    assert violations(graph()) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_nothing_in_resgen_imports_app_export_or_gradio():
    bad = [f"{module_name(p)} imports {m}" for p in PKG.rglob("*.py") for m in imports_of(p)
           if m.split(".")[0] in FORBIDDEN_TOP]
    assert bad == []


def test_every_module_sits_in_a_room():
    loose = [module_name(p) for p in PKG.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert loose == []
    assert {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS)


def test_no_source_file_is_over_the_limit():
    root = PKG.parent
    files = [p for d in ("resgen", "app", "export", "benchmarks") for p in (root / d).rglob("*")
             if p.suffix in (".py", ".sh")] + [root / "app.py"]
    long = {str(p.relative_to(root)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("src, dst, room", [
    ("core/rvq.py", "resgen.speech.audio", "speech"),      # core importing a modality
    ("image/io.py", "resgen.speech.audio", "speech"),      # one modality importing the other
    ("eval/fid.py", "resgen.cli.main", "cli"),             # a lower layer importing the CLI
])
def test_the_check_sees_a_bad_import(tmp_path, src, dst, room):
    """A copy of the package with one bad import added fails the layer check."""
    import shutil
    copy = tmp_path / "resgen"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / src
    target.write_text(target.read_text() + f"\n\ndef _bad():\n    import {dst}\n")
    bad = violations(graph(copy))
    assert any(room in line and src.split("/")[0] in line for line in bad), bad


def test_the_check_sees_a_cycle(tmp_path):
    import shutil
    copy = tmp_path / "resgen"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "core" / "masking.py").write_text((copy / "core" / "masking.py").read_text()
                                              + "\nfrom resgen.core import sampler as _s\n")
    assert any("resgen.core.masking" in c and "resgen.core.sampler" in c for c in cycles(graph(copy)))


def test_the_check_sees_a_ui_import(tmp_path):
    import shutil
    copy = tmp_path / "resgen"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "core" / "trace.py").write_text((copy / "core" / "trace.py").read_text() + "\nimport app.render\n")
    bad = [m for p in copy.rglob("*.py") for m in imports_of(p, copy) if m.split(".")[0] in FORBIDDEN_TOP]
    assert "app.render" in bad
