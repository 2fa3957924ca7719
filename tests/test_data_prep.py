"`nemotron <model> data prep pretrain` as a user runs it: in a subprocess, killed and resumed, with bad input, read back by megatron-core."
import hashlib, json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest
from conftest import nemotron, BIN

from nemotron_nb.tokenizer import stdlib_source_files, pydoc_topics
N_CODE, N_TOPICS = len(stdlib_source_files()), len(pydoc_topics())  # the tiny corpus: 151 files and 79 topics on Python 3.11
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}

def _sums(out: Path) -> dict:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((out / "shards").rglob("*")) if p.suffix in (".bin", ".idx")}

def _tmp_files(out: Path) -> list:
    return sorted(str(p) for p in out.rglob("*.tmp*"))

@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    "Both tiny recipes, once, through the CLI in an empty folder (super3 with W&B in offline mode, no account)."
    cwd = tmp_path_factory.mktemp("tiny")
    env = {**OFFLINE, "WANDB_PROJECT": "", "WANDB_DIR": str(cwd)}
    r_nano = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", cwd=cwd, env=env)
    r_super = nemotron("super3", "data", "prep", "pretrain", "-c", "tiny", cwd=cwd, env={**env, "WANDB_PROJECT": "nemotron-nb-test"})
    return cwd, {"nano3": r_nano, "super3": r_super}

@pytest.mark.parametrize("model,weights", [("nano3", {"stdlib-code": 0.7, "pydoc-english": 0.3}),
                                           ("super3", {"stdlib-code": 0.6, "pydoc-english": 0.4})])
def test_tiny_recipe_shards_equal_the_tokenizer(tiny_runs, model, weights, monkeypatch):
    "Every document megatron-core reads back is the tokenizer's output for its text plus EOS; every dataset is in every split."
    from nemotron_nb.recipe import load_config
    from nemotron_nb.data_prep import make_plan, _documents
    from nemotron_nb.indexed import read_documents
    from nemotron_nb.tokenizer import load_tokenizer
    from collections import Counter
    cwd, runs = tiny_runs
    r = runs[model]
    assert r.returncode == 0, r.stderr
    out = cwd / "output" / model / "stage0_pretrain_tiny"
    meta = json.loads((out / "metadata.json").read_text())
    assert {k: v["documents"] for k, v in meta["datasets"].items()} == {"stdlib-code": N_CODE, "pydoc-english": N_TOPICS}
    assert meta["tokenizer"]["vocab_size"] == 8192 and meta["tokenizer"]["dtype"] == "uint16"
    monkeypatch.chdir(cwd)  # the config's output_dir is relative to where the command ran
    plan = make_plan(load_config(model, "tiny", kind="data_prep"))
    tok = load_tokenizer()
    assert meta["tokenizer"]["fingerprint"] == tok.fingerprint
    n_docs = 0
    for t in plan.tasks:
        texts = list(_documents(t, Counter()))
        expected = [ids + [tok.eos_id] for ids in tok.encode(texts)]
        routes = plan.holdout.route(len(texts))
        for s in ("train", "valid", "test"):
            want = [e for e, rt in zip(expected, routes) if rt == s]
            if want: assert [a.tolist() for a in read_documents(t.prefix(s))] == want
            n_docs += len(want)
    assert n_docs == N_CODE + N_TOPICS
    blend = json.loads((out / "blend.json").read_text())
    for s in ("train", "valid", "test"):
        got = Counter()
        for w, prefix in zip(blend[s][::2], blend[s][1::2]):
            assert isinstance(w, str) and not prefix.endswith((".bin", ".idx")) and Path(prefix + ".bin").is_file()
            got[Path(prefix).parent.name] += float(w)
        assert got.keys() == weights.keys() and all(abs(got[k] - weights[k]) < 1e-9 for k in weights), (s, got)

