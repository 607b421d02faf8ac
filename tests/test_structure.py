"""The package's shape, as issue-level promises that code review alone would let slip:
no import cycle between its modules, and one start-up path from a test to a running
NF (session.NfSession) - no second copy of it anywhere in the package."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_xdpperf"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """The package modules `path` imports when it is imported (module level, outside
    `if TYPE_CHECKING:`), resolved to module names."""
    tree = ast.parse(path.read_text())
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                found.add(target)
                for alias in node.names:  # `from . import local` imports a module
                    found.add(f"{target}.{alias.name}")
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("pytest_xdpperf"))
    visit(tree.body)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the package modules importing it runs, including the __init__ of every
    package on the way (importing a.b.c runs a/__init__ and a/b/__init__ first)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for m in runtime_imports(path):
            parts = m.split(".")
            targets.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        out[name] = {m for m in targets if m in modules and m != name}
    return out


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package() -> None:
    edges = graph()
    assert "pytest_xdpperf.runner" in edges and edges["pytest_xdpperf.runner"]
    # packages import their own modules (testbed/__init__ -> testbed.veth): not a cycle
    # of ours unless a module imports back into one that imports it
    found = cycle({k: {m for m in v if not k.startswith(m + ".")} for k, v in edges.items()})
    assert found is None, " -> ".join(found or [])


def constructions(name: str) -> dict[str, int]:
    """Where in the package `name(...)` is called (module -> count)."""
    out: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else \
                    func.attr if isinstance(func, ast.Attribute) else None
                if called == name:
                    out[module_name(path)] = out.get(module_name(path), 0) + 1
    return out


def test_one_start_up_path_from_a_test_to_a_running_nf() -> None:
    """The NF is started, the mode's settings applied and the NAPI pinned for a test in
    session.NfSession alone (local.passing_nf is its local-class half), through the
    testbed (start_nf, mode_settings: the veth testbed's RunningNf and modes.applied)."""
    assert constructions("start_nf") == {"pytest_xdpperf.session": 1,
                                         "pytest_xdpperf.local": 1}
    assert constructions("passing_nf") == {"pytest_xdpperf.session": 1}
    assert constructions("mode_settings") == {"pytest_xdpperf.session": 1}
    assert set(constructions("RunningNf")) == {"pytest_xdpperf.testbed.veth"}
    assert set(constructions("applied")) == {"pytest_xdpperf.testbed.veth"}
    assert set(constructions("NfSpec")) <= {"pytest_xdpperf.session"}
