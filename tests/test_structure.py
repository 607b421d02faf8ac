"""The package's shape, as issue-level promises that code review alone would let slip:
no import cycle between its modules; one start-up path from a test to a running NF
(session.NfSession), one record identity block (schema.identity), one place that
touches pytest-benchmark's internals (benchrecord) and one table of modes (the C
runtime's, loaded by modes.py) - no second copy of any anywhere in the package; and
network namespaces only inside the veth testbed."""

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


def dict_keys(path: Path) -> list[set[str]]:
    """The string keys of every dict literal in `path`, one set per literal."""
    return [{k.value for k in node.keys if isinstance(k, ast.Constant)
             and isinstance(k.value, str)}
            for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Dict)]


IDENTITY = {"nf", "nf_params", "attach", "bind", "mode", "traffic_class"}


def identity_blocks() -> dict[str, int]:
    """Where the package builds a record's identity: a dict literal with most of its keys."""
    out: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        n = sum(len(keys & IDENTITY) >= 4 for keys in dict_keys(path))
        if n:
            out[module_name(path)] = n
    return out


def test_one_identity_block_for_every_record_kind() -> None:
    """schema.identity is the one block; each kind's record calls it (throughput in
    results, latency in latency_run, transactions in local)."""
    assert identity_blocks() == {"pytest_xdpperf.schema": 1}
    assert constructions("identity") == {"pytest_xdpperf.results": 1,
                                         "pytest_xdpperf.latency_run": 1,
                                         "pytest_xdpperf.local": 1}


def test_the_identity_finder_finds_a_second_block(tmp_path: Path) -> None:
    copy = tmp_path / "copy.py"
    copy.write_text('record = {"nf": 1, "nf_params": {}, "mode": "xdp", "attach": "n"}\n')
    assert sum(len(keys & IDENTITY) >= 4 for keys in dict_keys(copy)) == 1


def attribute_uses(name: str) -> dict[str, int]:
    """Where in the package `<expr>.name` is used (module -> count)."""
    out: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        n = sum(isinstance(node, ast.Attribute) and node.attr == name
                for node in ast.walk(ast.parse(path.read_text())))
        if n:
            out[module_name(path)] = n
    return out


def test_pytest_benchmark_internals_in_one_module() -> None:
    for internal in ("_make_stats", "_mode"):
        assert set(attribute_uses(internal)) == {"pytest_xdpperf.benchrecord"}, internal


def test_one_table_of_modes() -> None:
    """The six modes' names are the C runtime's (modes.py loads them): no Python module
    writes two of them as string constants, as a second table would."""
    names = {"xdp", "xdp-sk", "xdp-sk-sysc", "af_xdp", "af_xdp-sysc", "af_xdp-poll"}
    found = {}
    for path in PACKAGE.rglob("*.py"):
        constants = {node.value for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.Constant) and node.value in names}
        if len(constants) >= 2:
            found[module_name(path)] = sorted(constants)
    assert found == {}, found


# the veth testbed (and its namespaces' leftovers: the run note, cleanup, the names)
VETH = {"pytest_xdpperf.testbed.veth", "pytest_xdpperf.testbed.netns_host",
        "pytest_xdpperf.testbed.netns", "pytest_xdpperf.cleanup", "pytest_xdpperf.runfile",
        "pytest_xdpperf.naming"}


def test_namespaces_only_inside_the_veth_testbed() -> None:
    """No module outside the veth testbed reads a host's namespace or enters one: the
    rest of the framework works on a host through testbed.base.Host's methods."""
    assert set(attribute_uses("netns")) <= VETH, attribute_uses("netns")
    importers = {name for name, targets in graph().items()
                 if "pytest_xdpperf.testbed.netns" in targets
                 or "pytest_xdpperf.testbed.netns_host" in targets}
    assert importers <= VETH, importers