def test_megatron_reads_blend_json(tiny_runs):
    "megatron-core's blend parsing and dataset builder accept blend.json: samples of seq_length+1 tokens per split."
    from megatron.core.datasets.utils import get_blend_from_list
    from megatron.core.datasets.blended_megatron_dataset_config import BlendedMegatronDatasetConfig
    from nemotron_nb.loader import build_datasets
    cwd, _ = tiny_runs
    path = cwd / "output" / "nano3" / "stage0_pretrain_tiny" / "blend.json"
    blend = json.loads(path.read_text())
    per_split = [get_blend_from_list(blend[s]) for s in ("train", "valid", "test")]
    assert [len(p[0]) for p in per_split] == [len(blend[s]) // 2 for s in ("train", "valid", "test")]
    BlendedMegatronDatasetConfig(random_seed=1234, sequence_length=128, blend_per_split=per_split)
    ds = build_datasets(path, seq_length=128, num_samples={"train": 64, "valid": 8, "test": 8}, vocab_size=8192, cache_dir=cwd / "cache")
    assert ds["train"][0].shape == (129,) and len(ds["valid"]) >= 8 and int(ds["train"].batch(0, 4).max()) < 8192

def test_artifacts_registered_locally_and_offline(tiny_runs):
    from nemotron_nb.artifacts import resolve_artifact
    cwd, _ = tiny_runs
    reg = cwd / "output" / "artifacts"
    nano = resolve_artifact("nano3-pretrain-data-tiny:latest", registry=reg)
    assert nano.path == str(cwd / "output" / "nano3" / "stage0_pretrain_tiny") and Path(nano.path, "blend.json").is_file()
    assert nano.wandb is None and nano.metadata["total_documents"] == N_CODE + N_TOPICS and "stdlib://sources" in nano.inputs
    sup = resolve_artifact("super3-pretrain-data-tiny", registry=reg)
    assert sup.wandb["mode"] == "offline" and list((cwd / "wandb").glob(f"offline-run-*-{sup.wandb['run_id']}"))

def test_sigkill_then_rerun_is_byte_identical(tmp_path):
    "Kill a two-worker run after some shards are done; the rerun finishes the rest, and the shards equal an uninterrupted run's."
    args = ["nano3", "data", "prep", "pretrain", "-c", "tiny", "num_shards=8"]
    ref = nemotron(*args, "output_dir=ref", "num_workers=1", cwd=tmp_path, env=OFFLINE)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "killed"
    exe = str(BIN / "nemotron")
    p = subprocess.Popen([exe, *args, f"output_dir={out}", "num_workers=2"], cwd=tmp_path, env={**os.environ, **OFFLINE},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("shards/*/receipts/*.json"))) < 3 and p.poll() is None: time.sleep(0.01)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    done_before = len(list(out.glob("shards/*/receipts/*.json")))
    assert 3 <= done_before < 16 and not (out / "blend.json").exists(), done_before  # killed mid-run
    time.sleep(0.5)  # the workers die with their parent (PR_SET_PDEATHSIG)
    r = nemotron(*args, f"output_dir={out}", "num_workers=2", cwd=tmp_path, env=OFFLINE)
    assert r.returncode == 0, r.stderr
    assert f"({done_before} done before, {16 - done_before} to write)" in " ".join(r.stdout.split())
    assert _sums(out) == _sums(tmp_path / "ref") and len(_sums(out)) == 16 * 3 * 2
    assert _tmp_files(out) == []
    receipts = [json.loads(p.read_text()) for p in out.glob("shards/*/receipts/*.json")]
    assert all(f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
               for rc in receipts for split in rc["files"].values() for f in split.values())

