"""Training on one GPU: a ~1B-parameter nano3-shaped model (and a ~0.3B one) in bf16 with per-layer `torch.compile`,
the local trainer vs transformers' NemotronHForCausalLM with the same weights.

The shapes keep nano3's 52-layer pattern, its router (top-6, shared expert, expert bias), its 131,072 vocabulary and its
head sizes; width and expert count are scaled down (`SIZES`). Both sides train the same global batch (micro-batches with
gradient accumulation, clipping, AdamW, bf16 autocast): ours is `nemotron_nb.step.train_step` on
`build_model(…, loss_chunk=train.LOSS_CHUNK)` + `compile_layers` (what `train.compile=true` runs); the peer is the
shortest loop doing the same work on `to_hf` of the same weights, its experts `grouped_mm` and its decoder layers
compiled (`--no-compile` runs both eager). Each variant runs alone on the GPU (warm-up, then best of `--steps`), so its
peak memory is its own: `torch.cuda.max_memory_allocated` over its steps. MFU = tokens/s × Megatron FLOPs per token /
the GPU's dense bf16 peak (`metrics.peak_flops`).

    python bench/gpu_train.py [--size 1b|300m|all] [--steps 5] [--gbs 16] [--mbs 4] [--seq 2048] [--no-compile]
    python bench/gpu_train.py --device cpu --size tiny --seq 64 --gbs 4 --mbs 2   # checks the script without a GPU
"""
import argparse, dataclasses, gc, sys, time, warnings

SIZES = {  # hidden, experts, expert and shared-expert FFN, Mamba heads (head dim 64)
    "1b": dict(hidden_size=1024, num_moe_experts=24, moe_ffn_hidden_size=512, ffn_hidden_size=512,
               moe_shared_expert_intermediate_size=1024, mamba_num_heads=32, num_attention_heads=8, kv_channels=128),
    "300m": dict(hidden_size=512, num_moe_experts=16, moe_ffn_hidden_size=256, ffn_hidden_size=256,
                 moe_shared_expert_intermediate_size=512, mamba_num_heads=16, num_attention_heads=8, kv_channels=64),
    "tiny": None,  # the nano3 tiny recipe's model: for checking the script on a CPU
}


def model_config(size: str):
    "nano3's model config (the tiny recipe's for `tiny`) at the width of `size`, on one GPU, without MTP."
    from nemotron_nb.recipe import load_config
    from nemotron_nb.pattern import parse_pattern
    if SIZES[size] is None: m = load_config("nano3", "tiny").model
    else: m = dataclasses.replace(load_config("nano3", "default").model, **SIZES[size], tensor_model_parallel_size=1,
                                  expert_model_parallel_size=1, sequence_parallel=False)
    return dataclasses.replace(m, hybrid_layer_pattern=parse_pattern(m.hybrid_layer_pattern).main)


def run_variant(name, make_step, dev, steps: int, tokens: int, flops: float, peak: float) -> dict:
    "Build a variant (`make_step()` returns its step function), warm it up, time `steps` steps; its figures."
    import torch
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda": torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    step = make_step()
    t = time.perf_counter(); step(); sync(); warm = time.perf_counter() - t
    step(); sync()
    best = float("inf")
    for _ in range(steps):
        t = time.perf_counter(); step(); sync(); best = min(best, time.perf_counter() - t)
    mem = torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else float("nan")
    tps = tokens / best
    r = dict(name=name, ms=best * 1e3, tps=tps, mfu=tps * flops / peak, mem=mem, warm=warm)
    peak_mem = f"  peak {mem:6.1f} GiB" if dev.type == "cuda" else ""
    print(f"  {name:34s} {r['ms']:9.1f} ms/step {tps:11,.0f} tok/s  MFU {r['mfu']:6.1%}{peak_mem}  (first step {warm:.0f} s)",
          flush=True)
    return r


