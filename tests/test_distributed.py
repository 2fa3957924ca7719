"""Data parallelism on CPU: `torchrun --nproc-per-node 2 … nemotron {nano3,super3} pretrain` (gloo) with
`train.parallelism=ddp` and `=fsdp` trains the same model as one process with the same global batch: the same losses,
weights and router biases, one metrics.jsonl, one set of checkpoints. Synthetic tokens (data.mock=true), 10 iterations
of 8 × 64 tokens in micro-batches of 4 (two per step in one process, one per rank in two). One thread per process
(OMP_NUM_THREADS=1): with several, the MoE's scatter-add sums in thread order and the last bits vary from run to run.

What is asserted, and why it holds: every logged LM loss equal to 1e-6 relative and every element of every final weight
equal to 1e-6 (absolute + relative), for both layouts. One process adds its two micro-batch gradients a + b; two ranks
add the same a and b in the all-reduce (DDP) or reduce-scatter (FSDP2), the same sum; the clipping norm is summed in
float64 (`step.clip_global_norm`), so the clip factor is the same for every layout. (Here the runs are in fact bit-equal.)
With several micro-batches per rank the additions differ in order ((a+b)+(c+d) against ((a+b)+c)+d): the losses still
agree to 1e-6 (`nbs/21f_distributed.ipynb` runs that case), but a few dozen embedding elements whose gradient all but
cancels get AdamW's first updates (about lr·g/|g|) of different size, up to ~2e-5 apart."""
import json, os, shutil, signal, subprocess, time
from pathlib import Path
import pytest
import torch
from conftest import BIN
from nemotron_nb.checkpoint import is_sharded_checkpoint, consolidate_checkpoint, verify_checkpoint, latest_checkpoint

ARGS = ["data.mock=true", "train.train_iters=10", "train.seq_length=64", "train.micro_batch_size=4",
        "train.eval_interval=5", "train.eval_iters=1", "scheduler.lr_warmup_iters=2", "checkpoint.save_interval=5",
        "checkpoint.export_hf=false", "checkpoint.save=run"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def _pretrain(cwd: Path, model: str, nproc: int, par: str, *extra, check=True):
    cwd.mkdir(parents=True, exist_ok=True)
    cli = [str(BIN / "nemotron"), model, "pretrain", "-c", "tiny", *ARGS, f"train.parallelism={par}", *extra]
    cmd = cli if nproc == 1 else [str(BIN / "torchrun"), "--standalone", f"--nproc-per-node={nproc}", *cli]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env=ENV)
    if check: assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r

def _records(run: Path) -> list[dict]:
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]

def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)

def _weights(ckpt: Path) -> dict:
    "The model state dict of a checkpoint, a sharded one consolidated first (`consolidate_checkpoint`)."
    if is_sharded_checkpoint(ckpt):
        ckpt = consolidate_checkpoint(ckpt, ckpt.parent.parent / f"single_{ckpt.parent.name}_{ckpt.name}")
    return torch.load(ckpt / "model.pt", weights_only=True)

def _equal(w1: dict, w2: dict):
    assert w1.keys() == w2.keys()
    for k in w1: torch.testing.assert_close(w2[k], w1[k], rtol=1e-6, atol=1e-6, msg=k)

@pytest.fixture(scope="module", params=["nano3", "super3"])
def runs(request, tmp_path_factory):
    "{'model', 'one', 'ddp', 'fsdp': run folder, 'out': {layout: the 2-process stdout}}."
    d = tmp_path_factory.mktemp(request.param)
    res = {"model": request.param, "out": {}}
    _pretrain(d / "one", request.param, 1, "none"); res["one"] = d / "one" / "run"
    for par in ("ddp", "fsdp"):
        res["out"][par] = _pretrain(d / par, request.param, 2, par).stdout; res[par] = d / par / "run"
    return res

