"""Data parallelism on CPU: `torchrun --nproc-per-node 2 … nemotron {nano3,super3} pretrain` (gloo) trains the same model
as one process with the same global batch: the same losses, weights and router biases, one metrics.jsonl, one set of
checkpoints. Synthetic tokens (data.mock=true), 10 iterations of 8 × 64 tokens, micro-batches of 2 (4 per step in one
process, 2 per rank in two). One thread per process (OMP_NUM_THREADS=1): with several, the MoE's scatter-add sums in
thread order and the last bits of the losses vary from run to run. Weights agree to 1e-6
(absolute and relative) but for a few elements of the vocabulary tables (`test_final_weights_and_router_biases_equal`)."""
import json, os, shutil, signal, subprocess, time
from pathlib import Path
import pytest
import torch
from conftest import BIN

ARGS = ["data.mock=true", "train.train_iters=10", "train.seq_length=64", "train.micro_batch_size=2",
        "train.eval_interval=5", "train.eval_iters=1", "scheduler.lr_warmup_iters=2", "checkpoint.save_interval=5",
        "checkpoint.export_hf=false", "train.parallelism=ddp", "checkpoint.save=run"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def _pretrain(cwd: Path, model: str, nproc: int, *extra, check=True):
    cwd.mkdir(parents=True, exist_ok=True)
    cli = [str(BIN / "nemotron"), model, "pretrain", "-c", "tiny", *ARGS, *extra]
    cmd = cli if nproc == 1 else [str(BIN / "torchrun"), "--standalone", f"--nproc-per-node={nproc}", *cli]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env=ENV)
    if check: assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r

def _records(run: Path) -> list[dict]:
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]

def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)

@pytest.fixture(scope="module", params=["nano3", "super3"])
def runs(request, tmp_path_factory):
    "(model, the 1-process run folder, the 2-process run folder, the 2-process stdout)."
    d = tmp_path_factory.mktemp(request.param)
    _pretrain(d / "one", request.param, 1)
    r = _pretrain(d / "two", request.param, 2)
    return request.param, d / "one" / "run", d / "two" / "run", r.stdout

def test_losses_equal_one_process(runs):
    model, one, two, _ = runs
    a, b = _records(one), _records(two)
    assert [(r["iteration"], r.get("split")) for r in a] == [(r["iteration"], r.get("split")) for r in b]
    assert [r["iteration"] for r in b if "split" not in r] == list(range(1, 11))
    assert [r["iteration"] for r in b if r.get("split") == "valid"] == [0, 5, 10]
    for x, y in zip(a, b):
        assert _close(x["lm_loss"], y["lm_loss"]), (x, y)
        for k in ("mtp_losses",): assert all(_close(u, v) for u, v in zip(x.get(k, []), y.get(k, []))), (x, y)
    assert (model == "super3") == all(r["mtp_loss"] > 0 for r in b if "split" not in r)

def test_final_weights_and_router_biases_equal(runs):
    model, one, two, _ = runs
    w1 = torch.load(one / "iter_0000010" / "model.pt", weights_only=True)
    w2 = torch.load(two / "iter_0000010" / "model.pt", weights_only=True)
    assert w1.keys() == w2.keys()
    for k in w1:
        d = (w2[k] - w1[k]).abs(); off = d > 1e-6 + 1e-6 * w1[k].abs()
        # A few elements whose gradient all but cancels get AdamW updates of opposite sign (lr·g/|g| in its first
        # steps) from the rounding of another summation order ((a+b)+(c+d) on two ranks, ((a+b)+c)+d in one process)
        assert int(off.sum()) <= 5e-4 * w1[k].numel() and float(d.max()) < 1e-3, (k, int(off.sum()), float(d.max()))
    state = torch.load(two / "iter_0000010" / "state.pt", weights_only=False)
    assert state["world_size"] == 2
    biases = [k for k in w1 if k.endswith("e_score_correction_bias")]
    per_rank = state["expert_bias_per_rank"]
    assert len(per_rank) == 2 and len(per_rank[0]) == len(biases) > 0
    assert all(torch.equal(a, b) for a, b in zip(per_rank[0], per_rank[1]))  # identical on both ranks, bit for bit
    assert any(float(b.abs().max()) > 0 for b in per_rank[0])  # the biases did move
    for k, b in zip(biases, per_rank[0]): torch.testing.assert_close(b, w1[k], rtol=1e-6, atol=1e-6)

def test_one_writer(runs):
    _, _, two, out = runs
    files = sorted(str(p.relative_to(two)) for p in two.rglob("*") if p.is_file() and "data_cache" not in p.parts)
    assert [f for f in files if "metrics" in f] == ["metrics.jsonl"]
    assert sorted({f.split("/")[0] for f in files if f.startswith("iter_")}) == ["iter_0000005", "iter_0000010"]
    assert not [p for p in two.parent.rglob(".tmp_iter_*")]
    assert out.count("done") == 1 and out.count("iter     10/10 · loss") == 1  # one console

