"""The SSH-tunnel path of the launcher (`tunnel = "ssh"`), for real: `nemotron ... --run/--batch PROFILE` in a subprocess
reaches an OpenSSH server on 127.0.0.1 of this machine (tests/slurm/local_sshd.sh) and, through it, the one-node Slurm
of tests/slurm/local_slurm.sh. Both are started here and stopped at the end; the tests are skipped, with the reason
printed, only where they cannot start (no root, no apt).

How NeMo-Run 0.11.1 talks SSH, and why the test can leave the user's ~/.ssh alone:
- commands, `put`/`get` (sbatch, sacct, squeue, log fetching, our secrets file) go through fabric/paramiko
  (`nemo_run/core/tunnel/client.py: SSHTunnel._authenticate` -> `fabric.Connection`), which sets paramiko's
  `AutoAddPolicy`: an unknown host key is accepted silently, in memory only (nothing is written to known_hosts, and
  no known_hosts is even read: the host key is never checked). fabric reads `~/.ssh/config` through `$HOME`, so the
  subprocess gets HOME=<tmp>/home.
- the experiment folder is copied with `rsync --rsh='ssh -i KEY -p PORT'` (`nemo_run/core/tunnel/rsync.py`, strict
  host keys on), i.e. the OpenSSH client, which reads `~/.ssh/config` and `~/.ssh/known_hosts` of the passwd entry
  (not `$HOME`) and, for an unknown host, asks on the terminal or fails with "Host key verification failed". So the
  subprocess's PATH starts with a folder holding an `ssh` wrapper that runs `/usr/bin/ssh -F <tmp>/ssh_config`, whose
  known_hosts (in tmp) holds this sshd's host keys: strict checking stays on, and it passes.
"""
import os, pwd, re, shutil, stat, subprocess, time
from pathlib import Path
import pytest
from conftest import ROOT, BIN, nemotron
from test_launch import (FAKE_STAGE, HASHING_STAGE, HF_FAKE, NV_FAKE, SECRET_ARGS, _sacct, _job_yaml, _leaks,
                         _assert_returned_at_once_then_completed)

SSHD_SCRIPT = ROOT / "tests" / "slurm" / "local_sshd.sh"
SECRET = "sk-test-9c2e4b7a1f03"


# ---------------------------------------------------------------------------------------------- the servers

def _real_ssh_dir_state():
    "What the real ~/.ssh of this user holds (names, sizes, mtimes), to check that nothing here touched it."
    d = Path(pwd.getpwuid(os.geteuid()).pw_dir) / ".ssh"  # where OpenSSH looks, whatever $HOME says
    return d, (sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in d.iterdir()) if d.is_dir() else None)