def test_sample_gets_its_own_folder(tmp_path):
    r = nemotron("super3", "data", "prep", "pretrain", "-c", "tiny", "--sample", "20", cwd=tmp_path, env=OFFLINE)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "output" / "super3" / "stage0_pretrain_tiny" / "sample-20"
    meta = json.loads((out / "metadata.json").read_text())
    assert {k: v["documents"] for k, v in meta["datasets"].items()} == {"stdlib-code": 20, "pydoc-english": 20}
    assert {k: v["shards"] for k, v in meta["datasets"].items()} == {"stdlib-code": 1, "pydoc-english": 1}
    assert sorted(os.listdir(tmp_path / "output" / "super3" / "stage0_pretrain_tiny")) == ["sample-20"]
    assert (tmp_path / "output" / "artifacts" / "super3-pretrain-data-tiny-sample-20" / "latest").read_text() == "v0\n"

def test_bad_rows_are_counted_and_reported(tmp_path):
    rows = [b'{"text": "fine %d"}' % i for i in range(20)] + [b'{"text": "open', b'{"txt": "x"}', b'{"text": "\\t "}', b'{"text": "\xff"}', b'7']
    (tmp_path / "d.jsonl").write_bytes(b"\n".join(rows) + b"\n")
    (tmp_path / "blend.json").write_text(json.dumps({"datasets": [{"name": "mixed", "path": str(tmp_path / "d.jsonl")}]}))
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", f"blend_path={tmp_path / 'blend.json'}", "num_shards=4",
                 "output_dir=out", cwd=tmp_path, env=OFFLINE)
    assert r.returncode == 0, r.stderr
    assert ("mixed: 5 of 25 rows skipped: empty 1, invalid_utf8 1, malformed_json 1, missing_text_field 1, not_an_object 1"
            in " ".join(r.stdout.split()))
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())["datasets"]["mixed"]
    assert (meta["documents"], meta["input_rows"]) == (20, 25)

@pytest.mark.parametrize("args,message", [
    (["num_shard=3"], "error: unknown key 'num_shard' (did you mean 'num_shards'?) (from the command line)"),
    (["blend_path=/no/such/blend.json"], "error: blend file not found: /no/such/blend.json"),
    (["tokenizer.model=./nowhere"], "error: tokenizer.model='./nowhere': no such folder, and not a Hugging Face hub id (org/name)"),
    (["valid_shards=4", "test_shards=4"], "error: valid_shards=4 + test_shards=4 leave nothing to train on: they must be fewer than the 8 shards of the blend (2 datasets x num_shards=4)"),
])
def test_bad_config_exit_2_nothing_written(tmp_path, args, message):
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", *args, cwd=tmp_path, env=OFFLINE)
    assert r.returncode == 2 and r.stderr.strip() == message, r.stderr
    assert list(tmp_path.iterdir()) == []

def test_malformed_and_missing_inputs_exit_2(tmp_path):
    (tmp_path / "bad.json").write_text('{"datasets": [{"name": "a", "path": "x.jsonl"}')
    (tmp_path / "gone.json").write_text(json.dumps({"datasets": [{"name": "a", "path": str(tmp_path / "nope.jsonl")}]}))
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", f"blend_path={tmp_path / 'bad.json'}", cwd=tmp_path, env=OFFLINE)
    assert r.returncode == 2 and r.stderr.strip() == f"error: {tmp_path / 'bad.json'}:1:47: malformed JSON (Expecting ',' delimiter)"
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", f"blend_path={tmp_path / 'gone.json'}", cwd=tmp_path, env=OFFLINE)
    assert r.returncode == 2 and r.stderr.strip() == f"error: {tmp_path / 'gone.json'}: dataset 'a': path not found: {tmp_path / 'nope.jsonl'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "gone.json"]


# --- one writer per folder, empty output, output_dir and dry-run checks (issue 12) ---
import socket, threading
TOPICS_ARGS = ["nano3", "data", "prep", "pretrain", "-c", "tiny", "num_shards=4", "num_workers=1"]

def _topics_blend(d: Path) -> Path:
    (d / "topics.json").write_text(json.dumps({"datasets": [{"name": "pydoc-english", "path": "stdlib://pydoc_topics"}]}))
    return d / "topics.json"

