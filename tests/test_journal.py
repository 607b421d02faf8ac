"""The journal: every trial on disk as it ends, read back after a crash (torn last
line), and `xdpperf import` turning it into pytest-benchmark records. No root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from records import bench, write

from pytest_xdpperf.cli import main
from pytest_xdpperf.compare import compare
from pytest_xdpperf.history import load_all, load_record
from pytest_xdpperf.journal import Journal, read, sessions, to_records

T = "testsuites/test_macswap.py::test_macswap_drop[xdp]"
U = "testsuites/test_macswap.py::test_macswap_drop[af_xdp]"


def trial(rate: float) -> dict:
    return {"nf": "macswap[action=drop]", "mode": "xdp", "phase": "search",
            "intended_pps": rate, "offered": int(rate), "forwarded": int(rate)}


def a_session(path: Path) -> Journal:
    """T measured to the end; U killed mid-search after two trials."""
    j = Journal(path)
    j.write("trial", T, trial(1e6))
    j.write("measurement", T, bench(T, [1.0e6, 1.1e6])["extra_info"])
    j.write("trial", U, trial(2e5))
    j.write("trial", U, trial(3e5))
    return j


def test_a_journal_cut_mid_line_imports(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "j" / "journal.jsonl"
    a_session(path)
    with open(path, "a") as f:
        f.write('{"time": 1, "kind": "trial", "test": "x", "intend')  # killed mid-write
    assert read(path).torn == 1 and len(read(path).lines) == 4
    assert main(["import", str(path), "-o", str(tmp_path / "r.json")]) == 0
    assert "1 finished and 1 unfinished" in capsys.readouterr().out
    doc = json.loads((tmp_path / "r.json").read_text())
    (done,) = doc["benchmarks"]
    assert done["fullname"] == T and done["stats"]["rounds"] == 2
    assert done["stats"]["min"] == pytest.approx(1 / 1.1e6)  # s per packet, as record()
    (open_,) = doc["xdpperf_unmeasured"]
    assert open_["fullname"] == U and open_["extra_info"]["unfinished"] is True
    assert [t["intended_pps"] for t in open_["extra_info"]["trials"]] == [2e5, 3e5]
    record = load_record(tmp_path / "r.json")
    assert record.tests[T].samples_pps == (1.0e6, 1.1e6) and record.tests[U].unfinished


def test_an_unfinished_measurement_is_never_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    a_session(path)
    (tmp_path / "h").mkdir()
    assert main(["import", str(path), "-o", str(tmp_path / "h" / "a-old.json")]) == 0
    doc = json.loads((tmp_path / "h" / "a-old.json").read_text())
    doc["datetime"] = "2026-11-01T00:00:00+00:00"
    (tmp_path / "h" / "a-old.json").write_text(json.dumps(doc))
    write(tmp_path / "h" / "b-new.json", [bench(T, [1.0e6, 1.1e6]), bench(U, [0.1e6])],
          when="2026-11-02T00:00:00+00:00")
    comps = {c.name: c for c in compare(load_all([tmp_path / "h"]))}
    assert comps[U].verdict.kind.startswith("not judged (the baseline is unfinished")
    assert not comps[U].fails(0.0)


def test_sessions_are_apart_and_the_last_is_imported_by_default(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    first = a_session(path)
    second = Journal(path)
    second.write("measurement", U, bench(U, [2.0e6])["extra_info"])
    lines = read(path).lines
    assert sessions(lines) == [first.session, second.session]
    done, open_ = to_records(lines, second.session)
    assert [d["fullname"] for d in done] == [U] and open_ == []
    done, open_ = to_records(lines, first.session)
    assert [d["fullname"] for d in done] == [T] and [o["fullname"] for o in open_] == [U]


def test_bad_journals_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "r.json")]) == 2
    assert "cannot read it" in capsys.readouterr().err
    (tmp_path / "empty.jsonl").write_text("")
    assert main(["import", str(tmp_path / "empty.jsonl"), "-o", str(tmp_path / "r.json")]) == 2
    assert "no journal lines" in capsys.readouterr().err
    a_session(tmp_path / "j.jsonl")
    assert main(["import", str(tmp_path / "j.jsonl"), "-o", str(tmp_path / "r.json"),
                 "--session", "nope"]) == 2
    assert "no session 'nope'" in capsys.readouterr().err


def test_a_full_disk_takes_a_line_back_whole_warns_once_and_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that runs out of space mid-line leaves no part of it (the next line
    would be glued to it and lost too); the run is told once and keeps going."""
    import errno
    import os

    from pytest_xdpperf import journal as journal_mod

    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.write("trial", T, trial(1e6))
    real_write = os.write
    full = {"on": True}

    def half_then_enospc(fd: int, data: bytes | memoryview) -> int:
        if not full["on"]:
            return real_write(fd, data)
        written = real_write(fd, bytes(data[: len(data) // 2]))
        if written == len(data):
            return written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_mod.os, "write", half_then_enospc)
    with pytest.warns(journal_mod.JournalWarning, match="No space left on device") as caught:
        j.write("trial", T, trial(2e6))
        j.write("trial", T, trial(3e6))
    assert len(caught) == 1 and j.lost == 2
    assert "--xdpperf-journal" in str(caught[0].message)
    full["on"] = False  # space again
    j.write("trial", T, trial(4e6))
    got = read(path)
    assert got.torn == 0
    assert [line["intended_pps"] for line in got.lines] == [1e6, 4e6]
