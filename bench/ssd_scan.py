"""The chunked SSD scan vs the sequential recurrence (`nemotron_nb.mamba`), forward, on the CPU.

One Mamba-2 layer's scan at nano3's per-head sizes (head dim 64, state 128, chunk 128) with 8 heads in 2 groups, for
L = 512 ... 8192. Prints both times, their ratio, and the chunked time per token: constant per token means the chunked
scan grows linearly with L (every step of it is per chunk: the products inside a chunk and one state update per chunk).

    python bench/ssd_scan.py [--threads 1] [--reps 3]
"""
import argparse, math, time
import torch
import torch.nn.functional as F
from nemotron_nb.mamba import ssd_chunked, ssd_sequential

def inputs(L, H=8, P=64, G=2, N=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, B, C = (torch.randn(1, L, *s, generator=g) for s in ((H, P), (G, N), (G, N)))
    dt = F.softplus(torch.randn(1, L, H, generator=g) - 3)
    A = -torch.exp(torch.rand(H, generator=g) * math.log(16))
    return x, dt, A, B, C, torch.ones(H)

def best(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1); p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{torch.get_num_threads()} thread(s), torch {torch.__version__}; H=8, P=64, G=2, N=128, chunk 128; best of {args.reps}")
    print(f"{'L':>6} {'sequential ms':>14} {'chunked ms':>11} {'speed-up':>9} {'chunked µs/token':>17} {'max |diff|':>11}")
    per_token = {}
    with torch.no_grad():
        for L in (512, 1024, 2048, 4096, 8192):
            args_ = inputs(L)
            ts = best(lambda: ssd_sequential(*args_), 1 if L > 2048 else args.reps)
            tc = best(lambda: ssd_chunked(*args_[:5], 128, D=args_[5]), args.reps)
            diff = (ssd_sequential(*args_)[0] - ssd_chunked(*args_[:5], 128, D=args_[5])[0]).abs().max().item()
            per_token[L] = tc / L
            print(f"{L:>6} {ts * 1e3:>14.1f} {tc * 1e3:>11.1f} {ts / tc:>8.1f}x {tc / L * 1e6:>17.2f} {diff:>11.1e}")
    print(f"chunked time per token at L=8192 / at L=512: {per_token[8192] / per_token[512]:.2f} (1.0 = exactly linear; "
          f"time grew {per_token[8192] * 8192 / (per_token[512] * 512):.1f}x for 16x the tokens)")

if __name__ == "__main__":
    main()