@pytest.fixture(scope="module")
def topics_ref(tmp_path_factory):
    "One clean run over the 79 pydoc topics (4 shards): the bytes the other runs must equal."
    d = tmp_path_factory.mktemp("topics")
    r = nemotron(*TOPICS_ARGS, f"blend_path={_topics_blend(d)}", f"output_dir={d / 'ref'}", cwd=d,
                 env={**OFFLINE, "NEMOTRON_ARTIFACTS": str(d / "reg")})
    assert r.returncode == 0, r.stderr
    return d / "ref"

def _full_pipe():
    "A pipe whose buffer is full: a process writing its stdout there stops at its first line until the other end reads."
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True: os.write(w, b"x" * 4096)
    except BlockingIOError: pass
    try:
        while True: os.write(w, b"x")
    except BlockingIOError: pass
    os.set_blocking(w, True)  # the flag belongs to the pipe, which the child shares
    return r, w

def _receipts_verify(out: Path) -> int:
    receipts = [json.loads(p.read_text()) for p in out.glob("shards/*/receipts/*.json")]
    for rc in receipts:
        for split in rc["files"].values():
            for f in split.values():
                data = Path(f["path"]).read_bytes()
                assert (len(data), hashlib.sha256(data).hexdigest()) == (f["bytes"], f["sha256"]), f["path"]
    return len(receipts)

def test_second_run_on_one_folder_refuses(tmp_path, topics_ref):
    "A run holds the folder (stopped at its first line of output, after it took the lock); a second run on it refuses at once."
    blend, out = _topics_blend(tmp_path), tmp_path / "out"
    args = [*TOPICS_ARGS, f"blend_path={blend}", f"output_dir={out}"]
    env = {**os.environ, **OFFLINE, "NEMOTRON_ARTIFACTS": str(tmp_path / "reg")}
    r, w = _full_pipe()
    with open(tmp_path / "first.err", "w") as err:
        first = subprocess.Popen([str(BIN / "nemotron"), *args], cwd=tmp_path, env=env, stdout=w, stderr=err)
    os.close(w)
    try:
        deadline, holder = time.time() + 120, f"{first.pid}@{socket.gethostname()}"
        while first.poll() is None and time.time() < deadline:  # until the first has taken the lock
            try:
                if (out / ".lock").read_text().strip() == holder: break
            except FileNotFoundError: pass
            time.sleep(0.01)
        assert first.poll() is None and (out / ".lock").read_text().strip() == holder, (tmp_path / "first.err").read_text()
        second = nemotron(*args, cwd=tmp_path, env=OFFLINE)
        assert second.returncode == 2
        assert second.stderr.strip() == f"error: {out}: another data prep (pid {first.pid}) is writing this folder; wait for it to finish, or stop it"
        assert not (out / "shards").exists()  # the first has written nothing yet, and the second nothing at all
    finally:
        drained = []
        reader = threading.Thread(target=lambda: drained.append(b"".join(iter(lambda: os.read(r, 1 << 16), b""))))
        reader.start(); first.wait(timeout=300); reader.join(); os.close(r)
    assert first.returncode == 0, (tmp_path / "first.err").read_text()
    assert _sums(out) == _sums(topics_ref) and len(_sums(out)) == 4 * 3 * 2
    assert _receipts_verify(out) == 4 and _tmp_files(out) == [] and not (out / ".lock").exists()

