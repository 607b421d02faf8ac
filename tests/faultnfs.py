"""Copies of nfs/ whose macswap misbehaves on purpose, for tests/test_faults.py (run
through --xdpperf-nfs): one never becomes ready, one forwards nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = "int main(int argc, char **argv)\n{\n"
ACTION = "\treturn cfg->action;\n"


def _copy(dest: Path) -> Path:
    nfs = dest / "nfs"
    shutil.copytree(ROOT / "nfs", nfs)
    return nfs


def never_ready(dest: Path) -> list[str]:
    """macswap that describes itself (also with its parameters, which the framework
    checks with `--param ... --describe` before it starts the NF) but, started, waits
    forever before it says ready (a hung NF start-up)."""
    nfs = _copy(dest)
    user = nfs / "macswap" / "macswap_user.c"
    text = user.read_text()
    assert MAIN in text, "macswap_user.c's main() is no longer where it was"
    hang = ("\t{\n\t\tint describe = 0;\n\n"
            "\t\tfor (int i = 1; i < argc; i++)\n"
            "\t\t\tdescribe |= strcmp(argv[i], \"--describe\") == 0;\n"
            "\t\tif (!describe)\n\t\t\tfor (;;)\n\t\t\t\tpause();\n\t}\n")
    user.write_text("#include <string.h>\n#include <unistd.h>\n"
                    + text.replace(MAIN, MAIN + hang, 1))
    return ["--xdpperf-nfs", str(nfs)]


def forwards_nothing(dest: Path) -> list[str]:
    """macswap that drops every frame whatever its action (a DUT that forwards nothing)."""
    nfs = _copy(dest)
    header = nfs / "macswap" / "macswap.h"
    text = header.read_text()
    assert ACTION in text, "macswap.h no longer returns cfg->action"
    header.write_text(text.replace(ACTION, "\t(void)cfg;\n\treturn XDP_DROP;\n", 1))
    return ["--xdpperf-nfs", str(nfs)]