@pytest.mark.parametrize("par", ["ddp", "fsdp"])
def test_losses_equal_one_process(runs, par):
    a, b = _records(runs["one"]), _records(runs[par])
    assert [(r["iteration"], r.get("split")) for r in a] == [(r["iteration"], r.get("split")) for r in b]
    assert [r["iteration"] for r in b if "split" not in r] == list(range(1, 11))
    assert [r["iteration"] for r in b if r.get("split") == "valid"] == [0, 5, 10]
    for x, y in zip(a, b):
        assert _close(x["lm_loss"], y["lm_loss"]), (x, y)
        assert all(_close(u, v) for u, v in zip(x.get("mtp_losses", []), y.get("mtp_losses", []))), (x, y)
        if "grad_norm" in x: assert _close(x["grad_norm"], y["grad_norm"]), (x, y)
    assert (runs["model"] == "super3") == all(r["mtp_loss"] > 0 for r in b if "split" not in r)

@pytest.mark.parametrize("par", ["ddp", "fsdp"])
def test_final_weights_and_router_biases_equal(runs, par):
    one, two = runs["one"] / "iter_0000010", runs[par] / "iter_0000010"
    assert (is_sharded_checkpoint(one), is_sharded_checkpoint(two), verify_checkpoint(two)) == (False, True, None)
    w1, w2 = _weights(one), _weights(two)
    _equal(w1, w2)
    state = torch.load(two / "state.pt", weights_only=False)
    assert state["world_size"] == 2 and len(state["rng_per_rank"]) == 2
    biases = [k for k in w1 if k.endswith("e_score_correction_bias")]
    per_rank = state["expert_bias_per_rank"]
    assert len(per_rank) == 2 and len(per_rank[0]) == len(biases) > 0
    assert all(torch.equal(a, b) for a, b in zip(per_rank[0], per_rank[1]))  # identical on both ranks, bit for bit
    assert any(float(b.abs().max()) > 0 for b in per_rank[0])  # the biases did move
    for k, b in zip(biases, per_rank[0]): torch.testing.assert_close(b, w1[k], rtol=1e-6, atol=1e-6)

@pytest.mark.parametrize("par", ["ddp", "fsdp"])
def test_one_writer(runs, par):
    two, out = runs[par], runs["out"][par]
    files = sorted(str(p.relative_to(two)) for p in two.rglob("*") if p.is_file() and "data_cache" not in p.parts)
    assert [f for f in files if "metrics" in f] == ["metrics.jsonl"]
    assert sorted({f.split("/")[0] for f in files if f.startswith("iter_")}) == ["iter_0000005", "iter_0000010"]
    assert sorted(f.split("/")[1] for f in files if f.startswith("iter_0000010")) == [
        ".metadata", "__0_0.distcp", "__1_0.distcp", "config.yaml", "manifest.json", "state.pt"]
    assert not [p for p in two.parent.rglob(".tmp_iter_*")]
    assert out.count("done") == 1 and out.count("iter     10/10 · loss") == 1  # one console

def test_torchrun_without_parallelism_refuses_in_one_line(tmp_path):
    r = _pretrain(tmp_path, "nano3", 2, "none", check=False)
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

@pytest.mark.parametrize("src,nproc,par", [("fsdp", 1, "none"), ("ddp", 1, "none"), ("one", 2, "fsdp"),
                                           ("ddp", 2, "fsdp")])
def test_resume_with_another_layout(runs, tmp_path, src, nproc, par):
    "Resume iteration 5's checkpoint of `src` on `nproc` processes (`par`): the run continues to the same weights."
    if runs["model"] != "nano3" and src != "fsdp": pytest.skip("one model is enough for the other layouts")
    run = _cut_back_to_5(runs[src], tmp_path)
    out = _pretrain(tmp_path, runs["model"], nproc, par).stdout
    assert "resumed from run/iter_0000005 at iteration 5" in out
    a, b = _records(runs[src]), _records(run)
    assert [r["iteration"] for r in b] == [r["iteration"] for r in a]
    assert all(_close(x["lm_loss"], y["lm_loss"]) for x, y in zip(a, b))
    _equal(_weights(runs[src] / "iter_0000010"), _weights(run / "iter_0000010"))
    assert is_sharded_checkpoint(run / "iter_0000010") == (nproc > 1)