def test_stale_lock_taken_over_dead_temporaries_removed(tmp_path, topics_ref):
    out, host = tmp_path / "out", socket.gethostname()
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    (out / "shards" / "pydoc-english").mkdir(parents=True)
    (out / ".lock").write_text(f"{dead}\n")  # a killed run's
    leftovers = {"dead": out / "shards" / "pydoc-english" / f"train_000000.{dead}@{host}.tmp.bin.tmp",
                 "dead_renamed": out / "shards" / "pydoc-english" / f"valid_000001.{dead}@{host}.tmp.idx",
                 "untagged": out / "shards" / "pydoc-english" / "test_000002.bin.tmp",
                 "live": out / f"plan.json.{os.getpid()}@{host}.tmp", "other_host": out / f"blend.json.{dead}@elsewhere.tmp"}
    for p in leftovers.values(): p.write_bytes(b"half")
    r = nemotron(*TOPICS_ARGS, f"blend_path={_topics_blend(tmp_path)}", f"output_dir={out}", cwd=tmp_path,
                 env={**OFFLINE, "NEMOTRON_ARTIFACTS": str(tmp_path / "reg")})
    assert r.returncode == 0, r.stderr
    assert {k: p.exists() for k, p in leftovers.items()} == {"dead": False, "dead_renamed": False, "untagged": False, "live": True, "other_host": True}
    assert _sums(out) == _sums(topics_ref) and _receipts_verify(out) == 4 and not (out / ".lock").exists()

def _registry(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

def test_empty_dataset_fails_and_keeps_latest(tmp_path):
    rows = [json.dumps({"text": f"document {i}", "n": i}) for i in range(20)]
    (tmp_path / "d.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "void.jsonl").write_text("")
    good = {"name": "good", "path": str(tmp_path / "d.jsonl")}
    (tmp_path / "ok.json").write_text(json.dumps({"datasets": [good]}))
    (tmp_path / "bad.json").write_text(json.dumps({"datasets": [good, {"name": "nums", "path": str(tmp_path / "d.jsonl"), "text_field": "n"},
                                                                {"name": "void", "path": str(tmp_path / "void.jsonl"), "weight": 0.5}]}))
    env = {**OFFLINE, "NEMOTRON_ARTIFACTS": str(tmp_path / "reg")}
    run = lambda blend, *more: nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", f"blend_path={tmp_path / blend}", "num_shards=3",
                                        "num_workers=1", "output_dir=out", *more, cwd=tmp_path, env=env)
    r = run("ok.json")
    assert r.returncode == 0, r.stderr
    before, outputs = _registry(tmp_path / "reg"), {n: (tmp_path / "out" / n).read_bytes() for n in ("blend.json", "metadata.json")}
    assert before["nano3-pretrain-data-tiny/latest"] == b"v0\n"
    r = run("bad.json")
    fix = "; fix its data or config, or pass --allow-empty to accept an empty dataset"
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"error: dataset 'nums' yielded no documents: 20 of 20 rows skipped (text_not_a_string 20; text_field is 'n'){fix}",
                                     f"error: dataset 'void' yielded no documents: its 1 file(s) hold no rows{fix}"]
    assert _registry(tmp_path / "reg") == before
    assert {n: (tmp_path / "out" / n).read_bytes() for n in outputs} == outputs
    r = run("bad.json", "--allow-empty")
    assert r.returncode == 0, r.stderr
    assert "warning: dataset 'nums' yielded no documents: 20 of 20 rows skipped (text_not_a_string 20; text_field is 'n') (accepted: allow_empty)" in " ".join(r.stdout.split())
    assert (tmp_path / "reg" / "nano3-pretrain-data-tiny" / "latest").read_text() == "v1\n"
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert {k: v["documents"] for k, v in meta["datasets"].items()} == {"good": 20, "nums": 0, "void": 0} and meta["config"]["allow_empty"] is True

def test_min_doc_chars_above_every_document_fails(tmp_path):
    r = nemotron(*TOPICS_ARGS, f"blend_path={_topics_blend(tmp_path)}", "output_dir=out", "min_doc_chars=100000000", cwd=tmp_path,
                 env={**OFFLINE, "NEMOTRON_ARTIFACTS": str(tmp_path / "reg")})
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"error: dataset 'pydoc-english' yielded no documents: {N_TOPICS} of {N_TOPICS} rows skipped (too_short {N_TOPICS}; min_doc_chars is 100000000)"
        "; fix its data or config, or pass --allow-empty to accept an empty dataset",
        f"error: {tmp_path / 'out'}: no tokens written from any dataset of positive weight: nothing to train on"]
    assert not (tmp_path / "reg").exists() and not (tmp_path / "out" / "blend.json").exists()