@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    "An sshd on 127.0.0.1 of its own (keys and config in a temp folder), started here and stopped at the end."
    if os.geteuid() != 0:
        pytest.skip("sshd cannot start here: tests/slurm/local_sshd.sh needs root (to install openssh-server and log in as root)")
    d = tmp_path_factory.mktemp("sshd")
    env = {**os.environ, "LOCAL_SSHD_DIR": str(d)}
    t0 = time.time()
    r = subprocess.run(["bash", str(SSHD_SCRIPT), "start"], capture_output=True, text=True, timeout=300, env=env)
    if r.returncode != 0:
        subprocess.run(["bash", str(SSHD_SCRIPT), "stop"], capture_output=True, env=env)
        pytest.skip(f"sshd cannot start here: local_sshd.sh start exited {r.returncode}: {r.stderr.strip()[-400:]}")
    info = dict(l.split("=", 1) for l in r.stdout.split())
    port, key = int(info["port"]), info["identity"]
    print(f"\nlocal sshd up on 127.0.0.1:{port} in {time.time() - t0:.1f} s")
    # the client side: an OpenSSH config of our own, with this server's host keys as the only known hosts
    client = tmp_path_factory.mktemp("ssh_client")
    (client / "known_hosts").write_text("".join(f"[127.0.0.1]:{port} {' '.join(p.read_text().split()[:2])}\n"
                                                for p in sorted(d.glob("ssh_host_*_key.pub"))))
    (client / "ssh_config").write_text(f"Host *\n  UserKnownHostsFile {client}/known_hosts\n  GlobalKnownHostsFile /dev/null\n"
                                       f"  StrictHostKeyChecking yes\n  BatchMode yes\n  IdentitiesOnly yes\n  IdentityAgent none\n")
    (client / "bin").mkdir()
    (client / "bin" / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {client}/ssh_config "$@"\n')
    (client / "bin" / "ssh").chmod(0o755)
    real_ssh = _real_ssh_dir_state()
    try: yield {"port": port, "identity": key, "dir": d, "bin": client / "bin", "log": d / "sshd.log"}
    finally:
        subprocess.run(["bash", str(SSHD_SCRIPT), "stop"], capture_output=True, timeout=60, env=env)
        assert _real_ssh_dir_state() == real_ssh, "the real ~/.ssh changed"

# ---------------------------------------------------------------------------------------------- helpers

def _env(tmp_path, sshd, **extra):
    "A `nemotron` subprocess's environment: its own NeMo-Run home and HOME, the ssh wrapper and the venv first on PATH."
    home = tmp_path / "home"; home.mkdir(exist_ok=True)
    return {"NEMORUN_HOME": str(tmp_path / "nemorun_home"), "HOME": str(home), "SSH_AUTH_SOCK": "",
            "PATH": f"{sshd['bin']}:{BIN}:{os.environ.get('PATH', '')}", "NEMOTRON_ENV_FILE": "", **extra}

def _ssh_env_toml(tmp_path, sshd, identity=None, extra=""):
    "Profiles [ssh-slurm] (Slurm through the SSH tunnel to 127.0.0.1) and [ssh-slow]; the stage is the stand-in script."
    "The job's environment is that of the SSH session sbatch ran in, not this process's: the profile puts the venv on PATH."
    (tmp_path / "fakebin").mkdir(exist_ok=True)
    (tmp_path / "fakebin" / "nemotron").write_text(FAKE_STAGE); (tmp_path / "fakebin" / "nemotron").chmod(0o755)
    (tmp_path / "env.toml").write_text(f"""
[ssh-slurm]
executor = "slurm"
tunnel = "ssh"
host = "127.0.0.1"
port = {sshd['port']}
user = "root"
identity = "{identity or sshd['identity']}"
remote_job_dir = "{tmp_path}/remote_jobs"
workdir = "{tmp_path}"
account = "local"
partition = "debug"
time = "00:10:00"
setup_lines = ["export PATH={BIN}:$PATH"]  # torchrun: what a container or a venv on the cluster would provide
startup_commands = ["export PATH={tmp_path}/fakebin:$PATH", "echo job-env SSH_CONNECTION=${{SSH_CONNECTION:-none}}"]

[ssh-slow]
extends = "ssh-slurm"
env_vars = {{ STEPS = "4", STEP_SLEEP = "1" }}
{extra}""")

def _logins(sshd) -> int:
    return sshd["log"].read_text().count("Accepted publickey for root from 127.0.0.1")

def _assert_via_ssh(out: str, sshd):
    "sbatch ran in a session of our sshd: the job inherited its SSH_CONNECTION (`<client ip> <port> 127.0.0.1 <port>`)."
    m = re.search(r"job-env SSH_CONNECTION=(.*)", out)
    assert m and m.group(1).strip().endswith(f"127.0.0.1 {sshd['port']}"), out[-2000:]

# ---------------------------------------------------------------------------------------------- the tests

def test_run_through_the_ssh_tunnel_streams_the_log_and_succeeds(tmp_path, sshd, slurm):
    _ssh_env_toml(tmp_path, sshd)
    before = _logins(sshd)
    t0 = time.time()
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "ssh-slurm", "train.train_iters=5", cwd=tmp_path,
                 env=_env(tmp_path, sshd), timeout=120)
    print(f"--run through ssh: {time.time() - t0:.1f} s")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"stage: nano3 pretrain -c tiny train.train_iters=5 rank=0 world=1 pwd=" + re.escape(str(tmp_path)), r.stdout)
    assert [l.split(":")[-1] for l in r.stdout.splitlines() if re.search(r":step \d$", l)] == ["step 1", "step 2", "step 3"]
    assert "nano3-pretrain-tiny: SUCCEEDED" in r.stdout
    _assert_via_ssh(r.stdout, sshd)
    assert _logins(sshd) > before  # NeMo-Run logged in (paramiko for sbatch/sacct/logs, OpenSSH for rsync)
    d, job = _job_yaml(tmp_path)
    assert job["tasks"][0]["executor"]["tunnel"] == {"kind": "ssh", "host": "127.0.0.1", "user": "root", "port": sshd["port"],
                                                     "job_dir": f"{tmp_path}/remote_jobs", "identity": sshd["identity"]}
    job_id = job["submitted"]["jobs"][0]["job_id"]
    assert _sacct(job_id) == "COMPLETED"
    # the sbatch script and the job's log are on the remote side, under remote_job_dir/<title>/<experiment id>/
    remote = tmp_path / "remote_jobs" / "nano3-pretrain-tiny"
    [exp] = list(remote.iterdir())
    assert exp.name == job["submitted"]["experiment_id"]
    sb = (exp / "nano3-pretrain-tiny_sbatch.sh").read_text()
    assert f"#SBATCH --output={exp}/nano3-pretrain-tiny/" in sb and "#SBATCH --account=local\n" in sb
    [log] = list(exp.glob(f"nano3-pretrain-tiny/log-*_{job_id}_0.out"))
    assert "step 3" in log.read_text()

