"""Training throughput of the local trainer vs a plain PyTorch loop training transformers' NemotronHForCausalLM.

Both sides train the same tiny config (`nano3` / `super3` tiny recipe models; transformers has no MTP, so the comparison
uses the main stack and ours with MTP is printed beside it) from the same weights (`nemotron_nb.hf.to_hf`) on the same
global batch: micro-batches with gradient accumulation, gradient clipping, AdamW (weight decay on matrices), and on
CUDA bf16 autocast. Ours is `nemotron_nb.step.train_step` (which also applies the expert-bias update); the peer is the
shortest loop that does the same work. transformers' experts run with its fastest implementation (`grouped_mm`).
Compiled variants: ours with `compile_layers` (each layer compiled) and the chunked fused head + loss (`loss_chunk`),
transformers with each decoder layer compiled (`grouped_mm` experts, else `eager` ones, where that compiles).
Steps are interleaved (ours, peer, ours, ...) and the best of N is kept, so a busy machine hurts both alike.
MFU = tokens/s x Megatron FLOPs per token / peak (known GPU: its dense bf16 peak; CPU: a measured fp32 matmul).

    python bench/train_throughput.py [--steps 5] [--gbs 8] [--mbs 4] [--seq 256] [--device auto|cpu|cuda]
"""
import argparse, dataclasses, os, platform, time, warnings

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5); ap.add_argument("--gbs", type=int, default=8)
    ap.add_argument("--mbs", type=int, default=4); ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--device", default="auto"); ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import torch, transformers
    from nemotron_nb.recipe import load_config
    from nemotron_nb.model import build_model, compile_layers
    from nemotron_nb.pattern import parse_pattern, flops_per_token
    from nemotron_nb.hf import to_hf
    from nemotron_nb.step import make_optimizer, train_step, param_groups
    from nemotron_nb.metrics import peak_flops
    if args.threads: torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    precision = "bf16-mixed" if dev.type == "cuda" else "fp32"
    peak, peak_src = peak_flops(dev)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} threads"
    print(f"{name}; torch {torch.__version__}, transformers {transformers.__version__}; global batch {args.gbs} = "
          f"{args.gbs // args.mbs} x {args.mbs} x {args.seq} tokens, {precision}; best of {args.steps} interleaved steps; "
          f"MFU against {peak_src} ({peak / 1e12:.3g} TFLOP/s)")
    rows = []
    for model_name in ("nano3", "super3"):
        cfg = load_config(model_name, "tiny")
        main_only = dataclasses.replace(cfg.model, hybrid_layer_pattern=parse_pattern(cfg.model.hybrid_layer_pattern).main)
        ids = torch.randint(0, cfg.model.vocab_size, (args.gbs, args.seq + 1), generator=torch.Generator().manual_seed(0))
        micro = [ids[i:i + args.mbs] for i in range(0, args.gbs, args.mbs)]
        variants = {}
        torch.manual_seed(0); ours = build_model(main_only, device=dev)
        hf = to_hf(build_model(main_only)).to(dev).train()
        if hasattr(hf, "set_experts_implementation"): hf.set_experts_implementation("grouped_mm")
        o_ours = make_optimizer(ours, cfg)
        o_hf = torch.optim.AdamW(param_groups(hf, cfg.optimizer.weight_decay), lr=cfg.optimizer.lr,
                                 betas=(cfg.optimizer.adam_beta1, cfg.optimizer.adam_beta2), eps=cfg.optimizer.adam_eps, foreach=False)
        def step_ours(): train_step(ours, o_ours, micro, cfg.optimizer.lr, cfg.optimizer.clip_grad, dev, precision)
        def step_hf():
            hf.train()
            for x in micro:
                x = x.to(dev)
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                    loss = hf(input_ids=x[:, :-1], labels=x[:, :-1]).loss  # transformers shifts the labels itself
                (loss / len(micro)).backward()
            torch.nn.utils.clip_grad_norm_(hf.parameters(), cfg.optimizer.clip_grad)
            o_hf.step(); o_hf.zero_grad(set_to_none=True)
        variants["ours (local trainer)"] = (step_ours, main_only)
        variants["transformers NemotronH loop"] = (step_hf, main_only)
        torch.manual_seed(0); ours_c = compile_layers(build_model(main_only, device=dev, loss_chunk=1024))
        o_ours_c = make_optimizer(ours_c, cfg)
        variants["ours compiled"] = (lambda: train_step(ours_c, o_ours_c, micro, cfg.optimizer.lr,
                                                        cfg.optimizer.clip_grad, dev, precision), main_only)
        for impl in ("grouped_mm", "eager"):  # transformers compiled per decoder layer, where it compiles
            hf_c = to_hf(build_model(main_only)).to(dev).train(); hf_c.set_experts_implementation(impl)
            for layer in hf_c.model.layers: layer.compile()
            o_hf_c = torch.optim.AdamW(param_groups(hf_c, cfg.optimizer.weight_decay), lr=cfg.optimizer.lr, foreach=False,
                                       betas=(cfg.optimizer.adam_beta1, cfg.optimizer.adam_beta2), eps=cfg.optimizer.adam_eps)
            def step_hf_c(hf_c=hf_c, o_hf_c=o_hf_c):
                for x in micro:
                    x = x.to(dev)
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                        (hf_c(input_ids=x[:, :-1], labels=x[:, :-1]).loss / len(micro)).backward()
                torch.nn.utils.clip_grad_norm_(hf_c.parameters(), cfg.optimizer.clip_grad)
                o_hf_c.step(); o_hf_c.zero_grad(set_to_none=True)
            try:
                t = time.perf_counter(); step_hf_c()
                print(f"{model_name:6s} transformers compiled ({impl}) compiled in {time.perf_counter() - t:.0f} s")
                variants[f"transformers compiled ({impl})"] = (step_hf_c, main_only); break
            except Exception as e:
                print(f"{model_name:6s} transformers compiled ({impl}) does not compile: {type(e).__name__}")
        if parse_pattern(cfg.model.hybrid_layer_pattern).mtp_depths:
            torch.manual_seed(0); full = build_model(cfg.model, device=dev); o_full = make_optimizer(full, cfg)
            variants["ours + MTP (full super3 tiny)"] = (lambda: train_step(full, o_full, micro, cfg.optimizer.lr, cfg.optimizer.clip_grad, dev, precision), cfg.model)
        for f, _ in variants.values(): f()  # warm-up
        times = {k: [] for k in variants}
        for _ in range(args.steps):
            for k, (f, _) in variants.items():
                if dev.type == "cuda": torch.cuda.synchronize()
                t = time.perf_counter(); f()
                if dev.type == "cuda": torch.cuda.synchronize()
                times[k].append(time.perf_counter() - t)
        tokens = args.gbs * args.seq
        res = {}
        for k, (f, m) in variants.items():
            tps = tokens / min(times[k]); mfu = tps * flops_per_token(m, args.seq) / peak
            res[k] = tps
            print(f"{model_name:6s} {k:30s} {min(times[k]) * 1e3:9.1f} ms/step {tps:10.0f} tok/s  MFU {mfu:6.2%}")
        hf_best = max((k for k in res if k.startswith("transformers")), key=res.get)
        ratio, ratio_c = res["ours (local trainer)"] / res[hf_best], res["ours compiled"] / res[hf_best]
        rows.append((model_name, ratio, ratio_c))
        print(f"{model_name:6s} ratio over the fastest transformers variant ({hf_best}): ours {ratio:.2f}x, "
              f"ours compiled {ratio_c:.2f}x")
    print("summary: " + ", ".join(f"{m} {r:.2f}x (compiled {rc:.2f}x)" for m, r, rc in rows)
          + f" ({dev.type}, tokens/s of the local trainer over the fastest transformers loop)")

if __name__ == "__main__":
    main()
