"""The README's import direction, enforced on the source, imports inside functions included:
config, metrics -> data -> ngram | reference | nn -> training, decoding, checkpoint -> report
-> runs -> api -> lab | export | serve -> cli; reference and ngram never import torch; nn
never imports reference; nothing imports cli; the report loads no checkpoint; and no import
cycle between seqlm's modules."""

import ast
import re
from pathlib import Path

import seqlm

SRC = Path(seqlm.__file__).resolve().parent
LEVEL = {"errors": 0, "version": 0, "atomic": 1, "cache": 1, "progress": 1, "config": 1,
         "metrics": 1, "data": 2, "ngram": 3, "reference": 3, "nn": 3,
         "training": 4, "decoding": 4, "checkpoint": 4, "hf_folder": 4,
         "report": 5, "runs": 6, "api": 7,
         "lab": 8, "export": 8, "serve": 9, "cli": 10}


def imports() -> list[tuple[str, str]]:
    """(importing part, imported module) for every import anywhere in seqlm's source:
    `ast.walk` visits the whole tree, so imports inside functions and classes count."""
    found = []
    for path in SRC.rglob("*.py"):
        part = path.relative_to(SRC).parts[0].removesuffix(".py")
        if part in ("__init__", "__main__"):
            continue  # the package's front door and `python -m seqlm` sit above everything
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(part, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert not node.level, f"{path}: write seqlm's imports absolute"
                found.append((part, node.module))
    return found


def test_imports_point_one_way():
    assert set(p for p, _ in imports()) <= set(LEVEL), "a new top-level part needs a level"
    for part, module in imports():
        if module.startswith("seqlm."):
            target = module.split(".")[1]
            assert LEVEL[target] < LEVEL[part] or target == part or (
                LEVEL[target] == LEVEL[part] == 4), f"{part} imports {module}"


def test_the_walk_sees_imports_inside_functions():
    """The cli imports the runs only inside its command functions: those count."""
    assert ("cli", "seqlm.runs.lm") in imports()


def test_the_never_rules():
    for part, module in imports():
        root = module.split(".")[0]
        assert not (part in ("reference", "ngram") and root == "torch"), f"{part}: {module}"
        assert not (part == "nn" and module.startswith("seqlm.reference")), module
        assert part == "cli" or not module.startswith("seqlm.cli"), f"{part}: {module}"
        # the report shows what the runs wrote: it loads no checkpoint
        assert not (part == "report" and module == "seqlm.checkpoint"), module


def module_graph() -> dict[str, set[str]]:
    """seqlm module -> the seqlm modules it imports, at module level or inside functions
    (`from seqlm.a import b` is an edge to `seqlm.a.b` where that is a module, else to
    `seqlm.a`, the package's __init__)."""
    paths = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    graph = {}
    for module, path in paths.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                edges |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in paths
                          else node.module for a in node.names}
        graph[module] = {m for m in edges if m in paths and m != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycles_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_seqlm_modules():
    assert cycles(module_graph()) == []


def package_map() -> set[str]:
    """Modules the README's package map names: `seqlm.a.b`, then bare siblings `c`, `d`."""
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The package", 1)[1].split("\n## ", 1)[0]
    named = set()
    for row in section.splitlines():
        names = re.findall(r"`([\w.]+)`", row.split("|")[1]) if row.startswith("| `") else []
        if names and names[0].startswith("seqlm"):
            parent = names[0].rsplit(".", 1)[0]
            named |= {names[0], *(f"{parent}.{n}" for n in names[1:])}
    return named


def test_the_readme_package_map_matches_the_code():
    modules = {"seqlm." + ".".join(p.relative_to(SRC).with_suffix("").parts)
               for p in SRC.rglob("*.py") if p.stem not in ("__init__", "__main__")}
    packages = {"seqlm." + ".".join(p.parent.relative_to(SRC).parts)
                for p in SRC.rglob("__init__.py") if p.parent != SRC}
    named = package_map()
    assert not named - modules - packages, "the map names modules that do not exist"
    unnamed = {m for m in modules if m not in named and m.rsplit(".", 1)[0] not in named}
    assert not unnamed, f"modules the README's package map leaves out: {sorted(unnamed)}"