def test_output_dir_a_file_or_under_a_file(tmp_path):
    (tmp_path / "f").write_text("a file")
    for out, message in [("f", f"{tmp_path / 'f'} is a file"), ("f/sub", f"{tmp_path / 'f' / 'sub'} lies under {tmp_path / 'f'}, which is a file")]:
        for dry in ([], ["--dry-run"]):
            r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", f"output_dir={out}", *dry, cwd=tmp_path, env=OFFLINE)
            assert (r.returncode, r.stderr, r.stdout) == (2, f"error: output_dir={out}: {message}; expected a folder (or a path that does not exist yet)\n", "")
    assert sorted(os.listdir(tmp_path)) == ["f"]

@pytest.mark.parametrize("stage,key", [(["data", "prep", "pretrain"], "blend_path"), (["pretrain"], "data.blend_path")])
@pytest.mark.parametrize("case", ["missing", "invalid"])
def test_dry_run_rejects_the_blend_the_run_rejects(tmp_path, stage, key, case):
    "The dry run says the line the run says, exit 2, and writes nothing."
    blend = tmp_path / "in" / "blend.json"
    blend.parent.mkdir()
    if case == "invalid": blend.write_text('{"datasets": [{"name": "a", "path": "x.jsonl"}]' if key == "blend_path" else '{"train": ["1", "/no/shard"]}')
    args = ["nano3", *stage, "-c", "tiny", f"{key}={blend}", f"{'output_dir' if key == 'blend_path' else 'checkpoint.save'}={tmp_path / 'out'}"]
    dry = nemotron(*args, "--dry-run", cwd=tmp_path, env=OFFLINE)
    assert (dry.returncode, dry.stdout) == (2, "") and sorted(os.listdir(tmp_path)) == ["in"]
    real = nemotron(*args, cwd=tmp_path, env={**OFFLINE, "NEMOTRON_ARTIFACTS": str(tmp_path / "reg")})
    assert real.returncode == 2 and dry.stderr == real.stderr and len(dry.stderr.splitlines()) == 1
    expected = {("blend_path", "missing"): f"error: blend file not found: {blend}",
                ("blend_path", "invalid"): f"error: {blend}:1:48: malformed JSON (Expecting ',' delimiter)",
                ("data.blend_path", "missing"): f"error: data.blend_path={blend}: no such file",
                ("data.blend_path", "invalid"): f"error: {blend}: train[1]: shard /no/shard.bin not found"}
    assert dry.stderr.strip() == expected[(key, case)]

def test_two_tasks_of_one_job_write_one_folder_together(tmp_path, topics_ref):
    "The tasks of one job (as Slurm starts them, side by side) share the folder's lock: both finish, the bytes equal one run's."
    out = tmp_path / "out"
    args = [str(BIN / "nemotron"), *TOPICS_ARGS, f"blend_path={_topics_blend(tmp_path)}", f"output_dir={out}"]
    env = {**os.environ, **OFFLINE, "NEMOTRON_ARTIFACTS": str(tmp_path / "reg"), "NEMOTRON_NUM_TASKS": "2", "NEMOTRON_TASK_GROUP": "77"}
    tasks = [subprocess.Popen(args, cwd=tmp_path, env={**env, "NEMOTRON_TASK_RANK": str(r)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    results = [(t.communicate(timeout=300), t.returncode) for t in tasks]
    assert [rc for _, rc in results] == [0, 0], [err for (_, err), _ in results]
    assert _sums(out) == _sums(topics_ref) and _receipts_verify(out) == 4 and (out / "blend.json").is_file()
    assert sorted(json.loads(p.read_text())["task"] for p in out.glob("shards/*/receipts/*.json")) == ["0/2@77", "0/2@77", "1/2@77", "1/2@77"]
    assert not (out / ".lock").exists() and _tmp_files(out) == []
