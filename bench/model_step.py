"""Forward+backward training step: our NemotronModel vs transformers' NemotronHForCausalLM on the CPU.

Same tiny nano3- and super3-shaped configs (the `nano3-tiny` / `super3-tiny` presets, main stack; the MTP block has no
Hugging Face counterpart and is timed separately), same weights (`nemotron_nb.hf.to_hf`), same batch. Hugging Face is
timed with each of its experts implementations (`grouped_mm`, `eager`), each also with its decoder layers compiled
(`torch.compile` per layer, where that compiles), and compared against its fastest. Ours is timed eager and compiled
(`compile_layers`: each layer compiled, plus the chunked fused head + loss `loss_chunk=1024`). Each variant
step is timed interleaved with the others (best of N, robust to a busy machine). Memory: the peak of the CPU
allocator's live bytes during one step beyond the weights (from the torch profiler's memory events), and the part of it
that autograd saves for the backward pass.

    python bench/model_step.py [--batch 4] [--seq 512] [--steps 5] [--threads 1]
"""
import argparse, os, sys, time, warnings

def build(config, variant, threads):
    "The model of one variant (same seed, same weights) and its step function."
    warnings.filterwarnings("ignore")
    import torch
    from nemotron_nb.config import model_preset
    from nemotron_nb.model import build_model
    from nemotron_nb.pattern import parse_pattern
    if threads: torch.set_num_threads(threads)
    cfg = model_preset(config)
    if variant != "ours+mtp":  # compare the main stack only: transformers has no MTP
        cfg = model_preset(config, hybrid_layer_pattern=parse_pattern(cfg.hybrid_layer_pattern).main)
    torch.manual_seed(0)
    compiled = variant.endswith(":compiled")
    model = build_model(cfg, loss_chunk=1024 if compiled and not variant.startswith("hf") else 0).train()
    if variant.startswith("hf"):
        from nemotron_nb.hf import to_hf
        model = to_hf(model).train()
        model.set_experts_implementation(variant.split(":")[1])
        if compiled:
            for layer in model.model.layers: layer.compile()
    elif compiled:
        from nemotron_nb.model import compile_layers
        compile_layers(model)
    return model, cfg

def make_step(model, cfg, batch, seq):
    import torch
    ids = torch.randint(0, cfg.vocab_size, (batch, seq + 1), generator=torch.Generator().manual_seed(1))
    hf = not hasattr(model, "update_expert_biases")
    def step():  # transformers shifts the labels itself; ours takes the next tokens
        (model(input_ids=ids[:, :-1], labels=ids[:, :-1]) if hf else model(ids[:, :-1], labels=ids[:, 1:])).loss.backward()
        model.zero_grad(set_to_none=True)
    return step

def saved_activation_mib(model, cfg, batch, seq):
    "MiB of distinct tensor storages autograd keeps for the backward pass (activations; parameters excluded)."
    import torch
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen = {}
    def pack(t):
        st = t.untyped_storage()
        if st.data_ptr() not in params: seen[st.data_ptr()] = st.nbytes()
        return t
    ids = torch.randint(0, cfg.vocab_size, (batch, seq + 1), generator=torch.Generator().manual_seed(1))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(input_ids=ids[:, :-1], labels=ids[:, 1:]).loss  # (shift conventions do not change the memory)
    loss.backward(); model.zero_grad(set_to_none=True)
    return sum(seen.values()) / 2**20

