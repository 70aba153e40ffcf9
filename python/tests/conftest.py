import json
import os
import subprocess
from pathlib import Path

import pytest

import glassbox

IOI_CLEAN = "When Mary and John went to the store, John gave a drink to"
IOI_CORRUPT = "When Mary and John went to the store, Mary gave a drink to"


@pytest.fixture(scope="session")
def ioi():
    return glassbox.load("ioi")


@pytest.fixture(scope="session")
def tiny_lm():
    return glassbox.load("tiny-lm")


@pytest.fixture(scope="session")
def induction():
    return glassbox.load("induction")


def _cli_path():
    # GLASSBOX_CLI, else the build tree's binary: <build>/python/glassbox/__init__.py -> <build>/glassbox.
    p = os.environ.get("GLASSBOX_CLI")
    if p:
        return Path(p)
    return Path(glassbox.__file__).parent.parent.parent / "glassbox"


@pytest.fixture(scope="session")
def cli():
    """cli(*args) runs the glassbox CLI with --json and returns its parsed output
    (what the bindings are checked against). Skips where no CLI was built."""
    exe = _cli_path()
    if not exe.is_file():
        pytest.skip(f"no glassbox CLI at {exe} (build glassbox_cli or set GLASSBOX_CLI)")

    def run(*args):
        r = subprocess.run([str(exe), *map(str, args), "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    return run
