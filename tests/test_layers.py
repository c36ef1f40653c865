"""The package's layering, read from the source: stage folders import only from the stages above them,
only ``mmm/model/`` imports PyMC/PyTensor/nutpie, and no modules import each other in a cycle.

Function-level imports count as much as module-level ones: a lazy import that runs back up the
flow is still a dependency. ``KNOWN_*`` list accepted exceptions (none today), so the test fails on
any new violation, and also when a listed one is gone (the lists can only shrink).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mmm"
# the flow of the design, top to bottom; "base" holds leaf helpers that import nothing from mmm
STAGES = ("base", "spec", "data", "model", "analysis", "planning", "runs", "report", "api", "cli")
SAMPLER_LIBRARIES = ("pymc", "pytensor", "nutpie")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"  # mmm/__init__.py: the public API (with mmm/api.py)
    if parts[1] in STAGES:
        return parts[1]
    return "base"  # mmm/atomic.py, mmm/storage.py


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(mmm modules, third-party top-level packages) that ``path`` imports anywhere in its body."""
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "mmm" or node.module.startswith("mmm."):  # `from mmm.x import y` may name a module y
                names += [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            (ours if name == "mmm" or name.startswith("mmm.") else theirs).add(name)
    return ours, {name.split(".")[0] for name in theirs}


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges, third_party = {}, {}
    for name, path in modules.items():
        ours, theirs = imports(path)
        edges[name] = {m for m in ours if m in modules and m != name and not name.startswith(m + ".")}
        third_party[name] = theirs
    return edges, third_party


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(tuple(sorted(component)))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def upward_imports(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    rank = {s: i for i, s in enumerate(STAGES)}
    return {(a, b) for a, targets in edges.items() for b in targets
            if stage(b) != "api" and rank[stage(b)] > rank[stage(a)]}


# What the one-model refactor still has to remove (see the module docstring).
KNOWN_SAMPLER_IMPORTS: set[str] = set()
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_CYCLES: list[tuple[str, ...]] = []


def test_stage_folders_exist_and_geo_mirror_is_gone():
    for folder in STAGES:
        if folder not in ("base", "api"):  # leaf helpers and the public API (mmm/__init__.py, mmm/api.py)
            assert (PACKAGE / folder / "__init__.py").is_file(), folder
    assert not (PACKAGE / "geo").exists(), "mmm/geo/ must not come back: one model for 1 or G geos"


def test_only_the_model_stage_imports_the_sampler_libraries():
    _, third_party = graph()
    found = {m for m, libs in third_party.items() if set(libs) & set(SAMPLER_LIBRARIES) and stage(m) != "model"}
    assert found == KNOWN_SAMPLER_IMPORTS, (
        f"new: {sorted(found - KNOWN_SAMPLER_IMPORTS)}; fixed (drop from KNOWN_SAMPLER_IMPORTS): "
        f"{sorted(KNOWN_SAMPLER_IMPORTS - found)}")


def test_no_new_upward_import_between_stages():
    found = upward_imports(graph()[0])
    assert found == KNOWN_UPWARD, (
        f"new: {sorted(found - KNOWN_UPWARD)}; fixed (drop from KNOWN_UPWARD): {sorted(KNOWN_UPWARD - found)}")


def test_no_new_import_cycle():
    found = cycles(graph()[0])
    assert found == KNOWN_CYCLES, f"found {found}, known {KNOWN_CYCLES}"


@pytest.mark.parametrize(("edges", "expected"), [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [("a", "b")]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [("a", "b", "c")]),
])
def test_cycle_finder(edges, expected):
    assert cycles(edges) == expected


def test_upward_import_finder():
    edges = {"mmm.model.x": {"mmm.report.y", "mmm.spec.z"}, "mmm.report.y": {"mmm.model.x"}, "mmm.spec.z": set()}
    assert upward_imports(edges) == {("mmm.model.x", "mmm.report.y")}
