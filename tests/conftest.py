import os, shutil, subprocess, sys, time
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


SLURM_SCRIPT = ROOT / "tests" / "slurm" / "local_slurm.sh"

@pytest.fixture(scope="module")
def slurm():
    "A running one-node Slurm with accounting, started here and stopped at the end (unless another test run still uses it)."
    if os.geteuid() != 0 and not shutil.which("sudo"):
        pytest.skip("Slurm cannot start here: tests/slurm/local_slurm.sh needs root (or sudo) to install and start the daemons")
    env = {**os.environ, "LOCAL_SLURM_USER": str(os.getpid())}
    t0 = time.time()
    r = subprocess.run(["bash", str(SLURM_SCRIPT), "start"], capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        subprocess.run(["bash", str(SLURM_SCRIPT), "stop"], capture_output=True, env=env)
        pytest.skip(f"Slurm cannot start here: local_slurm.sh start exited {r.returncode}: {r.stderr.strip()[-400:]}")
    print(f"\nlocal Slurm up in {time.time() - t0:.1f} s")
    try: yield
    finally: subprocess.run(["bash", str(SLURM_SCRIPT), "stop"], capture_output=True, timeout=120, env=env)