def test_secrets_reach_the_job_through_a_0600_copy_on_the_remote_side(tmp_path, sshd, slurm):
    _ssh_env_toml(tmp_path, sshd)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "ssh-slurm", cwd=tmp_path,
                 env=_env(tmp_path, sshd, WANDB_API_KEY=SECRET), timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"wandb_key_chars={len(SECRET)}" in r.stdout  # the key reached the job
    _assert_via_ssh(r.stdout, sshd)
    d, job = _job_yaml(tmp_path)
    assert job["private_env_vars"] == ["WANDB_API_KEY"]
    remote = tmp_path / "remote_jobs" / "secrets" / f"{d.name}.env"
    assert remote.read_text() == f"export WANDB_API_KEY={SECRET}\n"
    assert stat.S_IMODE(remote.stat().st_mode) == 0o600 and stat.S_IMODE(remote.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "secrets.env").stat().st_mode) == 0o600
    assert _leaks(tmp_path, SECRET) == sorted([d / "secrets.env", remote])  # not in NeMo-Run's folders (local or rsynced), nor in the logs
    sb = next((tmp_path / "remote_jobs").rglob("*_sbatch.sh")).read_text()
    assert f". {remote}; set +a" in sb  # the job sources the remote copy
    assert SECRET not in r.stdout + r.stderr

def test_secret_overrides_reach_the_job_over_ssh_only_through_the_0600_files(tmp_path, sshd, slurm):
    "A token override by name and one by format: the job gets both (their hashes), and only the two 0600 copies hold them."
    import hashlib
    h = lambda v: hashlib.sha256(v.encode()).hexdigest()[:16]
    _ssh_env_toml(tmp_path, sshd)
    (tmp_path / "fakebin" / "nemotron").write_text(HASHING_STAGE)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "ssh-slurm", *SECRET_ARGS, cwd=tmp_path, env=_env(tmp_path, sshd), timeout=120)
    assert r.returncode == 0 and "nano3-pretrain-tiny: SUCCEEDED" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    _assert_via_ssh(r.stdout, sshd)
    seen = (tmp_path / "seen.txt").read_text().splitlines()
    assert seen[0] == f"logger.wandb_entity {h(NV_FAKE)}" and seen[1].startswith(f"HF_TOKEN {h(HF_FAKE)} ")
    d, _ = _job_yaml(tmp_path)
    remote = tmp_path / "remote_jobs" / "secrets" / f"{d.name}.env"
    assert remote.read_text() == f"export HF_TOKEN={HF_FAKE}\nexport NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY={NV_FAKE}\n"
    assert _leaks(tmp_path, HF_FAKE, NV_FAKE) == sorted([d / "secrets.env", remote])  # rsynced NeMo-Run folders and logs included
    assert HF_FAKE not in r.stdout + r.stderr and NV_FAKE not in r.stdout + r.stderr

