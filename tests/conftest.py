import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def nemotron(*args, cwd=None, env=None, timeout=600):
    "Run the installed `nemotron` command; returns the CompletedProcess."
    exe = shutil.which("nemotron", path=str(BIN)) or shutil.which("nemotron")
    return subprocess.run([exe, *map(str, args)], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)

@pytest.fixture
def run_nemotron():
    return nemotron
