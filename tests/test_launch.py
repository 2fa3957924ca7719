"""Launching through NeMo-Run as a user does it: `nemotron ... --run/--batch PROFILE [--dry-run]` in a subprocess.

The dry-run and profile tests need nothing but NeMo-Run. The others submit real jobs to a one-node Slurm on this machine,
started by tests/slurm/local_slurm.sh (installed by .ci/run; `start` installs it too where apt-get works) and stopped
at the end; they are skipped, with the reason printed, only where that Slurm cannot start (no root, no apt).
"""
import json, os, re, shutil, stat, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import ROOT, BIN, nemotron

SECRET = "sk-test-3f9a1c0d7e5b"

def _files(d): return sorted(str(p.relative_to(d)) for p in Path(d).rglob("*"))

def _write_env(d: Path, text: str): (d / "env.toml").write_text(text)

def _env(tmp_path, **extra):
    "The environment of a `nemotron` subprocess: its own NeMo-Run home, the venv first on PATH."
    return {"NEMORUN_HOME": str(tmp_path / "nemorun_home"), "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "NEMOTRON_ENV_FILE": "", **extra}

# ---------------------------------------------------------------------------------------------- dry runs and profiles

CLUSTER = """
[wandb]
project = "nemotron"
entity = "team"

[cluster]
executor = "slurm"
account = "nemotron-acct"
partition = "batch"
time = "04:00:00"
container_image = "nvcr.io/nvidia/nemo:25.11.nemotron_3_super"
mounts = ["/lustre:/lustre", "/home/me/data:/data"]
tunnel = "ssh"
host = "login.cluster.example"
user = "me"
remote_job_dir = "/lustre/users/me/nemo_run"
workdir = "/lustre/users/me/nemotron"
ntasks_per_node = 8

[cluster-4x8]
extends = "cluster"
nodes = 4
gpus_per_node = 8
"""

def _sbatch(out: str, task: str) -> str:
    "The sbatch script of `task` in a dry run's output."
    return re.split(r"\n# (?:sbatch script of |launch command of |would write )", out.split(f"# sbatch script of {task}\n", 1)[1])[0]

def test_dry_run_super3_four_nodes_pins_the_sbatch_script(tmp_path):
    "super3 phase 1 on 4 nodes x 8 GPUs (TP 4, EP 8): every resource field of the sbatch script and the torchrun line."
    "The profile [cluster] sets no nodes or GPUs: the recipe's 4 x 8 apply (the original fell back to 1 node, issue #345)."
    _write_env(tmp_path, CLUSTER)
    r = nemotron("super3", "pretrain", "-c", "phase1", "--batch", "cluster", "--dry-run", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "  tensor_model_parallel_size: 4\n" in r.stdout and "  expert_model_parallel_size: 8\n" in r.stdout
    sb = _sbatch(r.stdout, "super3-pretrain-phase1")
    fields = dict(re.findall(r"^#SBATCH --([\w-]+)=(.*)$", sb, re.M))
    run_dir = "/lustre/users/me/nemo_run/super3-pretrain-phase1/"
    assert fields.pop("output").startswith(run_dir)
    assert fields == {"account": "nemotron-acct", "gpus-per-node": "8", "job-name": "nemotron.super3-pretrain-phase1",
                      "nodes": "4", "ntasks-per-node": "1",  # one torchrun per node, which starts 8 workers
                      "open-mode": "append", "partition": "batch", "time": "04:00:00"}
    srun = next(l for l in sb.splitlines() if l.startswith("srun "))
    assert "--container-image nvcr.io/nvidia/nemo:25.11.nemotron_3_super" in srun
    assert re.search(r"--container-mounts /lustre:/lustre,/home/me/data:/data,\S+:/nemo_run ", srun)
    tr = re.search(r"torchrun --rdzv-backend c10d --rdzv-endpoint \$head_node_ip:29500 --rdzv-id \d+ --nnodes (\d+) "
                   r"--nproc-per-node (\d+) --node-rank \$SLURM_NODEID .*--no-python (\S+)$", srun)
    assert tr and tr.group(1, 2) == ("4", "8"), srun
    assert tr.group(3) == "/nemo_run/scripts/super3-pretrain-phase1.sh"
    assert "head_node_ip=$(srun --nodes=1 --ntasks=1 -w \"$head_node\" hostname --ip-address)" in sb
    assert "export WANDB_PROJECT=nemotron\n" in sb
    task = r.stdout.split("# task script of super3-pretrain-phase1\n", 1)[1].split("\n# ", 1)[0]
    from nemotron_nb.ship import setup_lines, check_line, package_dir, source_hash, pinned_dependencies
    assert task == "\n".join([*setup_lines(), check_line(source_hash(package_dir()), pinned_dependencies()),  # the shipped code
                              "cd /lustre/users/me/nemotron", "exec nemotron super3 pretrain -c phase1"])
    assert "nothing written, nothing submitted" in r.stdout
    assert _files(tmp_path) == ["env.toml"]

def test_the_command_line_wins_over_recipe_and_profile(tmp_path):
    "[cluster-4x8] and the recipe both say 4 nodes; run.env.nodes=8 on the command line wins."
    _write_env(tmp_path, CLUSTER)
    r = nemotron("super3", "pretrain", "--batch", "cluster-4x8", "--dry-run", "run.env.nodes=8", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    sb = _sbatch(r.stdout, "super3-pretrain-default")
    assert "#SBATCH --nodes=8\n" in sb and "#SBATCH --gpus-per-node=8\n" in sb and "--nnodes 8 --nproc-per-node 8 " in sb
    # (data prep under a GPU profile: 1 node, no GPU, no torchrun; pinned in nbs/31_launch.ipynb)

def test_phases_dry_run_shows_the_afterok_chain(tmp_path):
    _write_env(tmp_path, CLUSTER)
    r = nemotron("super3", "pretrain", "--phases", "phase1,phase2,long_context_1m", "--batch", "cluster", "--dry-run",
                 cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    names = ["super3-pretrain-phase1", "super3-pretrain-phase2", "super3-pretrain-long_context_1m"]
    deps = [_sbatch(r.stdout, n).count("#SBATCH --dependency=") for n in names]
    assert deps == [0, 1, 1]
    assert "#SBATCH --dependency='afterok:<job id of super3-pretrain-phase1>'" in _sbatch(r.stdout, names[1])
    assert "exec nemotron super3 pretrain -c phase2 checkpoint.load=output/checkpoints/super3-pretrain-model-phase1\n" in r.stdout
    assert "exec nemotron super3 pretrain -c long_context_1m checkpoint.load=output/checkpoints/super3-pretrain-model-phase2\n" in r.stdout
    assert _files(tmp_path) == ["env.toml"]

@pytest.mark.parametrize("env_toml,args,message", [
    ("[a]\nextends = \"b\"\n[b]\nextends = \"a\"\n", ["--batch", "a"], "profile inheritance cycle: a -> b -> a"),
    ("[a]\nextends = \"clustr\"\n[cluster]\n", ["--batch", "a"], "profile [a] extends unknown profile 'clustr' (did you mean 'cluster'?)"),
    ("[cluster]\nexecutor = \"slurm\"\n", ["--run", "clster"], "no profile named 'clster' (did you mean 'cluster'?); profiles: cluster"),
    ("[cluster]\ngpu_per_node = 8\n", ["--run", "cluster"], "[cluster]: unknown key 'gpu_per_node' (did you mean 'gpus_per_node'?)"),
    ("[cluster]\nnodes = \"four\"\n", ["--run", "cluster"], "[cluster]: nodes='four': expected a whole number"),
    ("[cluster]\nexecutor = \"slurm\"\n", ["--run", "cluster"], "executor 'slurm' needs 'account'"),
    ("[cluster]\nexecutor = \"local\"\n", ["--run", "cluster", "run.env.nods=2"], "command line run.env: unknown key 'nods' (did you mean 'nodes'?)"),
])
def test_bad_profiles_one_line_exit_2_nothing_written(tmp_path, env_toml, args, message):
    _write_env(tmp_path, env_toml)
    r = nemotron("nano3", "pretrain", "-c", "tiny", *args, cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and message in r.stderr, r.stderr
    assert _files(tmp_path) == ["env.toml"]

def test_no_env_toml(tmp_path):
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "x", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 2 and "no env.toml found" in r.stderr

def test_launch_does_not_import_nemo_run():
    out = subprocess.run([sys.executable, "-c", "import nemotron_nb, nemotron_nb.launch, sys; print('nemo_run' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

# ---------------------------------------------------------------------------------------------- the code a job carries

SHIPPING = """
[cluster]
executor = "slurm"
account = "acct"
tunnel = "local"
container_image = "nvcr.io/nvidia/nemo:25.11"
startup_commands = ["source /opt/env.sh"]

[image-has-it]
extends = "cluster"
ship_code = false

[original-none]
extends = "cluster"
packager = "none"

[offline]
extends = "cluster"
ship_wheels = true
"""

def test_dry_run_shows_the_shipped_code_and_the_exact_setup_lines(tmp_path):
    "Each job but a local one ships the running nemotron_nb: the dry run says what (version, files, hash) and the task"
    "script holds the setup lines; `ship_code = false` and the original's `packager = \"none\"` ship nothing."
    import nemotron_nb
    from nemotron_nb.ship import package_dir, source_hash, shipped_files, setup_lines
    _write_env(tmp_path, SHIPPING)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "cluster", "--dry-run", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    h = source_hash(package_dir())
    assert (f"# code shipped with each job: nemotron_nb {nemotron_nb.__version__} from {package_dir()}, "
            f"{len(shipped_files(package_dir()))} files, source sha256 {h}\n") in r.stdout
    script = r.stdout.split("# task script of nano3-pretrain-tiny\n")[1].split("\n# ")[0].splitlines()
    assert script[:4] == [*setup_lines(), "source /opt/env.sh"]
    assert script[4].startswith(f'python3 -m nemotron_nb.ship "$NEMOTRON_CODE" --expect {h} --require yaml=pyyaml==')
    assert script[5:] == ["exec nemotron nano3 pretrain -c tiny"]
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "offline", "--dry-run", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0 and "(with wheels of the dependencies the job installs when its Python lacks them" in r.stdout
    assert re.search(r'^python3 -m nemotron_nb.ship "\$NEMOTRON_CODE" .* --wheels "\$NEMOTRON_CODE/wheels"$', r.stdout, re.M)
    for profile in ("image-has-it", "original-none"):
        r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", profile, "--dry-run", cwd=tmp_path, env=_env(tmp_path))
        assert r.returncode == 0, r.stderr
        assert "# code: nothing shipped (the image's nemotron_nb)\n" in r.stdout and "NEMOTRON_CODE" not in r.stdout
    assert _files(tmp_path) == ["env.toml"]

# ---------------------------------------------------------------------------------------------- the original's env.toml

ORIGINAL_ENV = sorted((ROOT / "tests" / "fixtures" / "original_env").glob("*.toml"))

@pytest.mark.parametrize("path", ORIGINAL_ENV, ids=lambda p: p.stem)
def test_every_env_toml_example_of_the_original_docs_dry_runs(path, tmp_path, monkeypatch, capsys):
    "Every env.toml example in NVIDIA-NeMo/Nemotron's docs (copied into tests/fixtures/original_env; fragments that are"
    "not a whole file left out): each profile dry-runs both stages with exit 0, at most note lines on stderr, and no"
    "secret's value in the output."
    from nemotron_nb.cli import main
    from nemotron_nb.launch import read_env_file, check_sections, profiles
    from nemotron_nb.config import is_secret
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEMOTRON_ENV_FILE", str(path)); monkeypatch.setenv("NEMORUN_HOME", str(tmp_path / "nemorun_home"))
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # (NeMo-Run's shell commands read stdin; pytest's refuses)
    env = read_env_file(path)
    check_sections(env, str(path))
    secrets = [v for prof in profiles(env).values() for k, v in prof.items() if isinstance(v, str) and is_secret(k, v)]
    for name in profiles(env):
        for stage in (["pretrain"], ["data", "prep", "pretrain"]):
            rc = main(["nano3", *stage, "-c", "tiny", "--run", name, "--dry-run"])
            out, err = capsys.readouterr()
            assert rc == 0, f"[{name}] {' '.join(stage)}: {err}"
            assert all(line.startswith("note: ") for line in err.splitlines()), err
            assert "# dry run: nothing written, nothing submitted" in out
            assert not [v for v in secrets if v in out + err], f"[{name}]: a secret's value printed"
    assert [p.name for p in tmp_path.iterdir() if p.name != "nemorun_home"] == []

def test_the_original_keys_are_read_as_ours(tmp_path, monkeypatch, capsys):
    "app_id/app_secret, nprocs_per_node, container, [artifacts] backend: what the dry run shows; ignored keys: one note."
    from nemotron_nb.cli import main
    path = ROOT / "tests" / "fixtures" / "original_env" / "nemo_runspec__nemo-run-17.toml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    monkeypatch.setenv("NEMOTRON_ENV_FILE", str(path)); monkeypatch.setenv("NEMORUN_HOME", str(tmp_path / "nemorun_home"))
    # (a global batch that its 2 x 8 processes can share: else one more note, that the job would stop at its start)
    assert main(["nano3", "pretrain", "-c", "tiny", "--run", "dgxcloud", "--dry-run", "train.micro_batch_size=1",
                 "train.global_batch_size=16"]) == 0
    out, err = capsys.readouterr()
    assert "client_id: MY-APP-ID\n" in out and "client_secret: '******'\n" in out and "MY-APP-SECRET" not in out + err
    assert "nprocs_per_node: 8\n" in out and "container_image: nvcr.io/nvidia/nemo:latest\n" in out
    assert err == (f"note: {path} [dgxcloud]: executor 'dgxcloud' needs 'kube_apiserver_url' to submit; "
                   "the dry run shows <placeholders>\n")
    assert "NEMOTRON_ARTIFACTS_WANDB: '0'\n" in out  # [artifacts] backend = "file": the local registry alone
    path = ROOT / "tests" / "fixtures" / "original_env" / "nemo_runspec__nemo-run-10.toml"
    monkeypatch.setenv("NEMOTRON_ENV_FILE", str(path))
    assert main(["nano3", "pretrain", "-c", "tiny", "--run", "YOUR-CLUSTER", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert (f"note: {path} [YOUR-CLUSTER]: build_partition, build_time, build_cache_dir: no meaning here, ignored "
            "(Stage 0 builds no container)\n") in err

# ---------------------------------------------------------------------------------------------- secrets on the command line

HF_FAKE = "hf_FakeTokenForTests0123456789abcdefgh"  # the format of a Hugging Face token
NV_FAKE = "nvapi-FakeKeyForTests_0123456789abcdef"  # the format of an NGC key, under a key name that says nothing
SECRET_ARGS = [f"run.env.env_vars.HF_TOKEN={HF_FAKE}", f"logger.wandb_entity={NV_FAKE}"]
KEYS = """
[keys]
executor = "slurm"
account = "acct"
partition = "batch"
tunnel = "local"
env_vars = { NCCL_DEBUG = "WARN", KEEP_ME = "kept" }
"""

def _readable(p: Path) -> bytes:
    "A file's bytes, and NeMo-Run's serialized experiment (`_CONFIG`, `_TASKS`, ...: base64 of zlib'd JSON) decoded."
    import base64, zlib
    data = p.read_bytes()
    for chunk in re.findall(rb"eJ[A-Za-z0-9_\-]{16,}=*", data):
        try: data += b"\n" + zlib.decompress(base64.urlsafe_b64decode(chunk))
        except Exception: pass
    return data

def _leaks(root: Path, *values) -> list:
    "Every file under `root` holding one of `values`, also inside NeMo-Run's serialized configs (the user's own env.toml aside)."
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "env.toml" and any(v.encode() in _readable(p) for v in values))

def test_secret_overrides_dry_run_prints_and_writes_no_value(tmp_path):
    "A token by its name (HF_TOKEN) and one by its format (under logger.wandb_entity): the job's command reads both from"
    "variables of the secrets file; one env_var overridden keeps the profile's others."
    _write_env(tmp_path, KEYS)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--batch", "keys", "--dry-run", *SECRET_ARGS, cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert HF_FAKE not in out and NV_FAKE not in out
    assert "    env_vars:\n      HF_TOKEN: '******'\n" in r.stdout and "  wandb_entity: '******'\n" in r.stdout
    # (HF_TOKEN is the job's variable, from the secrets file: not on its command line, not in the job's own config)
    assert '\nexec nemotron nano3 pretrain -c tiny logger.wandb_entity="${NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY}"\n' in r.stdout
    assert "# secrets HF_TOKEN, NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY: only in " in r.stdout
    sb = _sbatch(r.stdout, "nano3-pretrain-tiny")
    assert "export NCCL_DEBUG=WARN\nexport KEEP_ME=kept\n" in sb and "HF_TOKEN" not in sb.replace("{ set +vx; }", "")
    assert _files(tmp_path) == ["env.toml"]  # nothing written, NeMo-Run's home included

def test_dry_runs_show_the_tokenizer_and_max_doc_tokens(tmp_path):
    "Redaction is by secret-ness: `tokenizer` and `max_doc_tokens` are no secrets, locally or through a profile."
    _write_env(tmp_path, KEYS)
    for extra in ([], ["--batch", "keys"]):
        r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--dry-run", "max_doc_tokens=4096", *extra,
                     cwd=tmp_path, env=_env(tmp_path))
        assert r.returncode == 0, r.stderr
        assert f"\ntokenizer:\n  model: {ROOT}/nemotron_nb/assets/tokenizer\n  add_bos: false\n  add_eos: true\n" in r.stdout, r.stdout[:2000]
        assert "\nmax_doc_tokens: 4096\n" in r.stdout and "******" not in r.stdout

CLOUDS = """
[here]
executor = "local"

[dgx]
executor = "dgxcloud"
base_url = "https://dgx.example/api/v1"
kube_apiserver_url = "https://k8s.example"
client_id = "my-client"
client_secret = "not-a-real-secret"
project_name = "nemotron"
container_image = "nvcr.io/nvidia/nemo:25.11"
pvc_nemo_run_dir = "/pvc/nemo-jobs"
pvcs = [{ claimName = "team-pvc", path = "/pvc" }]

[dgx-elsewhere]
extends = "dgx"
pvc_nemo_run_dir = "/data/nemo-jobs"

[dgx-mounts]
extends = "dgx"
mounts = ["/data:/data"]

[slurm-tables]
executor = "slurm"
account = "acct"
tunnel = "local"
container_image = "nvcr.io/nvidia/nemo:25.11"
mounts = ["/a:/b", { path = "/shared", mount_path = "/mnt/shared" }, { source = "/x", target = "/y", read_only = true }]
nodes = 2.0
gpus_per_node = 8e0

[docker-tables]
executor = "docker"
container_image = "nvcr.io/nvidia/nemo:25.11"
mounts = ["/a:/b", { path = "/shared", mount_path = "/mnt/shared" }, { src = "/x", dst = "/y", read_only = true }]

[lepton-tables]
executor = "lepton"
container_image = "nvcr.io/nvidia/nemo:25.11"
nemo_run_dir = "/mnt/jobs"
mounts = [{ path = "/shared", mount_path = "/mnt/shared", from = "node-nfs:fs1" }, "/a:/b"]

[half-node]
executor = "local"
nodes = 1.5

[bad-mount]
executor = "local"
mounts = [{ path = "/shared" }]
"""

@pytest.mark.parametrize("profile,args,line", [
    ("dgx-elsewhere", [], "error: {env} [dgx-elsewhere]: pvc_nemo_run_dir='/data/nemo-jobs' is on none of the pvcs (paths: '/pvc'): "
                          "set it under one of them, or add a pvc { claimName = \"...\", path = \"/data\" }"),
    ("dgx", [f"logger.wandb_entity={NV_FAKE}"], "error: logger.wandb_entity=******: a secret on the command line reaches the job only "
     "through the 0600 secrets file, which a dgxcloud job ({env} [dgx]) does not get: keep it in the platform's secret store"),
    ("dgx-mounts", [], "error: {env} [dgx-mounts]: mounts=['/data:/data']: a dgxcloud job mounts storage through "
                       "pvcs = [{ claimName = \"...\", path = \"...\" }]"),
    ("half-node", [], "error: {env} [half-node]: nodes=1.5: expected a whole number"),
    ("bad-mount", [], "error: {env} [bad-mount]: mounts entry {'path': '/shared'}: expected a table {path, mount_path} or "
                      "{source, target} or {src, dst} (optionally read_only, from)"),
])
@pytest.mark.parametrize("dry", [True, False])
def test_profile_faults_one_exact_line_exit_2(tmp_path, profile, args, line, dry):
    _write_env(tmp_path, CLOUDS)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--batch", profile, *(["--dry-run"] if dry else []), *args, cwd=tmp_path, env=_env(tmp_path))
    assert (r.returncode, r.stderr) == (2, line.replace("{env}", str(tmp_path / "env.toml")) + "\n"), r.stdout[-2000:]
    assert _files(tmp_path) == ["env.toml"]

@pytest.mark.parametrize("mode", ["--batch", "--run"])
def test_local_executor_dry_run_shows_the_torchrun_line(tmp_path, mode):
    _write_env(tmp_path, CLOUDS)
    r = nemotron("nano3", "pretrain", "-c", "tiny", mode, "here", "--dry-run", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    home = tmp_path / "nemorun_home"
    assert re.search(r"^# launch command of nano3-pretrain-tiny \(LocalExecutor\): torchrun --rdzv-backend c10d --rdzv-endpoint "
                     r"localhost:0 --rdzv-id \d+ --nnodes 1 --nproc-per-node 1 --node-rank 0 --tee 3 --no-python "
                     + re.escape(f"{home}/experiments/nano3-pretrain-tiny/") + r"nano3-pretrain-tiny_\d+/nano3-pretrain-tiny/scripts/nano3-pretrain-tiny.sh$",
                     r.stdout, re.M), r.stdout[-1500:]
    assert _files(tmp_path) == ["env.toml"]

def test_mounts_as_tables_and_toml_numbers_per_executor(tmp_path):
    "`mounts` as strings or tables, translated for each executor; `nodes = 2.0`, `gpus_per_node = 8e0` taken as 2 and 8."
    _write_env(tmp_path, CLOUDS)
    def dry(profile):
        r = nemotron("nano3", "pretrain", "-c", "tiny", "--batch", profile, "--dry-run", cwd=tmp_path, env=_env(tmp_path))
        assert r.returncode == 0, r.stderr
        return r.stdout
    sb = _sbatch(out := dry("slurm-tables"), "nano3-pretrain-tiny")
    assert "container_mounts:\n- /a:/b\n- /shared:/mnt/shared\n- /x:/y:ro\n" in out
    assert re.search(r" --container-mounts /a:/b,/shared:/mnt/shared,/x:/y:ro,\S+:/nemo_run ", sb), sb
    assert "#SBATCH --nodes=2\n" in sb and "#SBATCH --gpus-per-node=8\n" in sb and "--nnodes 2 --nproc-per-node 8 " in sb
    assert "\nnodes: 2\ngpus_per_node: 8\n" in out  # the profile as printed
    assert "volumes:\n- /a:/b\n- /shared:/mnt/shared\n- /x:/y:ro\n" in dry("docker-tables")
    assert ("mounts:\n- path: /shared\n  mount_path: /mnt/shared\n  from: node-nfs:fs1\n- path: /a\n  mount_path: /b\n"
            in dry("lepton-tables"))
    assert _files(tmp_path) == ["env.toml"]

# ---------------------------------------------------------------------------------------------- a real Slurm

FAKE_STAGE = """#!/bin/bash
# stands in for the stage inside the job: prints what it got, a few steps, exits with $FAKE_EXIT
echo "stage: $* rank=${RANK:-?} world=${WORLD_SIZE:-?} pwd=$PWD wandb_key_chars=${#WANDB_API_KEY}"
for i in $(seq ${STEPS:-3}); do echo "step $i"; sleep ${STEP_SLEEP:-0.1}; done
echo "$*" >> "$PWD/stage_ran.txt"
exit ${FAKE_EXIT:-0}
"""

def _local_slurm_env(tmp_path, fake=True, extra="", stage=FAKE_STAGE):
    "A profile [local-slurm] for this machine's Slurm (and [failing], [slow]); `fake`: the stage is a stand-in script (`stage`)."
    startup = ""
    if fake:
        (tmp_path / "fakebin").mkdir(exist_ok=True)
        (tmp_path / "fakebin" / "nemotron").write_text(stage); (tmp_path / "fakebin" / "nemotron").chmod(0o755)
        startup = f'startup_commands = ["export PATH={tmp_path}/fakebin:$PATH"]\n'
    _write_env(tmp_path, f"""
[local-slurm]
executor = "slurm"
account = "local"
partition = "debug"
time = "00:10:00"
tunnel = "local"
{startup}
[failing]
extends = "local-slurm"
env_vars = {{ FAKE_EXIT = "3" }}

[slow]
extends = "local-slurm"
env_vars = {{ STEPS = "4", STEP_SLEEP = "1" }}
{extra}""")

def _sacct(job_id: str) -> str:
    return subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "state"], capture_output=True, text=True).stdout.strip()

def _wait_state(job_id: str, states=("COMPLETED", "FAILED", "CANCELLED"), timeout=120) -> str:
    end = time.time() + timeout
    while time.time() < end:
        st = _sacct(job_id).split(" ")[0]
        if st in states: return st
        time.sleep(0.5)
    return _sacct(job_id)

def _job_yaml(tmp_path):
    import yaml
    [d] = list((tmp_path / ".nemotron" / "jobs").iterdir())
    return d, yaml.safe_load((d / "job.yaml").read_text())

def test_run_streams_the_log_and_exits_with_the_job_status(tmp_path, slurm):
    _local_slurm_env(tmp_path)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "local-slurm", "train.train_iters=5", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert re.search(r"stage: nano3 pretrain -c tiny train.train_iters=5 rank=0 world=1 pwd=" + re.escape(str(tmp_path)), r.stdout)
    assert [l.split(":")[-1] for l in r.stdout.splitlines() if re.search(r":step \d$", l)] == ["step 1", "step 2", "step 3"]
    assert "nano3-pretrain-tiny: SUCCEEDED" in r.stdout
    d, job = _job_yaml(tmp_path)
    assert sorted(p.name for p in d.iterdir()) == ["code", "command.sh", "job.yaml", "train.yaml"]
    assert (d / "command.sh").read_text() == "nemotron nano3 pretrain -c tiny --run local-slurm train.train_iters=5\n"
    assert "  train_iters: 5\n" in (d / "train.yaml").read_text()
    assert job["tasks"][0]["command"] == "nemotron nano3 pretrain -c tiny train.train_iters=5"
    job_id = job["submitted"]["jobs"][0]["job_id"]
    assert _sacct(job_id) == "COMPLETED"
    # a failing job: the log is streamed, the CLI says so and exits 1
    (d / "job.yaml").unlink(); shutil.rmtree(d)
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "failing", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr
    assert "step 3" in r.stdout and "nano3-pretrain-tiny: FAILED" in r.stdout
    assert r.stderr.startswith("error: job(s) nano3-pretrain-tiny FAILED; logs under ")

def _assert_returned_at_once_then_completed(tmp_path, out: str, job_id: str):
    "A --batch submission of the stand-in data prep: it returned before the 4 s job ended, and the job then completed."
    # (asked of the controller, which knows the job at once: sacct may not list a job this young yet)
    assert subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True).stdout.strip() in ("PENDING", "RUNNING")
    assert "step 4" not in out
    assert _wait_state(job_id) == "COMPLETED"
    assert (tmp_path / "stage_ran.txt").read_text() == "nano3 data prep pretrain -c tiny\n"
    _, job = _job_yaml(tmp_path)
    assert job["mode"] == "batch" and job["submitted"]["jobs"][0]["job_id"] == job_id

def test_batch_returns_at_once_with_a_job_id_then_the_job_completes(tmp_path, slurm):
    _local_slurm_env(tmp_path)
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--batch", "slow", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    m = re.search(r"submitted nano3-data-prep-tiny: job (\d+)\n  logs:   (\S+)\n  follow: tail -f (\S+) .*\n  cancel: scancel (\d+)", r.stdout)
    assert m and m.group(1) == m.group(4), r.stdout[-2000:]
    _assert_returned_at_once_then_completed(tmp_path, r.stdout, m.group(1))
    assert list((tmp_path / ".nemotron" / "jobs").iterdir())[0].joinpath("data_prep.yaml").is_file()

def test_phases_submit_a_chain_with_afterok(tmp_path, slurm):
    "Two phases as one submission: the second waits for the first (afterok) and loads its checkpoint."
    _local_slurm_env(tmp_path)
    tiny = (ROOT / "nemotron_nb" / "recipes" / "nano3" / "stage0_pretrain" / "config" / "tiny.yaml").read_text()
    for i in (1, 2):
        (tmp_path / f"p{i}.yaml").write_text(tiny.replace("save: output/checkpoints/nano3-pretrain-model-tiny",
                                                          f"save: output/checkpoints/p{i}"))
    r = nemotron("nano3", "pretrain", "--phases", "p1.yaml,p2.yaml", "--batch", "slow", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    ids = re.findall(r"submitted nano3-pretrain-p(\d): job (\d+)", r.stdout)
    assert [p for p, _ in ids] == ["1", "2"]
    (_, first), (_, second) = ids
    dep = subprocess.run(["scontrol", "show", "job", second], capture_output=True, text=True).stdout
    assert re.search(rf"Dependency=afterok:{first}\b", dep), dep
    assert _wait_state(second, timeout=180) == "COMPLETED" and _sacct(first) == "COMPLETED"
    lines = (tmp_path / "stage_ran.txt").read_text().splitlines()
    assert lines == [f"nano3 pretrain -c {tmp_path}/p1.yaml",
                     f"nano3 pretrain -c {tmp_path}/p2.yaml checkpoint.load=output/checkpoints/p1"]
    d, job = _job_yaml(tmp_path)
    assert sorted(p.name for p in d.iterdir()) == ["code", "command.sh", "job.yaml", "train-p1.yaml", "train-p2.yaml"]

def test_secrets_only_in_the_0600_file(tmp_path, slurm):
    "A fake WANDB_API_KEY reaches the job, and appears in no output or file but the 0600 env file."
    _local_slurm_env(tmp_path, extra='[with-keys]\nextends = "local-slurm"\nenv_vars = { MY_SERVICE_TOKEN = "tok-test-77", NCCL_DEBUG = "WARN" }\n')
    env = _env(tmp_path, WANDB_API_KEY=SECRET, HF_TOKEN="hf_test_token_1")
    outs = []
    for extra in (["--dry-run"], []):
        r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "with-keys", *extra, cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
        outs.append(r.stdout + r.stderr)
    assert f"wandb_key_chars={len(SECRET)}" in outs[1]  # the job had the key
    # every file under the test folder (provenance, NeMo-Run's experiment folder with its sbatch scripts, executor
    # configs and job logs) except the user's own env.toml, where the profile's token was written by hand
    leaks = _leaks(tmp_path, SECRET, "tok-test-77", "hf_test_token_1")
    d, job = _job_yaml(tmp_path)
    assert leaks == [d / "secrets.env"]
    assert stat.S_IMODE((d / "secrets.env").stat().st_mode) == 0o600
    assert (d / "secrets.env").read_text() == f"export HF_TOKEN=hf_test_token_1\nexport MY_SERVICE_TOKEN=tok-test-77\nexport WANDB_API_KEY={SECRET}\n"
    for out in outs: assert SECRET not in out and "tok-test-77" not in out and "hf_test_token_1" not in out
    assert job["private_env_vars"] == ["HF_TOKEN", "MY_SERVICE_TOKEN", "WANDB_API_KEY"]
    assert "export NCCL_DEBUG=WARN" in next((tmp_path / "nemorun_home").rglob("*_sbatch.sh")).read_text()

HASHING_STAGE = """#!/bin/bash
# stands in for the stage: writes the sha256 of each override's value and of $HF_TOKEN (never a value), and the plain variables
for a in "$@"; do case "$a" in *=*) echo "${a%%=*} $(printf %s "${a#*=}" | sha256sum | cut -c1-16)";; esac; done > "$PWD/seen.txt"
echo "HF_TOKEN $(printf %s "$HF_TOKEN" | sha256sum | cut -c1-16) KEEP_ME=$KEEP_ME NCCL_DEBUG=$NCCL_DEBUG" >> "$PWD/seen.txt"
"""

def test_secret_overrides_reach_the_slurm_job_only_through_the_0600_file(tmp_path, slurm):
    "The job gets both values (their hashes match) and the profile's other env_vars; the values are in no output and in no"
    "file under the work folder (provenance, NeMo-Run's home with its scripts, configs and the job's log) but the 0600 file."
    import hashlib
    h = lambda v: hashlib.sha256(v.encode()).hexdigest()[:16]
    _local_slurm_env(tmp_path, stage=HASHING_STAGE, extra='[keys]\nextends = "local-slurm"\nenv_vars = { NCCL_DEBUG = "WARN", KEEP_ME = "kept" }\n')
    outs = []
    for extra in (["--dry-run"], []):
        r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "keys", *extra, *SECRET_ARGS, cwd=tmp_path, env=_env(tmp_path))
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
        outs.append(r.stdout + r.stderr)
    assert "nano3-pretrain-tiny: SUCCEEDED" in outs[1]
    assert (tmp_path / "seen.txt").read_text().splitlines() == [
        f"logger.wandb_entity {h(NV_FAKE)}", f"HF_TOKEN {h(HF_FAKE)} KEEP_ME=kept NCCL_DEBUG=WARN"]
    d, job = _job_yaml(tmp_path)
    assert _leaks(tmp_path, HF_FAKE, NV_FAKE) == [d / "secrets.env"]
    home = tmp_path / "nemorun_home"  # searched: the sbatch script, the job's log, NeMo-Run's experiment with the task script
    assert any(home.rglob("*_sbatch.sh")) and any(home.rglob("log-*.out"))
    assert b'logger.wandb_entity=\\"${NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY}\\"' in _readable(next(home.rglob("_TASKS")))
    assert stat.S_IMODE((d / "secrets.env").stat().st_mode) == 0o600
    assert (d / "secrets.env").read_text() == f"export HF_TOKEN={HF_FAKE}\nexport NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY={NV_FAKE}\n"
    for out in outs: assert HF_FAKE not in out and NV_FAKE not in out
    assert (d / "command.sh").read_text() == ("nemotron nano3 pretrain -c tiny --run keys 'run.env.env_vars.HF_TOKEN=******' "
                                              "'logger.wandb_entity=******'\n")
    assert job["tasks"][0]["command"] == 'nemotron nano3 pretrain -c tiny logger.wandb_entity="${NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY}"'
    assert job["private_env_vars"] == ["HF_TOKEN", "NEMOTRON_OVERRIDE_LOGGER_WANDB_ENTITY"]

def test_local_executor_runs_the_stage_under_torchrun(tmp_path):
    "executor = \"local\": NeMo-Run's LocalExecutor, torchrun with one worker, the log streamed, the status returned."
    (tmp_path / "fakebin").mkdir()
    (tmp_path / "fakebin" / "nemotron").write_text(FAKE_STAGE); (tmp_path / "fakebin" / "nemotron").chmod(0o755)
    _write_env(tmp_path, f'[here]\nexecutor = "local"\nstartup_commands = ["export PATH={tmp_path}/fakebin:$PATH"]\n'
                         f'[here-failing]\nextends = "here"\nenv_vars = {{ FAKE_EXIT = "3" }}\n')
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "here", "train.train_iters=5", cwd=tmp_path,
                 env=_env(tmp_path, WANDB_API_KEY=SECRET))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert re.search(r"stage: nano3 pretrain -c tiny train.train_iters=5 rank=0 world=1 pwd=" + re.escape(str(tmp_path))
                     + rf" wandb_key_chars={len(SECRET)}", r.stdout)  # the key reached the job through the 0600 file
    assert "nano3-pretrain-tiny: SUCCEEDED" in r.stdout and SECRET not in r.stdout + r.stderr
    assert [p.name for p in _leaks(tmp_path, SECRET)] == ["secrets.env"]

def test_secret_overrides_reach_a_local_executor_job_only_through_the_0600_file(tmp_path):
    "The same with executor = \"local\": the task script sources the file, then its shell completes the job's command."
    import hashlib
    h = lambda v: hashlib.sha256(v.encode()).hexdigest()[:16]
    (tmp_path / "fakebin").mkdir()
    (tmp_path / "fakebin" / "nemotron").write_text(HASHING_STAGE); (tmp_path / "fakebin" / "nemotron").chmod(0o755)
    _write_env(tmp_path, f'[here]\nexecutor = "local"\nstartup_commands = ["export PATH={tmp_path}/fakebin:$PATH"]\n'
                         'env_vars = { NCCL_DEBUG = "WARN", KEEP_ME = "kept" }\n')
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--run", "here", *SECRET_ARGS, cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0 and "nano3-pretrain-tiny: SUCCEEDED" in r.stdout, r.stdout[-2000:] + r.stderr
    assert (tmp_path / "seen.txt").read_text().splitlines() == [
        f"logger.wandb_entity {h(NV_FAKE)}", f"HF_TOKEN {h(HF_FAKE)} KEEP_ME=kept NCCL_DEBUG=WARN"]
    assert HF_FAKE not in r.stdout + r.stderr and NV_FAKE not in r.stdout + r.stderr
    d, _ = _job_yaml(tmp_path)
    assert _leaks(tmp_path, HF_FAKE, NV_FAKE) == [d / "secrets.env"]

def test_a_real_data_prep_with_a_secret_override_records_it_nowhere(tmp_path):
    "The real stage, not a stand-in: the tiny data prep through the local executor with HF_TOKEN overridden; its outputs"
    "(shards, receipts, blend.json, metadata.json with the job's config), NeMo-Run's folder and the job's log hold no value."
    pytest.importorskip("nemotron_nb.data_prep", reason="nemotron_nb.data_prep is not on this branch yet")
    _write_env(tmp_path, '[here]\nexecutor = "local"\n')
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--run", "here", f"run.env.env_vars.HF_TOKEN={HF_FAKE}",
                 cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0 and "nano3-data-prep-tiny: SUCCEEDED" in r.stdout, r.stdout[-2000:] + r.stderr
    meta = tmp_path / "output" / "nano3" / "stage0_pretrain_tiny" / "metadata.json"
    assert meta.is_file() and HF_FAKE not in r.stdout + r.stderr
    d, _ = _job_yaml(tmp_path)
    assert _leaks(tmp_path, HF_FAKE) == [d / "secrets.env"]

def test_local_executor_batch_prints_nemo_run_commands_and_the_job_completes(tmp_path):
    "--batch with executor = \"local\": no scancel or Slurm log names; the job outlives the command and runs the stage."
    (tmp_path / "fakebin").mkdir()
    (tmp_path / "fakebin" / "nemotron").write_text(FAKE_STAGE); (tmp_path / "fakebin" / "nemotron").chmod(0o755)
    _write_env(tmp_path, f'[here]\nexecutor = "local"\nstartup_commands = ["export PATH={tmp_path}/fakebin:$PATH"]\n')
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--batch", "here", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    m = re.search(r"^submitted nano3-pretrain-tiny: job (\S+)\n  logs:   (\S+)\n  follow: nemo experiment logs (\S+) 0\n"
                  r"  cancel: nemo experiment cancel (\S+) 0$", r.stdout, re.M)
    assert m and m.group(3) == m.group(4) and "scancel" not in r.stdout, r.stdout[-1500:]
    assert Path(m.group(2)).is_dir() and _job_yaml(tmp_path)[1]["submitted"]["experiment_id"] == m.group(3)
    deadline = time.time() + 120
    while not (tmp_path / "stage_ran.txt").exists() and time.time() < deadline: time.sleep(0.2)
    assert (tmp_path / "stage_ran.txt").read_text() == "nano3 pretrain -c tiny\n"

# ---------------------------------------------------------------------------------------------- the real stages on Slurm

def _tree(root: Path, pattern="*") -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob(pattern)) if p.is_file()}

@pytest.fixture(scope="module")
def local_tiny_data(tmp_path_factory):
    "The tiny nano3 data prep run once locally (shared by the tests below): its output folder."
    pytest.importorskip("nemotron_nb.data_prep", reason="nemotron_nb.data_prep is not on this branch yet")
    d = tmp_path_factory.mktemp("local_data")
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", cwd=d, env=_env(d))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    return d / "output" / "nano3" / "stage0_pretrain_tiny"

def test_data_prep_through_slurm_makes_the_same_shards_and_a_rerun_redoes_only_missing_ones(tmp_path, slurm, local_tiny_data):
    "Two Slurm tasks, each writing its group of the 8 shards; the last one to finish writes blend.json."
    _local_slurm_env(tmp_path, fake=False, extra='[two-tasks]\nextends = "local-slurm"\nntasks_per_node = 2\n')
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--run", "two-tasks", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "nano3-data-prep-tiny: SUCCEEDED" in r.stdout and "1,170,283 tokens" in r.stdout  # its summary, streamed
    job_id = re.search(r"\[SLURM\] Job (\d+)", r.stdout).group(1)
    for task in (1, 2):  # (rich wraps the log at 80 columns)
        assert f"nano3 data prep (tiny), task {task} of 2 (job {job_id}): 2 datasets, 4 of 8 shards (0 done" in r.stdout, r.stdout[-3000:]
    out = tmp_path / "output" / "nano3" / "stage0_pretrain_tiny"
    for pat in ("*.bin", "*.idx"):
        ours, theirs = _tree(out / "shards", pat), _tree(local_tiny_data / "shards", pat)
        assert len(ours) == 24 and ours == theirs  # 2 datasets x 4 shards x train/valid/test, byte for byte
    import json
    assert _job_yaml(tmp_path)[1]["submitted"]["jobs"][0]["job_id"] == job_id
    tasks = sorted(json.loads(p.read_text())["task"] for p in (out / "shards").rglob("receipts/*.json"))
    assert tasks == [f"0/2@{job_id}"] * 4 + [f"1/2@{job_id}"] * 4
    assert json.loads((out / "metadata.json").read_text())["tasks"] == 2
    assert (out / "blend.json").read_text().replace(str(out), "OUT") == \
           (local_tiny_data / "blend.json").read_text().replace(str(local_tiny_data), "OUT")
    # lose one shard (its files and receipt); a rerun through Slurm writes only that one again
    shard = out / "shards" / "stdlib-code"
    for p in [*shard.glob("*_000002.*"), shard / "receipts" / "shard_000002.json"]: p.unlink()
    before = {p: p.stat().st_mtime_ns for p in (out / "shards").rglob("*.bin")}
    time.sleep(0.05)
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--batch", "two-tasks", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    job_id = re.search(r"submitted nano3-data-prep-tiny: job (\d+)", r.stdout).group(1)
    assert _wait_state(job_id) == "COMPLETED"
    after = {p: p.stat().st_mtime_ns for p in (out / "shards").rglob("*.bin")}
    assert {p for p in after if after[p] != before.get(p)} == {shard / f"{s}_000002.bin" for s in ("train", "valid", "test")}
    assert _tree(out / "shards", "*.bin") == _tree(local_tiny_data / "shards", "*.bin")

TRAIN = ["train.train_iters=8", "train.seq_length=64", "train.eval_interval=8", "train.eval_iters=1",
         "scheduler.lr_warmup_iters=2", "checkpoint.save_interval=3", "logger.log_interval=1", "checkpoint.export_hf=false"]

def _losses(run_dir: Path) -> list:
    import json
    recs = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
    return [(r["iteration"], r["lm_loss"]) for r in recs if r.get("split") is None and "lm_loss" in r]

def test_pretrain_through_slurm_cancelled_and_resubmitted_resumes_and_equals_the_local_run(tmp_path, slurm, local_tiny_data):
    "tiny nano3, 8 iterations: --batch, scancel after the checkpoint of iteration 3, the same command with --run resumes"
    "from its last checkpoint, and the losses of all 8 iterations equal those of the uninterrupted local run exactly."
    pytest.importorskip("nemotron_nb.train", reason="nemotron_nb.train is not on this branch yet")
    work = local_tiny_data.parents[2]  # the folder where the tiny data was prepared (its local artifact registry too)
    _local_slurm_env(tmp_path, fake=False)
    env = _env(tmp_path, NEMOTRON_ENV_FILE=str(tmp_path / "env.toml"))
    r = nemotron("nano3", "pretrain", "-c", "tiny", *TRAIN, "checkpoint.save=output/checkpoints/local", cwd=work, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    reference = _losses(work / "output/checkpoints/local")
    assert [i for i, _ in reference] == list(range(1, 9))
    cmd = ["nano3", "pretrain", "-c", "tiny", *TRAIN, "checkpoint.save=output/checkpoints/slurm"]
    r = nemotron(*cmd, "--batch", "local-slurm", cwd=work, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    job_id = re.search(r"submitted nano3-pretrain-tiny: job (\d+)", r.stdout).group(1)
    run_dir = work / "output/checkpoints/slurm"
    deadline = time.time() + 300
    while not (run_dir / "iter_0000003").is_dir():
        assert time.time() < deadline and _sacct(job_id) in ("PENDING", "RUNNING", ""), _sacct(job_id)
        time.sleep(0.1)
    subprocess.run(["scancel", job_id], check=True)
    assert _wait_state(job_id) == "CANCELLED"
    done = sorted(p.name for p in run_dir.glob("iter_*"))
    assert done[0] == "iter_0000003" and done[-1] < "iter_0000008", done  # cancelled mid-run
    r = nemotron(*cmd, "--run", "local-slurm", cwd=work, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert re.search(rf"resumed from \S*{done[-1]} at iteration {int(done[-1][5:])}", r.stdout), r.stdout[-3000:]
    assert "nano3-pretrain-tiny: SUCCEEDED" in r.stdout and "done: 8 iterations" in r.stdout
    assert _losses(run_dir) == reference

DP_TRAIN = ["train.train_iters=4", "train.seq_length=32", "train.micro_batch_size=2", "train.eval_interval=4",
            "train.eval_iters=1", "scheduler.lr_warmup_iters=1", "checkpoint.save_interval=2", "logger.log_interval=1",
            "checkpoint.export_hf=false"]

def test_a_two_process_profile_trains_one_model_as_one_job_equal_to_local_torchrun(tmp_path, slurm, local_tiny_data):
    "A profile with nproc_per_node = 2: `--run` submits ONE Slurm job whose torchrun starts 2 processes that train one"
    "model (train.parallelism=ddp added to its command): its losses equal those of a local `torchrun --nproc-per-node 2"
    "... nemotron nano3 pretrain` of the same config to 1e-6 relative; one metrics.jsonl, one set of checkpoints."
    pytest.importorskip("nemotron_nb.train", reason="nemotron_nb.train is not on this branch yet")
    work = local_tiny_data.parents[2]
    _local_slurm_env(tmp_path, fake=False, extra='[two-procs]\nextends = "local-slurm"\nnproc_per_node = 2\n'
                                                 'env_vars = { OMP_NUM_THREADS = "1" }\n')
    env = _env(tmp_path, NEMOTRON_ENV_FILE=str(tmp_path / "env.toml"), OMP_NUM_THREADS="1")
    local = [str(BIN / "torchrun"), "--standalone", "--nproc-per-node=2", str(BIN / "nemotron"), "nano3", "pretrain", "-c",
             "tiny", *DP_TRAIN, "train.parallelism=ddp", "checkpoint.save=output/checkpoints/dp-local"]
    r = subprocess.run(local, cwd=work, capture_output=True, text=True, timeout=900, env={**os.environ, **env})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = nemotron("nano3", "pretrain", "-c", "tiny", *DP_TRAIN, "checkpoint.save=output/checkpoints/dp-slurm", "--run",
                 "two-procs", cwd=work, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "nano3-pretrain-tiny: 2 processes (1 node × 2) train one model: train.parallelism=ddp added" in r.stdout
    assert len(set(re.findall(r"\[SLURM\] Job (\d+)", r.stdout))) == 1 and "nano3-pretrain-tiny: SUCCEEDED" in r.stdout
    assert r.stdout.count("done: 4 iterations") == 1  # rank 0 alone reports
    [d] = [d for d in (work / ".nemotron" / "jobs").iterdir() if d.name.endswith("nano3-pretrain-tiny")
           and "dp-slurm" in (d / "command.sh").read_text()]
    import yaml
    job = yaml.safe_load((d / "job.yaml").read_text())
    assert job["tasks"][0]["command"].endswith("checkpoint.save=output/checkpoints/dp-slurm train.parallelism=ddp")
    assert "  parallelism: ddp\n" in (d / "train.yaml").read_text()
    ours, ref = work / "output/checkpoints/dp-slurm", work / "output/checkpoints/dp-local"
    a, b = _losses(ours), _losses(ref)
    assert [i for i, _ in a] == [i for i, _ in b] == [1, 2, 3, 4]
    assert all(abs(x - y) <= 1e-6 * abs(y) for (_, x), (_, y) in zip(a, b)), (a, b)
    files = lambda run: sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file() and "data_cache" not in p.parts)
    assert files(ours) == files(ref)  # the same files as the local 2-process run: one writer
    assert [f for f in files(ours) if f.endswith("metrics.jsonl")] == ["metrics.jsonl"]
    assert sorted(p.name for p in ours.glob("iter_*")) == ["iter_0000002", "iter_0000004"]

def test_gpu8_dry_run_shows_ddp_in_the_torchrun_job(tmp_path):
    "8 GPUs on one node, the local backend: the dry run says the 8 processes train one model, the resolved config and the"
    "task script that torchrun starts 8 times carry train.parallelism=ddp; a config that chose it keeps its own; a global"
    "batch that 8 processes cannot share is a note in the dry run and a one-line refusal of the submission."
    _write_env(tmp_path, '[gpu8]\nexecutor = "slurm"\naccount = "acct"\npartition = "batch"\ntime = "01:00:00"\n'
                         'tunnel = "local"\ngpus_per_node = 8\n')
    dry = lambda *a: nemotron("nano3", "pretrain", "-c", "tiny", "--batch", "gpu8", *a, cwd=tmp_path, env=_env(tmp_path))
    r = dry("--dry-run", "train.micro_batch_size=1")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert "\n# 8 processes (1 node × 8) train one model: train.parallelism=ddp added to the job's command (data parallel)\n" in r.stdout
    assert "\n  parallelism: ddp\n" in r.stdout  # the resolved config
    sb = _sbatch(r.stdout, "nano3-pretrain-tiny")
    assert "#SBATCH --gpus-per-node=8\n" in sb and re.search(r"torchrun .*--nnodes 1 --nproc-per-node 8 .*--no-python \S+/nano3-pretrain-tiny.sh\n", sb)
    assert "\nexec nemotron nano3 pretrain -c tiny train.micro_batch_size=1 train.parallelism=ddp\n" in r.stdout  # its task script
    r = dry("--dry-run", "train.micro_batch_size=1", "train.parallelism=ddp")
    assert "# 8 processes (1 node × 8) train one model: train.parallelism=ddp\n" in r.stdout
    assert r.stdout.count("train.parallelism=ddp") == 2  # the command line's, in the task script and that line
    r = dry("--dry-run")
    assert r.returncode == 0 and r.stderr == ("note: train.global_batch_size=8 is not a multiple of train.micro_batch_size × "
                                              f"processes = 4 × 8 ({tmp_path}/env.toml [gpu8]): the job would stop at its start\n")
    r = dry()
    assert (r.returncode, r.stderr) == (2, "error: train.global_batch_size=8 is not a multiple of train.micro_batch_size × "
                                           f"processes = 4 × 8 ({tmp_path}/env.toml [gpu8])\n")
    r = dry("--dry-run", "train.parallelism=none")
    assert r.returncode == 2 and r.stderr.startswith("error: train.parallelism=none on ")
    assert _files(tmp_path) == ["env.toml"]

# ---------------------------------------------------------------------------------------------- a job where nemotron_nb is not installed

def _container_standin(d: Path, without: tuple = ()) -> Path:
    "A stand-in for a container's Python: a venv of the base interpreter whose site-packages names this venv's"
    "site-packages as a plain path (torch, megatron-core, yaml, ... importable) in a .pth file. Python runs no .pth"
    "file of a folder added that way, so the editable install of nemotron_nb (a .pth import hook) is not there."
    "`without`: distributions it lacks (then the path is a folder of links to every other entry of site-packages)."
    subprocess.run([os.path.join(sys.base_prefix, "bin", "python3"), "-m", "venv", "--without-pip", str(d)], check=True)
    site = next((d / "lib").glob("python3*/site-packages"))
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir() and not p.startswith(sys.base_prefix)]
    if without:
        (d / "packages").mkdir()
        for e in (e for p in ours for e in Path(p).iterdir()):
            if not any(e.name == w or e.name.lower().startswith(f"{w}-") for w in without):
                if not (d / "packages" / e.name).exists(): (d / "packages" / e.name).symlink_to(e)
        ours = [str(d / "packages")]
    (site / "container_packages.pth").write_text("\n".join(ours) + "\n")
    r = subprocess.run([str(d / "bin" / "python3"), "-c", "import torch, yaml, rich, fastcore, megatron.core\nimport nemotron_nb"],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, cwd=d)
    assert r.stderr.strip().endswith("ModuleNotFoundError: No module named 'nemotron_nb'"), r.stderr
    return d / "bin"

NO_OWN_COPY = "container: no nemotron_nb of its own"

def _write_standin_profile(work: Path, name: str, standin: Path, extra: str = ""):
    "env.toml with profile `name`: the local Slurm, the job's Python the container stand-in (the container's own"
    "PYTHONPATH), and a job line that says when that Python has no nemotron_nb of its own; `extra`: more keys."
    _write_env(work, f"""
[{name}]
executor = "slurm"
account = "local"
partition = "debug"
time = "00:15:00"
tunnel = "local"
{extra}env_vars = {{ PYTHONPATH = "/opt/container/python" }}
startup_commands = ["export PATH={standin}:$PATH",
                    "python3 -I -c 'import nemotron_nb' 2>/dev/null || echo '{NO_OWN_COPY}'"]
""")

def test_jobs_where_nemotron_nb_is_not_installed_run_the_shipped_code_and_its_edits(tmp_path, slurm):
    "A profile whose job Python has the dependencies but not nemotron_nb (a container stand-in first on PATH through"
    "`startup_commands`, the container's own PYTHONPATH): the tiny data prep and 5 iterations of the tiny pretraining"
    "succeed on the shipped code, whose hash the job log names; then with an edit in a copy of the package, the job runs"
    "the edit."
    pytest.importorskip("nemotron_nb.train", reason="nemotron_nb.train is not on this branch yet")
    from nemotron_nb.ship import package_dir, source_hash, JOB_DEPENDENCIES
    standin = _container_standin(tmp_path / "container")
    work = tmp_path / "work"; work.mkdir()
    _write_standin_profile(work, "container", standin)
    env = _env(tmp_path, NEMOTRON_ENV_FILE=str(work / "env.toml"))
    tree = source_hash(package_dir())

    def shipped(r, h):
        "The submission and the job name the same hash; the job imported the shipped copy, not one of its own."
        assert f"source sha256 {h}, shipped from " in r.stdout, r.stdout[-3000:]  # the submitting side
        assert re.search(rf"nemotron_nb \S+ from \S+/code/nemotron_nb\n", r.stdout), r.stdout[-3000:]  # the job's first lines
        assert f"nemotron_nb source sha256 {h}\n" in r.stdout and NO_OWN_COPY in r.stdout
        assert f"dependencies: all {len(JOB_DEPENDENCIES)} importable" in r.stdout  # nothing installed: all there

    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--run", "container", cwd=work, env=env)
    assert r.returncode == 0 and "nano3-data-prep-tiny: SUCCEEDED" in r.stdout, r.stdout[-3000:] + r.stderr
    assert "1,170,283 tokens" in r.stdout
    shipped(r, tree)
    train = ["train.train_iters=5", "train.seq_length=64", "train.eval_interval=5", "train.eval_iters=1",
             "scheduler.lr_warmup_iters=2", "checkpoint.save_interval=5", "logger.log_interval=1", "checkpoint.export_hf=false",
             "checkpoint.save=output/checkpoints/container"]
    r = nemotron("nano3", "pretrain", "-c", "tiny", *train, "--run", "container", cwd=work, env=env)
    assert r.returncode == 0 and "nano3-pretrain-tiny: SUCCEEDED" in r.stdout, r.stdout[-3000:] + r.stderr
    assert "done: 5 iterations" in r.stdout and (work / "output/checkpoints/container/iter_0000005").is_dir()
    shipped(r, tree)
    # an uncommitted edit: the submitting code is a copy of the package with one more line; the job runs that line
    edited = tmp_path / "edited"
    shutil.copytree(package_dir(), edited / "nemotron_nb", ignore=shutil.ignore_patterns("__pycache__"))
    with open(edited / "nemotron_nb" / "__init__.py", "a") as f:
        f.write("import os as _os\nif _os.environ.get('SLURM_JOB_ID'): print(f\"edited copy in Slurm job {_os.environ['SLURM_JOB_ID']}\")\n")
    h = source_hash(edited / "nemotron_nb")
    assert h != tree
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--run", "container", cwd=work,
                 env={**env, "PYTHONPATH": str(edited)})
    assert r.returncode == 0 and "nano3-data-prep-tiny: SUCCEEDED" in r.stdout, r.stdout[-3000:] + r.stderr
    shipped(r, h)
    job_id = re.search(r"\[SLURM\] Job (\d+)", r.stdout).group(1)
    assert f"edited copy in Slurm job {job_id}" in r.stdout
    d = sorted((work / ".nemotron" / "jobs").iterdir())[-1]
    assert source_hash(d / "code" / "nemotron_nb") == h  # the provenance keeps what the job ran

def test_a_dependency_the_job_lacks_is_installed_from_the_shipped_wheels_without_network(tmp_path, slurm):
    "A container stand-in without `mdurl` (which rich needs) and no package index (a dead PIP_INDEX_URL): with"
    "`ship_wheels = true` the job installs mdurl, and only mdurl, from the wheels shipped with the code, then runs."
    import importlib.metadata
    from nemotron_nb.ship import JOB_DEPENDENCIES
    standin = _container_standin(tmp_path / "container", without=("mdurl",))
    r = subprocess.run([str(standin / "python3"), "-c", "import mdurl"], capture_output=True, text=True, cwd=tmp_path)
    assert "No module named 'mdurl'" in r.stderr
    _write_env(tmp_path, f"""
[offline]
executor = "slurm"
account = "local"
partition = "debug"
time = "00:15:00"
tunnel = "local"
ship_wheels = true
env_vars = {{ PYTHONPATH = "/opt/container/python", PIP_INDEX_URL = "http://127.0.0.1:9/simple" }}
startup_commands = ["export PATH={standin}:$PATH"]
""")
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--run", "offline", cwd=tmp_path, env=_env(tmp_path))
    assert r.returncode == 0 and "nano3-data-prep-tiny: SUCCEEDED" in r.stdout, r.stdout[-3000:] + r.stderr
    assert re.search(rf"dependencies: installed mdurl=={importlib.metadata.version('mdurl')} into \S+/code/\.deps\n", r.stdout)
    assert "1,170,283 tokens" in r.stdout
    d, job = _job_yaml(tmp_path)
    assert len(list((d / "code" / "wheels").glob("*.whl"))) == len(JOB_DEPENDENCIES) and job["code"]["wheels"] is True

def test_original_profile_mock_smoke_run_on_a_node_without_the_project(tmp_path, slurm):
    "The issue's user: a profile in the original launcher's key names (`nprocs_per_node`, `packager`), the"
    "original's smoke run in Megatron-Bridge's names with `data.mock=true`, `--run` on a job Python"
    "without nemotron_nb: no data prep folder anywhere, the shipped code trains 3 iterations on synthetic tokens."
    from nemotron_nb.ship import package_dir, source_hash
    standin = _container_standin(tmp_path / "container")
    work = tmp_path / "work"; work.mkdir()
    _write_standin_profile(work, "cluster", standin, 'nprocs_per_node = 1\npackager = "pattern"\n')
    smoke = ["data.mock=true", "train.global_batch_size=8", "train.train_iters=3", "scheduler.lr_warmup_iters=1",
             "model.hybrid_override_pattern=MEME*ME", "model.num_layers=7", "train.seq_length=64", "train.eval_interval=3",
             "train.eval_iters=1", "checkpoint.save_interval=3", "logger.log_interval=1", "checkpoint.export_hf=false",
             "checkpoint.save=output/checkpoints/smoke"]
    env = _env(tmp_path, NEMOTRON_ENV_FILE=str(work / "env.toml"))
    r = nemotron("nano3", "pretrain", "-c", "tiny", *smoke, "--run", "cluster", cwd=work, env=env)
    assert r.returncode == 0 and "nano3-pretrain-tiny: SUCCEEDED" in r.stdout, r.stdout[-3000:] + r.stderr
    assert NO_OWN_COPY in r.stdout and f"nemotron_nb source sha256 {source_hash(package_dir())}\n" in r.stdout
    assert "done: 3 iterations" in r.stdout and (work / "output/checkpoints/smoke/iter_0000003").is_dir()
    assert not (work / "output" / "data").exists() and not list(work.rglob("blend.json"))  # no data prep anywhere
    log = [json.loads(l) for l in (work / "output/checkpoints/smoke/metrics.jsonl").read_text().splitlines()]
    assert [e["iteration"] for e in log if "lm_loss" in e and e.get("split", "train") == "train"] == [1, 2, 3]
