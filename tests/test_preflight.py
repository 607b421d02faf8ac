"""Preflight errors on a really broken machine (as nobody, a PATH without clang, a
kernel check failing inside pytest) and the checks themselves; each names the problem
and the fix, without a traceback. Bad options, and the machine checks through pytest,
are the matrix of tests/test_bad_input.py.

Errors pytest reports go through a subprocess run of the tiny suite
tests/suites/teardown (its tests need the testbed, so preflight runs); checks
that need a broken machine monkeypatch what the check looks at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from pytest_xdpperf import preflight
from pytest_xdpperf.build import DEFAULT_SOURCES, Builder
from pytest_xdpperf.errors import NfBuildError, XdpperfError
from pytest_xdpperf.testbed.veth import choose_cpus

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "teardown"
BIN = Path(sys.executable).parent
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def run_suite(tmp_path: Path, *args: str, prefix: list[str] = (), env: dict | None = None,
              ) -> subprocess.CompletedProcess[str]:
    argv = [*prefix, sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider",
            "-p", "no:randomly", "-q", "-k", "test_wait", *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "XDPP_INFO": str(tmp_path), **(env or {})})


def assert_plain(result: subprocess.CompletedProcess[str], *needles: str,
                 code: int = USAGE_ERROR) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    for needle in needles:
        assert needle in output, output
    assert "Traceback" not in output, output
    assert "_pytest" not in output and 'File "' not in output, output
    return output


# -- not root ----------------------------------------------------------------

@root_only
def test_pytest_as_nobody(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    result = run_suite(tmp_path, "--xdp-mode", "xdp", prefix=NOBODY)
    assert_plain(result, "xdpperf must run as root", "run it with sudo")


@root_only
def test_cleanup_as_nobody() -> None:
    result = subprocess.run([*NOBODY, str(BIN / "xdpperf"), "cleanup"],
                            capture_output=True, text=True, timeout=30)
    assert_plain(result, "xdpperf: xdpperf must run as root", "run it with sudo", code=2)


def test_check_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 1000)
    with pytest.raises(XdpperfError, match="must run as root") as exc:
        preflight.check_root()
    assert exc.value.fix


# -- CPUs (bad options through pytest: tests/test_bad_input.py) -----------------

def test_choose_cpus_directly() -> None:
    online = sorted(os.sched_getaffinity(0))
    with pytest.raises(XdpperfError, match=r"--xdpperf-dut-cpus asks for CPU 99.*pick CPUs from"):
        choose_cpus(None, (99,))
    if len(online) > 1:
        with pytest.raises(XdpperfError, match="overlap"):
            choose_cpus((online[0],), (online[0],))


@pytest.mark.parametrize("online, tester, dut", [
    ({0, 1}, (0,), (1,)),
    ({0, 1, 2, 3}, (0, 1, 2), (3,)),  # a generator thread on every CPU beyond the DUT's
    ({0}, (0,), (0,)),                # one CPU: shared, with a warning
])
def test_choose_cpus_defaults(monkeypatch: pytest.MonkeyPatch, online: set[int],
                              tester: tuple[int, ...], dut: tuple[int, ...]) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: online)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert choose_cpus(None, None) == (tester, dut)
        # a DUT CPU given: the tester takes the others
        assert choose_cpus(None, (0,)) == (
            tuple(c for c in sorted(online) if c != 0) or (0,), (0,))


def test_check_cpus() -> None:
    with pytest.raises(XdpperfError, match=r"99 CPUs asked for, \d+ available.*fewer"):
        preflight.check_cpus(99)


# -- the toolchain ---------------------------------------------------------------

@root_only
def test_toolchain_missing_in_path(tmp_path: Path) -> None:
    """PATH with make, gcc and pkg-config but no clang."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in preflight.REQUIRED_TOOLS:
        if tool != "clang":
            found = shutil.which(tool)
            assert found, tool
            (bindir / tool).symlink_to(found)
    result = run_suite(tmp_path, "--xdp-mode", "xdp", env={"PATH": str(bindir)})
    output = assert_plain(result, "toolchain missing: clang", "run ci/setup")
    assert "gcc" not in output.split("toolchain missing:")[1].split("(")[0]


