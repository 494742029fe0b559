"""The package's shape: folders by concern with a face, no import cycles (counting imports
inside functions and under TYPE_CHECKING, so none can be hidden), no private names
imported across modules, few top-level files."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "assistant"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, tree: ast.Module, known: set[str]) -> list[tuple[str, list[str]]]:
    """Every package module `name` imports, anywhere in the file, with the names taken."""
    out = []
    package = name if name in known and any(k.startswith(name + ".") for k in known) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            if not base.startswith("assistant"):
                continue
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{base}.{alias.name}"
                out.append((sub, []) if sub in known else (base, [alias.name]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("assistant.")]
    return [(m, n) for m, n in out if m in known]


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: {m for m, _ in imports(name, tree, known) if m != name} for name, tree in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def folder(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_module_imports_another_in_a_cycle() -> None:
    # A package face (`__init__`) re-exports its own folder, so edges into faces are
    # followed to the modules they name: the graph is of modules, not faces.
    assert cycles(graph()) == []


def test_no_two_folders_import_each_other() -> None:
    edges: dict[str, set[str]] = {}
    for src, targets in graph().items():
        if src == "assistant":  # the package face re-exports from every folder
            continue
        edges.setdefault(folder(src), set()).update(folder(t) for t in targets if folder(t) != folder(src))
    assert cycles(edges) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_is_imported_from_another_module() -> None:
    mods = modules()
    known = set(mods)
    private = [(name, m, n) for name, tree in mods.items() for m, names in imports(name, tree, known)
               for n in names if n.startswith("_")]
    assert private == []


def test_each_folder_has_a_face_that_only_re_exports() -> None:
    folders = [p for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert folders
    for f in folders:
        face = f / "__init__.py"
        assert face.exists(), f"{f.name}/ has no __init__.py"
        tree = ast.parse(face.read_text(encoding="utf-8"))
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
                   for n in body), f"{f.name}/__init__.py has no __all__"
        for n in body:
            assert isinstance(n, (ast.ImportFrom, ast.Import, ast.Assign)), \
                f"{f.name}/__init__.py holds code (line {n.lineno}): a face only re-exports"


def test_the_top_of_the_package_holds_few_files() -> None:
    top = [p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix == ".py"]
    assert len(top) <= 12, top


def test_every_folder_is_a_package_the_wheel_ships() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {"assistant." + p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= listed, f"pyproject.toml [tool.setuptools] packages lacks {sorted(folders - listed)}"
