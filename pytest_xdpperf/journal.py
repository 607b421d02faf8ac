"""Every measurement and every trial of an unfinished one, appended to a
JSON-lines file the moment it exists, so a crash, Ctrl-C or kill -9 loses
nothing already measured (pytest-benchmark writes its JSON only at the end)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path | None):
        self.path = path

    def write(self, kind: str, test: str, payload: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": time.time(), "kind": kind, "test": test, **payload},
                          default=str)
        with open(self.path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