@root_only
def test_preflight_runs_only_for_tests_that_will_run(tmp_path: Path) -> None:
    """Tests -m / -k deselected do not need the testbed: a broken machine (no clang
    here; as a normal user, not root) runs a selection without testbed tests."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in preflight.REQUIRED_TOOLS:
        if tool != "clang":
            (bindir / tool).symlink_to(str(shutil.which(tool)))
    env = {"PATH": str(bindir)}
    broken = run_suite(tmp_path, "--xdp-mode", "xdp", env=env)
    assert_plain(broken, "toolchain missing: clang")
    unit = run_suite(tmp_path, "--xdp-mode", "xdp", "-m", "no_such_marker",
                     env=env)
    assert unit.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, unit.stdout + unit.stderr
    assert "toolchain missing" not in unit.stdout + unit.stderr


def test_check_toolchain(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(preflight.shutil, "which",
                        lambda tool: None if tool in ("clang", "pkg-config") else real(tool))
    with pytest.raises(XdpperfError) as exc:
        preflight.check_toolchain()
    assert str(exc.value).startswith("toolchain missing: clang, pkg-config (run ci/setup")


def test_builder_without_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("pytest_xdpperf.build.shutil.which", lambda tool: None)
    with pytest.raises(XdpperfError, match=r"build tools missing: clang, make.*run ci/setup"):
        Builder(build_dir=tmp_path).program("macswap")


# -- network functions -----------------------------------------------------------

def test_unknown_nf() -> None:
    with pytest.raises(XdpperfError) as exc:
        Builder().program("nosuchnf")
    assert exc.value.problem == "unknown network function 'nosuchnf'"
    assert "macswap" in exc.value.fix and "trafficgen" in exc.value.fix


@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang")
def test_unbuildable_nf(tmp_path: Path) -> None:
    sources = tmp_path / "nfs"
    shutil.copytree(DEFAULT_SOURCES, sources)
    kern = sources / "macswap" / "macswap_kern.c"
    kern.write_text(kern.read_text() + "\nint this is not C;\n")
    with pytest.raises(NfBuildError) as exc:
        Builder(sources=sources, build_dir=tmp_path / "build").program("macswap")
    message = str(exc.value)
    assert message.startswith("cannot build macswap:")
    assert exc.value.program == "macswap"
    assert "macswap_kern.c" in message and "error:" in message  # the compiler's own line
    assert "fix the C source of macswap under nfs/" in message


# -- the kernel ------------------------------------------------------------------

def test_kernel_without_btf(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.path.exists
    monkeypatch.setattr(preflight.os.path, "exists",
                        lambda p: False if p == "/sys/kernel/btf/vmlinux" else real(p))
    with pytest.raises(XdpperfError) as exc:
        preflight.check_kernel()
    assert str(exc.value) == ("the kernel exposes no BTF (/sys/kernel/btf/vmlinux) "
                              "(use a kernel built with CONFIG_DEBUG_INFO_BTF)")


def test_kernel_without_bpf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.os.path, "exists", lambda p: False)
    with pytest.raises(XdpperfError, match="no BPF support.*CONFIG_BPF_SYSCALL"):
        preflight.check_kernel()


def test_kernel_without_af_xdp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.os.path, "exists", lambda p: True)
    monkeypatch.setattr(preflight, "_has_af_xdp", lambda: False)
    with pytest.raises(XdpperfError, match="no AF_XDP sockets.*CONFIG_XDP_SOCKETS"):
        preflight.check_kernel()


@root_only
def test_kernel_error_reaches_pytest_plainly(tmp_path: Path) -> None:
    """The same message through pytest, from a kernel check failing in the subprocess."""
    plugin = tmp_path / "nobtf.py"
    plugin.write_text(
        "import os.path\n"
        "_real = os.path.exists\n"
        "os.path.exists = lambda p: False if p == '/sys/kernel/btf/vmlinux' else _real(p)\n"
    )
    result = run_suite(tmp_path, "--xdp-mode", "xdp", "-p", "nobtf",
                       env={"PYTHONPATH": str(tmp_path)})
    assert_plain(result, "the kernel exposes no BTF", "CONFIG_DEBUG_INFO_BTF")
