"""Data-parallel throughput of the local trainer: tokens/s of 1 vs N processes (torchrun, gloo on CPU / NCCL on CUDA)
at the same global batch, through the real command (`nemotron <model> pretrain -c tiny data.mock=true`).

Each run trains `--iters` iterations on synthetic tokens with one thread per process (on CPU) and reports the median
tokens/s of its `metrics.jsonl` after the first `--skip` iterations (warm-up). The all-reduce share of a step is
estimated as 1 - (N-process tokens/s) / (N × 1-process tokens/s) only when the N processes have N free cores.

    python bench/data_parallel.py [--model nano3] [--nproc 2] [--parallelism ddp|fsdp] [--iters 12] [--gbs 8] [--mbs 2]
                                  [--seq 128]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile
from pathlib import Path

def run(model: str, nproc: int, args) -> float:
    "The median tokens/s of one run of `nproc` processes."
    bin_dir = Path(sys.executable).parent
    cli = [str(bin_dir / "nemotron"), model, "pretrain", "-c", "tiny", "data.mock=true", f"train.train_iters={args.iters}",
           f"train.global_batch_size={args.gbs}", f"train.micro_batch_size={args.mbs}", f"train.seq_length={args.seq}",
           "train.eval_iters=0", "checkpoint.save_interval=null", "checkpoint.export_hf=false",
           f"train.parallelism={args.parallelism}",
           "checkpoint.save=run", "logger.log_interval=1000"]
    launch = [str(bin_dir / "torchrun"), "--standalone", f"--nproc-per-node={nproc}"] if nproc > 1 else []
    cwd = Path(tempfile.mkdtemp(prefix="nemotron_dp_"))
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    r = subprocess.run([*launch, *cli], cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode: sys.exit(r.stdout[-2000:] + r.stderr[-2000:])
    recs = [json.loads(l) for l in (cwd / "run" / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["tokens_per_s"] for r in recs if "split" not in r and r["iteration"] > args.skip)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="nano3"); ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--iters", type=int, default=12); ap.add_argument("--skip", type=int, default=2)
    ap.add_argument("--gbs", type=int, default=8); ap.add_argument("--mbs", type=int, default=2)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--parallelism", default="ddp", choices=["ddp", "fsdp"])
    args = ap.parse_args()
    one, many = run(args.model, 1, args), run(args.model, args.nproc, args)
    print(f"{args.model}-tiny · global batch {args.gbs} × {args.seq} tokens · micro-batch {args.mbs} · "
          f"{os.cpu_count()} cores")
    print(f"  1 process        {one:10,.0f} tokens/s")
    print(f"  {args.nproc} processes ({args.parallelism}) {many:10,.0f} tokens/s   ({many / one:.2f}×)")
    print(f"  communication and imbalance share (if {args.nproc} free cores): {max(0.0, 1 - many / (args.nproc * one)):.0%}")

if __name__ == "__main__": main()
