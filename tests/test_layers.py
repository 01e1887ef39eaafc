"""Imports go one way, down the pipeline, and nothing imports itself around in a circle.

An ast walk of every module of the package, every import counted (those inside functions
too): a module may import the layers below its own, and within its own layer only its
own folder. The families of the hash core import none of each other.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from helpers import ROOT

#: Top to bottom. A name is a top-level module or a subpackage of ``hashscope``; the
#: names on one line are one layer, independent of each other.
LAYERS = [
    ["__main__"],
    ["__init__"],
    ["cli"],
    ["api"],
    ["report", "distributed"],
    ["analysis", "plan", "status"],
    ["hashes", "flows"],
    ["decode"],
    ["capture"],
    ["errors", "columns", "members", "ethertypes", "prefetch", "xxh64", "threads",
     "jit_cache"],
]
#: The shared vocabulary at the bottom is one piece: its modules may import each other.
SHARED = LAYERS[-1]
#: Within the hash core: the families are independent of each other.
FAMILIES = ["hashes.linux", "hashes.freebsd", "hashes.ovs", "hashes.switches"]


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split(".")) if dotted else root
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(root: Path, path: Path) -> set[str]:
    """The hashscope modules ``path`` imports (dotted, without the ``hashscope.`` prefix;
    ``""`` is the package itself)."""
    name = module_name(root, path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "__init__":
        package = []
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.removeprefix("hashscope.") for a in node.names
                    if a.name.startswith("hashscope.")}
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = ".".join(package[: len(package) - node.level + 1])
            target = ".".join(x for x in (base, node.module) if x)
        elif node.module == "hashscope" or (node.module or "").startswith("hashscope."):
            target = node.module.removeprefix("hashscope").lstrip(".")
        else:
            continue
        for alias in node.names:  # from X import a: the module X.a if there is one, else X
            sub = ".".join(x for x in (target, alias.name) if x)
            out.add(sub if is_module(root, sub) else target)
    return out


def layer_of(module: str) -> int:
    head = module.split(".")[0] if module else "__init__"
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module}: in no layer of tests/test_layers.py; add it there")


def graph(root: Path) -> dict[str, set[str]]:
    return {module_name(root, p): imports(root, p) for p in sorted(root.rglob("*.py"))}


def violations(root: Path) -> list[str]:
    """Every import that goes up a layer, across a layer, or between hash families."""
    found = []
    for module, deps in graph(root).items():
        mine = layer_of(module)
        for dep in sorted(deps):
            theirs = layer_of(dep)
            head, dep_head = module.split(".")[0], dep.split(".")[0]
            if theirs < mine:
                found.append(f"{module} imports {dep}, a higher layer")
            elif theirs == mine and head != dep_head and head not in SHARED:
                found.append(f"{module} imports {dep}, beside it in the same layer")
            family = next((f for f in FAMILIES if (module + ".").startswith(f + ".")), None)
            other = next((f for f in FAMILIES if (dep + ".").startswith(f + ".")), None)
            if family and other and family != other:
                found.append(f"{module} imports {dep}, another hash family")
    return found


def cycles(root: Path) -> list[list[str]]:
    """Import cycles between modules (a package's ``__init__`` counts as the package)."""
    g = graph(root)
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(g.get(node, ())):
            if dep not in g or dep == node:
                continue
            if state.get(dep) == 1:
                found.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in g:
        if node not in state:
            visit(node, [node])
    return found


PACKAGE = ROOT / "hashscope"


def test_imports_go_down_the_pipeline():
    assert violations(PACKAGE) == []


def test_no_import_cycle():
    assert cycles(PACKAGE) == []


def test_every_module_has_a_layer():
    for module in graph(PACKAGE):
        layer_of(module)


def test_the_check_fails_when_the_rule_is_broken(tmp_path):
    """The same checks on a copy of the package with a rule broken on purpose."""
    copy = tmp_path / "hashscope"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert violations(copy) == [] and cycles(copy) == []
    with open(copy / "capture" / "pcap.py", "a") as fh:  # the reader reaching up
        fh.write("\nfrom hashscope.analysis.imbalance import imbalance  # noqa\n")
    with open(copy / "hashes" / "ovs" / "flow.py", "a") as fh:  # one family into another
        fh.write("\nfrom ..linux.fast import addr_word  # noqa\n")
    with open(copy / "decode" / "fields.py", "a") as fh:  # a cycle inside one layer
        fh.write("\nfrom . import packets  # noqa\n")
    assert violations(copy) == [
        "capture.pcap imports analysis.imbalance, a higher layer",
        "hashes.ovs.flow imports hashes.linux.fast, another hash family",
    ]
    assert cycles(copy) == [["decode.packets", "decode.fields", "decode.packets"]]