def test_batch_through_the_ssh_tunnel_returns_at_once_then_the_job_completes(tmp_path, sshd, slurm):
    _ssh_env_toml(tmp_path, sshd)
    t0 = time.time()
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--batch", "ssh-slow", cwd=tmp_path,
                 env=_env(tmp_path, sshd), timeout=120)
    print(f"--batch through ssh: {time.time() - t0:.1f} s")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    on = f"ssh -p {sshd['port']} -i {sshd['identity']} root@127.0.0.1 "  # where the logs are, and the job
    m = re.search(r"submitted nano3-data-prep-tiny: job (\d+)\n  logs:   (\S+)   \(on root@127.0.0.1\)\n"
                  rf"  follow: {re.escape(on)}tail -f (\S+) .*\n  cancel: {re.escape(on)}scancel (\d+)", r.stdout)
    assert m and m.group(1) == m.group(4), r.stdout[-2000:]
    job_id = m.group(1)
    _assert_returned_at_once_then_completed(tmp_path, r.stdout, job_id)
    # the paths it printed are the remote ones, and the log is there
    [log] = list((tmp_path / "remote_jobs").glob(f"nano3-data-prep-tiny/*/nano3-data-prep-tiny/log-*_{job_id}_0.out"))
    assert m.group(3) == str(log.parent / f"log-*_{job_id}_0.out")
    follow = subprocess.run(m.group(0).split("follow: ")[1].split("   (or:")[0].replace("tail -f", "cat").split(),
                            capture_output=True, text=True, env={**os.environ, **_env(tmp_path, sshd)}, timeout=30)
    assert follow.returncode == 0 and "step 4" in follow.stdout, follow.stderr  # the printed command works as printed
    text = log.read_text()
    assert "step 4" in text and "job-env SSH_CONNECTION=" in text and text.split("job-env SSH_CONNECTION=")[1].split("\n")[0].endswith(f"127.0.0.1 {sshd['port']}")

def test_identity_with_a_tilde(tmp_path, sshd, slurm):
    "`identity = \"~/.ssh/id_ed25519\"` as the README shows it: paramiko does not expand `~`, the launcher must."
    home = tmp_path / "home"; (home / ".ssh").mkdir(parents=True)
    shutil.copy(sshd["identity"], home / ".ssh" / "id_test"); (home / ".ssh" / "id_test").chmod(0o600)
    _ssh_env_toml(tmp_path, sshd, identity="~/.ssh/id_test")
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "ssh-slurm", cwd=tmp_path, env=_env(tmp_path, sshd), timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "nano3-pretrain-tiny: SUCCEEDED" in r.stdout
    _assert_via_ssh(r.stdout, sshd)

def test_an_unknown_host_key_is_a_one_line_error_before_any_secret_leaves(tmp_path, sshd, slurm):
    "NeMo-Run's paramiko accepts any host key, its rsync (OpenSSH) does not: the launcher checks first, in one line."
    _ssh_env_toml(tmp_path, sshd)
    env = _env(tmp_path, sshd, WANDB_API_KEY=SECRET)
    kh = sshd["bin"].parent / "known_hosts"
    saved = kh.read_text(); kh.write_text("")  # this server's host key is unknown
    try: r = nemotron("nano3", "pretrain", "-c", "tiny", "--batch", "ssh-slurm", cwd=tmp_path, env=env, timeout=120)
    finally: kh.write_text(saved)
    assert r.returncode == 2, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: ssh root@127.0.0.1:{sshd['port']}: Host key verification failed."), r.stderr
    assert f"connect once with `ssh -p {sshd['port']} -i {sshd['identity']} root@127.0.0.1` and accept it" in r.stderr
    assert not (tmp_path / "remote_jobs").exists() and not (tmp_path / ".nemotron").exists()  # no secret sent, nothing written
    # a missing key file: one line too (paramiko would raise FileNotFoundError)
    _ssh_env_toml(tmp_path, sshd, identity=f"{tmp_path}/no_such_key")
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--batch", "ssh-slurm", cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 2 and r.stderr == f"error: profile: identity={tmp_path}/no_such_key: no such file\n", r.stderr
