"""The bundled NF xdpobj: a compiled XDP object that knows nothing of xdpperf (only
linux/bpf.h and bpf/bpf_helpers.h), measured in mode xdp with its verdicts counted
exactly; bad objects are one line each and leave nothing behind; the AF_XDP modes are
refused with xdpobj's note; its text and path parameters are described and checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from leftovers import beyond_testbed, xdp_attached

from pytest_xdpperf.errors import ProgramFailed
from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec, RunningNf, describe, params_of, unsupported_reason
from pytest_xdpperf.params import BadParameter, Param, check
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "xdpobj"
FRAMES = 3000
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")

HEAD = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
LICENSE = 'char _license[] SEC("license") = "GPL";\n'
# two XDP programs: drop everything; drop every other frame and bounce the rest
FOREIGN_C = HEAD + """
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

SEC("xdp")
int drop_all(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int half_tx(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&seen, &key);

	if (!n)
		return XDP_ABORTED;
	return __sync_fetch_and_add(n, 1) & 1 ? XDP_TX : XDP_DROP;
}
""" + LICENSE
# no XDP program at all: a socket filter
NO_XDP_C = HEAD + """
SEC("socket")
int keep_all(struct __sk_buff *skb)
{
	return skb->len;
}
""" + LICENSE


def compiled(folder: Path, name: str, source: str) -> Path:
    """source built as a user builds an XDP object, outside the repository."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.c").write_text(source)
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                               text=True).stdout.strip()
    include = [f"-I/usr/include/{multiarch}"] if multiarch else []
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", *include, "-c",
                    str(folder / f"{name}.c"), "-o", str(folder / f"{name}.o")],
                   check=True, capture_output=True)
    return folder / f"{name}.o"


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("foreign")
    return {"foreign": compiled(folder, "foreign", FOREIGN_C),
            "no_xdp": compiled(folder, "no_xdp", NO_XDP_C)}


# --- no root: the parameter table -----------------------------------------------------------

def test_describe_lists_the_path_and_string_parameters(xdpperf_builder: Any) -> None:
    answer = describe(xdpperf_builder.program("xdpobj"))
    assert answer["params"] == [
        {"name": "obj", "type": "path", "min": 1, "max": 4095, "required": True,
         "default": None,
         "help": "the XDP object file to measure (clang -O2 -g -target bpf)"},
        {"name": "prog", "type": "string", "min": 0, "max": 127, "required": False,
         "default": "", "help": "its XDP program ('' = the first one in the object)"}]
    assert answer["modes"] == ["xdp"]
    assert answer["modes_note"] == \
        "a foreign XDP object has no user-space logic for the AF_XDP modes"


def test_python_checks_a_path_in_one_line(xdpperf_builder: Any, tmp_path: Path,
                                          objects: dict[str, Path]) -> None:
    params = params_of(xdpperf_builder.program("xdpobj"))
    assert [(p.name, p.type, p.required) for p in params] == [
        ("obj", "path", True), ("prog", "string", False)]
    check("xdpobj", params, {"obj": str(objects["foreign"]), "prog": "half_tx"})
    cases = {
        str(tmp_path / "nope.o"): f"xdpobj: obj={tmp_path / 'nope.o'} does not exist "
                                  "(give obj=PATH of an existing file)",
        str(tmp_path): f"xdpobj: obj={tmp_path} is not a file "
                       "(give obj=PATH of an existing file)",
        "x" * 5000: "xdpobj: obj is 5000 bytes, over the limit of 4095 (use a shorter path)",
    }
    for value, text in cases.items():
        with pytest.raises(BadParameter) as bad:
            check("xdpobj", params, {"obj": value})
        assert str(bad.value) == text and "\n" not in str(bad.value)
    with pytest.raises(BadParameter) as bad:
        check("xdpobj", params, {"prog": "half_tx"})
    assert str(bad.value) == ("xdpobj: needs the parameter obj (give obj=PATH: the XDP "
                              "object file to measure (clang -O2 -g -target bpf))")
    with pytest.raises(BadParameter, match="prog is 200 bytes, over the limit of 127"):
        check("xdpobj", params, {"obj": str(objects["foreign"]), "prog": "p" * 200})
    # a string is any text within its length; an unknown type is refused
    assert Param("label", "string", max=8).problem("anything") is None
    with pytest.raises(ValueError, match="unknown type"):
        Param.from_describe({"name": "x", "type": "blob"})