def breakdown(config, batch, seq, reps=5):
    "Where the time goes: fwd+bwd of each kind of layer and of the LM head + loss, ours vs HF (grouped_mm), same weights."
    import torch
    import torch.nn.functional as F
    ours, cfg = build(config, "ours", 0)
    hf, _ = build(config, "hf:grouped_mm", 0)
    x = torch.randn(batch, seq, cfg.hidden_size, requires_grad=True)
    labels = torch.randint(0, cfg.vocab_size, (batch * seq,))
    def fb(f):
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); f().square().mean().backward(); ts.append(time.perf_counter() - t)
        return min(ts)
    rows = []
    for sym, kind in (("M", "Mamba-2 layer"), ("E", "MoE layer"), ("*", "attention layer")):
        i = ours.cfg.hybrid_layer_pattern.index(sym)
        a, b = ours.layers[i], hf.model.layers[i]
        rows.append((kind, fb(lambda: a(x)), fb(lambda: b(x)), ours.cfg.hybrid_layer_pattern.count(sym)))
    head = lambda m: lambda: F.cross_entropy(m(x).flatten(0, 1).float(), labels)
    rows.append(("LM head + loss", fb(head(ours.lm_head)), fb(head(hf.lm_head)), 1))
    print(f"\nwhere the time goes ({config}, fwd+bwd, best of {reps}, ms):  kind, ours, HF, ours/HF speed, count per model")
    for kind, t_ours, t_hf, n in rows:
        print(f"  {kind:16s} {t_ours * 1e3:7.1f} {t_hf * 1e3:7.1f}   {t_hf / t_ours:4.2f}x   x{n}")

def peak_step_mib(step):
    "Peak of the CPU allocator's live bytes during one step, above what was live before it (torch profiler events)."
    import torch
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof: step()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]")
    live = peak = 0
    for _, nbytes in events: live += nbytes; peak = max(peak, live)
    return peak / 2**20

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=4); p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=5); p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    import platform, torch, transformers
    torch.set_num_threads(args.threads)
    print(f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} thread(s), torch {torch.__version__}, "
          f"transformers {transformers.__version__}; fwd+bwd of {args.batch} x {args.seq} tokens, best of {args.steps} "
          f"interleaved steps; peak: allocator high-water mark of a step; activations: saved for backward")
    summary = []
    for config in ("nano3-tiny", "super3-tiny"):
        variants = ["ours", "ours:compiled", "hf:grouped_mm", "hf:eager", "hf:grouped_mm:compiled", "hf:eager:compiled"]
        variants += ["ours+mtp"] if config == "super3-tiny" else []
        steps, mem, act = {}, {}, {}
        for v in list(variants):
            model, cfg = build(config, v, args.threads)
            try:
                t = time.perf_counter()
                act[v] = saved_activation_mib(model, cfg, args.batch, args.seq)  # (compiles a compiled variant)
                if v.endswith(":compiled"): print(f"{config:12s} {v:22s} compiled in {time.perf_counter() - t:.0f} s")
            except Exception as e:
                print(f"{config:12s} {v:22s} does not compile: {type(e).__name__}: {str(e).splitlines()[0][:150]}")
                variants.remove(v); continue
            steps[v] = make_step(model, cfg, args.batch, args.seq)
            steps[v]()  # warm-up
            mem[v] = peak_step_mib(steps[v])
        times = {v: [] for v in variants}
        for _ in range(args.steps):
            for v in variants:
                t = time.perf_counter(); steps[v](); times[v].append(time.perf_counter() - t)
        best = {v: min(ts) for v, ts in times.items()}
        for v in variants:
            print(f"{config:12s} {v:22s} {best[v] * 1e3:8.1f} ms/step  {args.batch * args.seq / best[v]:8.0f} tok/s"
                  f"  peak {mem[v]:6.1f} MiB  (activations {act[v]:6.1f} MiB)")
        hf = min((v for v in variants if v.startswith("hf")), key=best.get)
        summary.append(f"{config}: ours {best[hf] / best['ours']:.2f}x, ours compiled {best[hf] / best['ours:compiled']:.2f}x"
                       f" the tokens/s of NemotronHForCausalLM ({hf}, its fastest here); peak memory ours/HF "
                       f"{mem['ours'] / mem[hf]:.2f}, compiled {mem['ours:compiled'] / mem[hf]:.2f}")
    breakdown("nano3-tiny", args.batch, args.seq)
    breakdown("super3-tiny", args.batch, args.seq)
    print("\n" + "\n".join(summary))

if __name__ == "__main__":
    main()