def bench_size(size: str, args, dev, peak: float) -> list:
    import torch
    from nemotron_nb.model import build_model, compile_layers
    from nemotron_nb.hf import to_hf
    from nemotron_nb.pattern import param_counts, flops_per_token
    from nemotron_nb.step import make_optimizer, train_step, param_groups
    from nemotron_nb.recipe import load_config
    from nemotron_nb.train import LOSS_CHUNK
    from nemotron_nb.estimate import human_count
    cfg = load_config("nano3", "tiny"); m = model_config(size)
    c = param_counts(m)
    print(f"{size}: {human_count(c.total)} parameters ({human_count(c.active)} active), pattern {m.hybrid_layer_pattern}")
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, m.vocab_size, (args.gbs, args.seq + 1), generator=g)
    micro = [ids[i:i + args.mbs] for i in range(0, args.gbs, args.mbs)]
    precision = "bf16-mixed" if dev.type == "cuda" else "fp32"
    o, tokens, flops = cfg.optimizer, args.gbs * args.seq, flops_per_token(m, args.seq)
    torch.manual_seed(0); weights = build_model(m).state_dict()  # one set of weights for every variant

    def ours(compiled: bool):
        def make():
            model = build_model(m, loss_chunk=LOSS_CHUNK if compiled else 0); model.load_state_dict(weights)
            model = model.to(dev).train()
            if compiled: compile_layers(model)
            opt = make_optimizer(model, cfg)
            return lambda: train_step(model, opt, micro, o.lr, o.clip_grad, dev, precision)
        return make

    def hf(compiled: bool):
        def make():
            base = build_model(m); base.load_state_dict(weights)
            model = to_hf(base).to(dev).train(); del base
            model.set_experts_implementation("grouped_mm")
            if compiled:
                for layer in model.model.layers: layer.compile()
            opt = torch.optim.AdamW(param_groups(model, o.weight_decay), lr=o.lr, betas=(o.adam_beta1, o.adam_beta2),
                                    eps=o.adam_eps, fused=dev.type == "cuda")
            def step():
                for x in micro:
                    x = x.to(dev)
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                        loss = model(input_ids=x[:, :-1], labels=x[:, :-1]).loss  # transformers shifts the labels
                    (loss / len(micro)).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), o.clip_grad)
                opt.step(); opt.zero_grad(set_to_none=True)
            return step
        return make

    compiled = not args.no_compile
    tag = "compiled" if compiled else "eager"
    rows = []
    for name, make in ((f"ours ({tag})", ours(compiled)), (f"NemotronHForCausalLM ({tag})", hf(compiled))):
        try: rows.append(run_variant(name, make, dev, args.steps, tokens, flops, peak))
        except torch.OutOfMemoryError: print(f"  {name:34s} out of memory at this batch")
        gc.collect()
        if dev.type == "cuda": torch.cuda.empty_cache()
    if len(rows) == 2:
        mem = f", peak memory {rows[0]['mem'] / rows[1]['mem']:.2f}x" if dev.type == "cuda" else ""
        print(f"  {size}: ours {rows[0]['tps'] / rows[1]['tps']:.2f}x the tokens/s of NemotronHForCausalLM{mem}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="all", choices=[*SIZES, "all"])
    ap.add_argument("--steps", type=int, default=5); ap.add_argument("--gbs", type=int, default=16)
    ap.add_argument("--mbs", type=int, default=4); ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--no-compile", action="store_true", help="both sides eager")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import torch, transformers
    from nemotron_nb.metrics import peak_flops
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench/gpu_train.py needs a CUDA GPU (or --device cpu --size tiny to check the script)")
    dev = torch.device(args.device)
    peak, peak_src = peak_flops(dev)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"{name}; torch {torch.__version__}, transformers {transformers.__version__}; global batch {args.gbs} = "
          f"{args.gbs // args.mbs} x {args.mbs} x {args.seq} tokens; best of {args.steps} steps; MFU against "
          f"{peak_src} ({peak / 1e12:.4g} TFLOP/s)")
    sizes = [s for s in SIZES if s != "tiny"] if args.size == "all" else [args.size]
    for size in sizes: bench_size(size, args, dev, peak)


if __name__ == "__main__":
    main()
