"""Figures that show the shape of the code: lines per package, the largest classes and
files, and import circles between modules (strongly connected parts of the import graph).

    python tools/arch_figures.py [SRC]        # default: src/longform

Imports inside functions and under `if TYPE_CHECKING:` are left out: they do not run at
import time, so they cannot make a circle that breaks loading (they are often how one is
hidden, which is why the count of them is printed too).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, module: str, is_package: bool, everywhere: bool):
    """(submodule, module) pairs imported at module level (not in functions, not under
    TYPE_CHECKING), or `everywhere`."""
    package = module if is_package else module.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and not everywhere:
            continue
        walk = everywhere or isinstance(node, (ast.If, ast.Try))
        for sub in (ast.walk(node) if walk else [node]):
            if isinstance(sub, ast.Import):
                yield from ((alias.name, alias.name) for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    anchor = package.split(".")[: len(package.split(".")) - (sub.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` needs the submodule, not names of pkg/__init__
                for alias in sub.names:
                    yield (f"{base}.{alias.name}", base)


def _deferred_imports(tree: ast.Module) -> int:
    top = {id(n) for n in tree.body}
    return sum(isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in top for n in ast.walk(tree))


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main(root: Path) -> None:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(root, p): p for p in files}
    graph: dict[str, set[str]] = defaultdict(set)
    hidden: dict[str, set[str]] = defaultdict(set)
    lines: dict[str, int] = defaultdict(int)
    deferred = 0
    classes = []
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        package = name.split(".")[1] if name.count(".") >= 1 and path.name != "__init__.py" or name.count(".") > 1 \
            else "(top)"
        lines[package if (root / package).is_dir() else "(top)"] += len(source.splitlines())
        deferred += _deferred_imports(tree)
        for everywhere, edges in ((False, graph), (True, hidden)):
            for submodule, base in _imports(tree, name, path.name == "__init__.py", everywhere):
                target = submodule if submodule in modules else base
                if target in modules and target != name:
                    edges[name].add(target)
        classes += [(n.end_lineno - n.lineno + 1, f"{name}.{n.name}") for n in tree.body if isinstance(n, ast.ClassDef)]
    print("lines per package:")
    for package, count in sorted(lines.items()):
        print(f"  {package:10} {count:6}")
    print(f"  {'total':10} {sum(lines.values()):6}")
    largest = max(files, key=lambda p: len(p.read_text(encoding='utf-8').splitlines()))
    print(f"largest file: {largest.relative_to(root.parent)} ({len(largest.read_text(encoding='utf-8').splitlines())})")
    print("largest classes: " + ", ".join(f"{n} ({size})" for size, n in sorted(classes, reverse=True)[:4]))
    found = circles(graph)
    print(f"import circles at import time: {len(found)}" + "".join(f"\n  {' ⇄ '.join(c)}" for c in found))
    found = [c for c in circles(hidden) if not any(set(c) <= set(f) for f in found)]
    print(f"circles hidden by a deferred import: {len(found)}" + "".join(f"\n  {' ⇄ '.join(c)}" for c in found))
    print(f"imports deferred into functions or TYPE_CHECKING: {deferred}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "src/longform"))
