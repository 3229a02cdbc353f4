"""The README's import direction, enforced on the source: config, metrics -> data -> ngram |
reference | nn -> training, decoding, checkpoint -> experiments -> cli; reference and ngram
never import torch; nn never imports reference; nothing imports cli."""

import ast
import re
from pathlib import Path

import seqlm

SRC = Path(seqlm.__file__).resolve().parent
LEVEL = {"errors": 0, "atomic": 1, "progress": 1, "config": 1, "metrics": 1, "data": 2,
         "ngram": 3, "reference": 3, "nn": 3, "training": 4, "decoding": 4, "checkpoint": 4,
         "hf_folder": 4,
         "report": 5, "runs": 5, "api": 5, "lab": 5, "experiments": 5, "cli": 6}


def imports() -> list[tuple[str, str]]:
    """(importing part, imported module) for every import anywhere in seqlm's source."""
    found = []
    for path in SRC.rglob("*.py"):
        part = path.relative_to(SRC).parts[0].removesuffix(".py")
        if part in ("__init__", "__main__"):
            continue  # the package's front door and `python -m seqlm` sit above everything
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(part, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.append((part, node.module))
    return found


def test_imports_point_one_way():
    assert set(p for p, _ in imports()) <= set(LEVEL), "a new top-level part needs a level"
    for part, module in imports():
        if module.startswith("seqlm."):
            target = module.split(".")[1]
            assert LEVEL[target] < LEVEL[part] or target == part or (
                LEVEL[target] == LEVEL[part] in (4, 5)), f"{part} imports {module}"


def test_the_never_rules():
    for part, module in imports():
        root = module.split(".")[0]
        assert not (part in ("reference", "ngram") and root == "torch"), f"{part}: {module}"
        assert not (part == "nn" and module.startswith("seqlm.reference")), module
        assert part == "cli" or not module.startswith("seqlm.cli"), f"{part}: {module}"


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
