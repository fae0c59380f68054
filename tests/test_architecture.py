"""The shape of codegen/: its import graph has no circle, and no private name crosses a package.

The graph is read from the source with `ast`, not by importing: every import statement
counts, at module level or inside a function, a package's __init__ importing its own
submodules included.  `from pkg import name` is an edge to the submodule pkg.name when
there is one, else to pkg.  Relative imports are resolved.  Run this file as a script to
print the graph's summary (`python3 tests/test_architecture.py`).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

CODEGEN = Path(__file__).resolve().parent.parent / "codegen"

# The top of the house (DESIGN.md): they build, measure and verify generated projects and
# import the pipeline; nothing in the pipeline imports them.
TOP = ("codegen.cli", "codegen.__main__", "codegen.generate", "codegen.verify",
       "codegen.footprint", "codegen.toolchain", "codegen.multi")


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under `root` (a package named root.name)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    return module if is_package(modules[module]) else module.rpartition(".")[0]


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every import of our modules in
    `module`.  The name is '' for `import x.y` and for a submodule `from x import y`."""
    tree = ast.parse(modules[module].read_text(), str(modules[module]))
    pkg = package_of(module, modules)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known(alias.name, modules)
                if target:
                    found.append((target, "", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = pkg.split(".")
                if node.level > 1:
                    base_parts = base_parts[:-(node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    found.append((sub, "", node.lineno))
                else:
                    target = _known(base, modules)
                    if target:
                        found.append((target, "" if alias.name == "*" else alias.name,
                                      node.lineno))
    return found


def import_graph(root: Path = CODEGEN) -> dict[str, set[str]]:
    """module -> the modules of `root` it imports (a module's import of itself is dropped)."""
    modules = module_names(root)
    return {m: {t for t, _, _ in imports_of(m, modules) if t != m} for m in modules}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as [a, b, ..., a], or None when there is none (iterative DFS)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    for start in sorted(graph):
        if color[start] != WHITE:
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        color[start] = GREY
        while stack:
            node, children = stack[-1]
            for child in children:
                state = color.get(child, WHITE)
                if state == GREY:
                    return path[path.index(child):] + [child]
                if state == WHITE:
                    color[child] = GREY
                    path.append(child)
                    stack.append((child, iter(sorted(graph.get(child, ())))))
                    break
            else:
                color[node] = BLACK
                stack.pop()
                path.pop()
    return None


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (each holds a circle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(n: str) -> None:
        index[n] = low[n] = len(index)
        stack.append(n)
        on_stack.add(n)
        for c in sorted(graph.get(n, ())):
            if c not in index:
                visit(c)
                low[n] = min(low[n], low[c])
            elif c in on_stack:
                low[n] = min(low[n], index[c])
        if low[n] == index[n]:
            group = []
            while True:
                c = stack.pop()
                on_stack.discard(c)
                group.append(c)
                if c == n:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for n in sorted(graph):
        if n not in index:
            visit(n)
    return sorted(groups)


def private_imports(root: Path = CODEGEN) -> list[str]:
    """`from x import _name` (or `module._name` on an imported module) where x is in
    another package than the importer."""
    modules = module_names(root)
    bad = []
    for m, path in modules.items():
        pkg = package_of(m, modules)
        imported_modules = {}     # local name -> module, for attribute access
        tree = ast.parse(path.read_text(), str(path))
        for target, name, line in imports_of(m, modules):
            other = package_of(target, modules) != pkg
            if other and name.startswith("_") and not name.startswith("__"):
                bad.append(f"{path.relative_to(root.parent)}:{line}: {name} from {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    if sub in modules:
                        imported_modules[alias.asname or alias.name] = sub
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in modules:
                        imported_modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and package_of(imported_modules[node.value.id], modules) != pkg):
                bad.append(f"{path.relative_to(root.parent)}:{node.lineno}: "
                           f"{node.value.id}.{node.attr} of {imported_modules[node.value.id]}")
    return bad


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports from the pipeline up into the toolchain / verify / generate / CLI layer."""
    def top(m: str) -> bool:
        return any(m == t or m.startswith(t + ".") for t in TOP)
    return [f"{m} -> {t}" for m, ts in sorted(graph.items()) if not top(m)
            for t in sorted(ts) if top(t)]


# ---------------------------------------------------------------- the checker itself
def test_find_cycle_on_synthetic_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None  # diamond
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    cycle = find_cycle({"x": {"y"}, "y": {"z"}, "z": {"w", "y"}, "w": set()})
    assert cycle == ["y", "z", "y"]
    assert circles({"x": {"y"}, "y": {"z"}, "z": {"w", "y"}, "w": set()}) == [["y", "z"]]
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}}) == \
        [["a", "b"], ["c", "d", "e"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    # an edge to a node outside the graph's keys is a leaf
    assert find_cycle({"a": {"outside"}}) is None


def test_graph_reader_sees_function_local_relative_and_submodule_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg import a\n")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n    return b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import a\nfrom pkg.sub.c import _hidden\n")
    (pkg / "sub" / "c.py").write_text("import pkg.a\n_hidden = 1\n")
    graph = import_graph(pkg)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub.b"}, "pkg.sub": set(),
                     "pkg.sub.b": {"pkg.a", "pkg.sub.c"}, "pkg.sub.c": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    assert private_imports(pkg) == []            # _hidden stays inside pkg.sub
    (pkg / "a.py").write_text("from pkg.sub.c import _hidden\nimport pkg.sub.c as c\n"
                              "x = c._hidden\n")
    assert private_imports(pkg) == ["pkg/a.py:1: _hidden from pkg.sub.c",
                                    "pkg/a.py:3: c._hidden of pkg.sub.c"]


# ---------------------------------------------------------------- codegen/
def test_codegen_imports_have_no_circle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, ("import circle in codegen/: " + " -> ".join(cycle) +
                           f"\nall modules in circles: {circles(graph)}")


# Known exceptions (none now): the test fails if an entry is no longer needed.
PENDING_PRIVATE: list[str] = []


def test_no_private_name_crosses_a_package():
    found = private_imports()
    assert [p for p in found if p not in PENDING_PRIVATE] == []
    assert [p for p in PENDING_PRIVATE if p not in found] == [], "fixed: drop from PENDING_PRIVATE"


def test_pipeline_does_not_import_the_toolchain_layer():
    assert upward_imports(import_graph()) == []


if __name__ == "__main__":
    g = import_graph()
    print(f"{len(g)} modules, {sum(len(v) for v in g.values())} import edges")
    print("cycle:", " -> ".join(find_cycle(g) or ["none"]))
    print("modules in circles:", circles(g) or "none")
    print("private names across packages:", private_imports() or "none")
    print("pipeline -> top imports:", upward_imports(g) or "none")
    if "-v" in sys.argv:
        for m in sorted(g):
            print(f"  {m}: {', '.join(sorted(g[m]))}")