def test_torchrun_without_parallelism_refuses_in_one_line(tmp_path):
    r = _pretrain(tmp_path, "nano3", 2, "train.parallelism=none", check=False)
    assert r.returncode != 0
    lines = [l for l in r.stderr.splitlines() if "train.parallelism=none" in l]
    assert len(lines) == 2 and "WORLD_SIZE=2 started by torchrun" in lines[0], r.stderr[-3000:]
    assert not (tmp_path / "run").exists()  # nothing written

def _cut_back_to_5(src: Path, dest: Path) -> Path:
    "A copy of run `src` as a kill after iteration 5's checkpoint leaves it: iter_0000005 is the newest."
    shutil.copytree(src, dest / "run")
    shutil.rmtree(dest / "run" / "iter_0000010")
    (dest / "run" / "latest_checkpointed_iteration.txt").write_text("5\n")
    return dest / "run"

@pytest.mark.parametrize("nproc", [2, 1])
def test_resume_two_process_checkpoint(runs, tmp_path, nproc):
    "Rerun from the 2-process checkpoint at 5: on 2 processes bit-equal to the uninterrupted run; on 1, to 1e-6."
    model, _, two, _ = runs
    run = _cut_back_to_5(two, tmp_path)
    _pretrain(tmp_path, model, nproc)
    a, b = _records(two), _records(run)
    assert [r["iteration"] for r in b] == [r["iteration"] for r in a]
    w1 = torch.load(two / "iter_0000010" / "model.pt", weights_only=True)
    w2 = torch.load(run / "iter_0000010" / "model.pt", weights_only=True)
    if nproc == 2:
        assert [r["lm_loss"] for r in b] == [r["lm_loss"] for r in a]
        assert all(torch.equal(w1[k], w2[k]) for k in w1)
    else:
        assert all(_close(x["lm_loss"], y["lm_loss"]) for x, y in zip(a, b))
        assert all(int(((w2[k] - w1[k]).abs() > 1e-6 + 1e-6 * w1[k].abs()).sum()) <= 5e-4 * w1[k].numel() for k in w1)
        assert "world_size" not in torch.load(run / "iter_0000010" / "state.pt", weights_only=False)

def test_real_data_one_export_one_artifact(tmp_path):
    "On prepared data (a small blend of the tiny corpus): 2 processes publish one Hugging Face export and one artifact."
    from nemotron_nb.data_prep import write_small_blend
    from nemotron_nb.artifacts import list_artifacts, resolve_artifact
    blend = write_small_blend(tmp_path / "data", num_docs=30)
    r = _pretrain(tmp_path, "nano3", 2, "data.mock=false", f"data.blend_path={blend}", "train.train_iters=4",
                  "checkpoint.export_hf=true", "train.eval_interval=2")
    assert r.stdout.count("model artifact: ") == 1 and r.stdout.count("Hugging Face checkpoint: ") == 1, r.stdout
    assert list_artifacts(tmp_path / "output/artifacts") == {"run": [0]}
    art = resolve_artifact("run:latest", registry=tmp_path / "output/artifacts")
    assert (art.type, art.metadata["iteration"], Path(art.path)) == ("model", 4, (tmp_path / "run").resolve())
    assert (tmp_path / "run" / "hf" / "config.json").is_file() and not list(tmp_path.rglob("*.tmp"))
    assert [json.loads(l)["iteration"] for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
            ] == [0, 1, 2, 2, 3, 4, 4]

def test_sigkill_two_processes_between_checkpoints_then_rerun(runs, tmp_path):
    "SIGKILL both ranks (the whole torchrun group) after iteration 7, rerun: bit-equal to the uninterrupted 2-process run."
    model, _, two, _ = runs
    if model != "nano3": pytest.skip("one model is enough for the kill")
    cli = [str(BIN / "torchrun"), "--standalone", "--nproc-per-node=2", str(BIN / "nemotron"), model, "pretrain", "-c",
           "tiny", *ARGS]
    p = subprocess.Popen(cli, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                         start_new_session=True)
    metrics, deadline = tmp_path / "run" / "metrics.jsonl", time.time() + 600
    while p.poll() is None and time.time() < deadline:
        if metrics.is_file() and '"iteration": 7,' in metrics.read_text(): break
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert (tmp_path / "run" / "latest_checkpointed_iteration.txt").read_text() == "5\n"  # killed between checkpoints
    assert not (tmp_path / "run" / "iter_0000010").exists()
    _pretrain(tmp_path, model, 2)
    assert [r["lm_loss"] for r in _records(tmp_path / "run")] == [r["lm_loss"] for r in _records(two)]
    w1 = torch.load(two / "iter_0000010" / "model.pt", weights_only=True)
    w2 = torch.load(tmp_path / "run" / "iter_0000010" / "model.pt", weights_only=True)
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