def test_the_nf_refuses_what_python_refuses(xdpperf_builder: Any, tmp_path: Path) -> None:
    """The C parser (before any namespace, exit 2) says the same kinds of problem in
    one line: a missing file, a directory, no obj at all."""
    binary = str(xdpperf_builder.program("xdpobj"))
    base = [binary, "--netns", "", "--ifname", "no-such-if0", "--mode", "xdp"]
    cases = {
        (f"obj={tmp_path / 'nope.o'}",): f"obj '{tmp_path / 'nope.o'}' cannot be read "
                                         "(give obj=PATH of an existing file): "
                                         "No such file or directory",
        (f"obj={tmp_path}",): f"obj '{tmp_path}' is not a file "
                              "(give obj=PATH of an existing file)",
        ("prog=x",): "xdpobj needs --param obj=PATH (the XDP object file to measure "
                     "(clang -O2 -g -target bpf))",
    }
    for params, text in cases.items():
        argv = base + [a for p in params for a in ("--param", p)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 2, result
        assert result.stderr.splitlines() == [f"xdpobj: {text}"], result


def test_af_xdp_modes_are_refused_with_the_note(xdpperf_builder: Any,
                                                objects: dict[str, Path]) -> None:
    binary = xdpperf_builder.program("xdpobj")
    note = "a foreign XDP object has no user-space logic for the AF_XDP modes"
    assert unsupported_reason(binary, MODES["xdp"]) is None
    for mode in ("af_xdp", "xdp-sk"):
        assert unsupported_reason(binary, MODES[mode]) == f"{note} (supports: xdp)"
    result = subprocess.run(
        [str(binary), "--netns", "", "--ifname", "no-such-if0", "--mode", "af_xdp",
         "--param", f"obj={objects['foreign']}"], capture_output=True, text=True,
        timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"xdpobj: xdpobj cannot run in mode af_xdp: {note} (see xdpobj --describe)"]


# --- root: on the testbed ------------------------------------------------------------------

def counted(bed: Any, builder: Any, params: dict[str, str]) -> tuple[dict, dict, int]:
    """Ready line, the NF's counter deltas over FRAMES frames, and the frames sent."""
    with RunningNf(builder.program("xdpobj"), NfSpec("xdpobj", params), MODES["xdp"],
                   bed.dut) as nf, \
            BpfGenerator(builder.program("trafficgen"), bed.tester, bed.dut,
                         TrafficProfile()) as gen:
        bed.prepare_dut_napi()
        before = nf.stats()
        offered = gen.offer(30_000, 0.1)
        time.sleep(0.2)
        after = nf.stats()
        ready = nf.ready
    names = ("rx", "drop", "tx", "pass", "redirect", "aborted")
    return ready, {k: after[k] - before[k] for k in names}, offered.sent


@pytest.mark.integration
@root_only
def test_verdicts_of_a_foreign_program_are_counted_exactly(
        xdpperf_testbed: Any, xdpperf_builder: Any, objects: dict[str, Path]) -> None:
    obj = str(objects["foreign"])
    ready, d, sent = counted(xdpperf_testbed, xdpperf_builder, {"obj": obj})
    assert sent == FRAMES
    # the default: the object's first XDP program, which drops all
    assert ready["nf_info"] == {"obj": obj, "prog": "drop_all", "prog_id": ready["prog_id"],
                                "counted": "at each exit of the program"}
    assert ready["prog_id"] > 0
    assert d == {"rx": FRAMES, "drop": FRAMES, "tx": 0, "pass": 0, "redirect": 0,
                 "aborted": 0}
    ready, d, sent = counted(xdpperf_testbed, xdpperf_builder,
                             {"obj": obj, "prog": "half_tx"})
    assert sent == FRAMES and ready["nf_info"]["prog"] == "half_tx"
    assert d == {"rx": FRAMES, "drop": FRAMES // 2, "tx": FRAMES // 2, "pass": 0,
                 "redirect": 0, "aborted": 0}
    assert beyond_testbed(xdpperf_testbed) == []


@pytest.mark.integration
@root_only
@pytest.mark.parametrize("case", ["no_xdp", "unknown_prog", "not_an_object"])
def test_a_bad_object_is_one_line_and_leaves_nothing(
        xdpperf_testbed: Any, xdpperf_builder: Any, objects: dict[str, Path],
        tmp_path: Path, case: str) -> None:
    junk = tmp_path / "junk.o"
    junk.write_text("not ELF\n")
    params, text = {
        "no_xdp": ({"obj": str(objects["no_xdp"])},
                   f"{objects['no_xdp']} has no XDP program (give it a SEC(\"xdp\") "
                   "function)"),
        "unknown_prog": ({"obj": str(objects["foreign"]), "prog": "half_pass"},
                         f"{objects['foreign']} has no XDP program 'half_pass' (its XDP "
                         "programs: drop_all, half_tx; give prog=NAME or leave it out)"),
        "not_an_object": ({"obj": str(junk)},
                          f"{junk} is not a BPF object libbpf can open: BPF object format "
                          "invalid (build it with clang -O2 -g -target bpf -c)"),
    }[case]
    with pytest.raises(ProgramFailed) as failed:
        RunningNf(xdpperf_builder.program("xdpobj"), NfSpec("xdpobj", params), MODES["xdp"],
                  xdpperf_testbed.dut)
    message = str(failed.value)
    assert text in message, message
    assert "Traceback" not in message and "\n" not in message.strip(), message
    assert not xdp_attached(xdpperf_testbed.dut)
    assert beyond_testbed(xdpperf_testbed) == []


@pytest.mark.integration
@root_only
def test_a_run_through_the_framework_is_recorded(tmp_path: Path,
                                                 objects: dict[str, Path]) -> None:
    """The suite measures the object in mode xdp and records it as nf xdpobj; af_xdp is
    skipped with xdpobj's note."""
    record = tmp_path / "record.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q", "-rs",
         "-p", "no:randomly", "--xdp-mode", "xdp,af_xdp", "--xdpperf-trial-duration", "0.1",
         "--xdpperf-min-load", "100000", "--xdpperf-relative-width", "0.05",
         "--xdpperf-journal", "", f"--benchmark-json={record}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=os.environ | {"XDPP_OBJECT": str(objects["foreign"])})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed, 1 skipped" in result.stdout, result.stdout[-3000:]
    assert "a foreign XDP object has no user-space logic for the AF_XDP modes" in \
        result.stdout, result.stdout[-3000:]
    (bench,) = json.loads(record.read_text())["benchmarks"]
    assert (bench["extra_info"]["nf"], bench["extra_info"]["mode"]) == ("xdpobj", "xdp")
    # measured: frames taken at the highest load (the PDR of a 0.1 s trial can be zero
    # when one scheduling stall overflows the veth ring)
    assert bench["extra_info"]["max_forwarding_rate"]["mean_pps"] > 0