def test_corrupt_shard_falls_back(runs, tmp_path):
    "A damaged shard fails verification, and the newest intact checkpoint is the one before it."
    run = tmp_path / "run"; shutil.copytree(runs["fsdp"], run)
    with open(run / "iter_0000010" / "__1_0.distcp", "r+b") as f:
        f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 1]))  # one bit of rank 1's shard
    assert verify_checkpoint(run / "iter_0000010") == "__1_0.distcp fails its checksum"
    msgs = []
    assert latest_checkpoint(run, log=msgs.append) == run / "iter_0000005" and len(msgs) == 1

def test_real_data_fsdp_one_export_one_artifact(tmp_path):
    "On prepared data: 2 FSDP processes publish one Hugging Face export (gathered onto rank 0) and one artifact."
    from nemotron_nb.data_prep import write_small_blend
    from nemotron_nb.artifacts import list_artifacts, resolve_artifact
    blend = write_small_blend(tmp_path / "data", num_docs=30)
    r = _pretrain(tmp_path, "nano3", 2, "fsdp", "data.mock=false", f"data.blend_path={blend}", "train.train_iters=4",
                  "checkpoint.export_hf=true", "train.eval_interval=2")
    assert r.stdout.count("model artifact: ") == 1 and r.stdout.count("Hugging Face checkpoint: ") == 1, r.stdout
    assert list_artifacts(tmp_path / "output/artifacts") == {"run": [0]}
    art = resolve_artifact("run:latest", registry=tmp_path / "output/artifacts")
    assert (art.type, art.metadata["iteration"], Path(art.path)) == ("model", 4, (tmp_path / "run").resolve())
    assert (tmp_path / "run" / "hf" / "config.json").is_file() and not list(tmp_path.rglob("*.tmp"))
    from safetensors.torch import load_file
    hf = {k: v for f in (tmp_path / "run" / "hf").glob("*.safetensors") for k, v in load_file(f).items()}
    w = _weights(tmp_path / "run" / "iter_0000004")
    assert torch.equal(hf["lm_head.weight"], w["lm_head.weight"])  # the gathered weights, not one rank's shard
    assert [json.loads(l)["iteration"] for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
            ] == [0, 1, 2, 2, 3, 4, 4]

@pytest.mark.parametrize("par", ["ddp", "fsdp"])
def test_sigkill_two_processes_between_checkpoints_then_rerun(runs, tmp_path, par):
    "SIGKILL both ranks (the whole torchrun group) after iteration 7, rerun: bit-equal to the uninterrupted 2-process run."
    if runs["model"] != "nano3": pytest.skip("one model is enough for the kill")
    cli = [str(BIN / "torchrun"), "--standalone", "--nproc-per-node=2", str(BIN / "nemotron"), "nano3", "pretrain", "-c",
           "tiny", *ARGS, f"train.parallelism={par}"]
    p = subprocess.Popen(cli, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                         start_new_session=True)
    metrics, deadline = tmp_path / "run" / "metrics.jsonl", time.time() + 600
    while p.poll() is None and time.time() < deadline:
        if metrics.is_file() and '"iteration": 7,' in metrics.read_text(): break
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert (tmp_path / "run" / "latest_checkpointed_iteration.txt").read_text() == "5\n"  # killed between checkpoints
    assert not (tmp_path / "run" / "iter_0000010").exists()
    _pretrain(tmp_path, "nano3", 2, par)
    assert [r["lm_loss"] for r in _records(tmp_path / "run")] == [r["lm_loss"] for r in _records(runs[par])]
    w1, w2 = _weights(runs[par] / "iter_0000010"), _weights(tmp_path / "run" / "iter_0000010")
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
