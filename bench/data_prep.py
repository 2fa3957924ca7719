"""Data prep throughput against its peers, on the tiny corpus repeated to a given size.

    python bench/data_prep.py                 # ~10 MB, about a minute on 2 cores
    python bench/data_prep.py --size-mb 100   # the README figure

Measured in one run, each in a fresh process, all single-threaded per worker (TOKENIZERS_PARALLELISM=false):
  ceiling      the tokenizer's own batch encoding (`encode_batch_fast`) of the same texts in the same batches, one process, no I/O
  ours N       `run_data_prep` end to end (plan, read JSONL, tokenize, write bin/idx + receipts + blend.json), N workers
  datasets N   a plain `datasets` pipeline: load_dataset("json") -> .map(batched=True, num_proc=N) -> the same shards
and the peak memory (RSS) of the largest process of `ours 2` at the size and at twice the size.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

ENV = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}

def make_corpus(folder: Path, size_mb: float, num_files: int = 8) -> dict:
    "The tiny corpus (stdlib sources + pydoc topics) as JSONL, repeated to `size_mb`, over `num_files` files."
    from nemotron_nb.tokenizer import tiny_corpus
    docs = [json.dumps({"text": text}) + "\n" for _, text in tiny_corpus()]
    one = sum(len(d.encode()) for d in docs)
    reps = max(1, round(size_mb * 1e6 / one))
    folder.mkdir(parents=True, exist_ok=True)
    files = [open(folder / f"part_{i:03d}.jsonl", "w") for i in range(num_files)]
    n = 0
    for r in range(reps):
        for d in docs: files[n % num_files].write(d); n += 1
    for f in files: f.close()
    return {"documents": n, "bytes": sum(p.stat().st_size for p in folder.glob("*.jsonl"))}

CHILD = {
"ceiling": """
import json, time, glob
from nemotron_nb.tokenizer import load_tokenizer
tok = load_tokenizer()
texts = [json.loads(l)["text"] for f in sorted(glob.glob(ARGS["corpus"] + "/*.jsonl")) for l in open(f)]
from nemotron_nb.data_prep import BATCH_DOCS, BATCH_CHARS
batches, cur, chars = [], [], 0
for x in texts:  # the same batches data prep makes: up to BATCH_DOCS documents or BATCH_CHARS characters
    cur.append(x); chars += len(x)
    if len(cur) >= BATCH_DOCS or chars >= BATCH_CHARS: batches.append(cur); cur, chars = [], 0
if cur: batches.append(cur)
t, c = time.perf_counter(), cpu(); n = 0
for b in batches: n += sum(len(x) + 1 for x in tok.encode(b))  # + EOS, as written
RESULT = {"tokens": n, "seconds": time.perf_counter() - t, "cpu_s": cpu() - c}
""",
"ours": """
import json, time, dataclasses
from nemotron_nb.recipe import load_config
from nemotron_nb.data_prep import run_data_prep
Path(ARGS["out"] + "/blend.json").write_text(json.dumps({"datasets": [{"name": "corpus", "path": ARGS["corpus"] + "/*.jsonl"}]}))
cfg = load_config("nano3", "tiny", [f"blend_path={ARGS['out']}/blend.json", f"output_dir={ARGS['out']}/data", "num_shards=8",
                                    "valid_shards=0", "test_shards=0", f"num_workers={ARGS['workers']}"], kind="data_prep")
t, c = time.perf_counter(), cpu()
run_data_prep(cfg, model="nano3", progress=False, register=False, console=__import__("rich.console").console.Console(file=open(os.devnull, "w")))
dt, dc = time.perf_counter() - t, cpu() - c
meta = json.loads(Path(ARGS["out"] + "/data/metadata.json").read_text())
RESULT = {"tokens": meta["total_tokens"], "seconds": dt, "cpu_s": dc}
""",
"datasets": """
import time, datasets, numpy as np
from nemotron_nb.tokenizer import load_tokenizer
from nemotron_nb.indexed import ShardWriter
datasets.disable_progress_bars()
tok = load_tokenizer()
t, c = time.perf_counter(), cpu()
ds = datasets.load_dataset("json", data_files=sorted(glob.glob(ARGS["corpus"] + "/*.jsonl")), split="train", cache_dir=ARGS["out"] + "/hf")
def encode(batch): return {"ids": [ids + [tok.eos_id] for ids in tok.encode(batch["text"])]}
ds = ds.map(encode, batched=True, batch_size=512, num_proc=ARGS["workers"] if ARGS["workers"] > 1 else None, remove_columns=ds.column_names)
n, shards = 0, 8
per = -(-len(ds) // shards)
for s in range(shards):
    w = ShardWriter(f"{ARGS['out']}/shards/train_{s:06d}", tok.dtype)
    for row in ds.select(range(s * per, min(len(ds), (s + 1) * per))).iter(batch_size=1024):
        for ids in row["ids"]: w.add(ids); n += len(ids)
    w.commit()
RESULT = {"tokens": n, "seconds": time.perf_counter() - t, "cpu_s": cpu() - c}
""",
}

def measure(kind: str, corpus: Path, workers: int = 1) -> dict:
    "Run one measurement in a fresh process; its result plus the peak RSS (MiB) of that process and of its largest child."
    with tempfile.TemporaryDirectory() as out:
        code = ("import os, sys, json, glob, resource\nfrom pathlib import Path\n"
                "def cpu():\n    return time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f) for f in ('ru_utime', 'ru_stime'))\n"
                "import time\n"
                f"ARGS = {json.dumps({'corpus': str(corpus), 'out': out, 'workers': workers})}\n"
                + textwrap.dedent(CHILD[kind]) +
                "\nRESULT['rss_self_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024"
                "\nRESULT['rss_children_mib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024"

                "\nprint('RESULT ' + json.dumps(RESULT))\n")
        r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
        if r.returncode: sys.exit(f"{kind} failed:\n{r.stderr[-2000:]}")
        res = json.loads(next(l for l in r.stdout.splitlines() if l.startswith("RESULT "))[7:])
    res["tokens_per_s"] = res["tokens"] / res["seconds"]
    res["rss_peak_mib"] = max(res["rss_self_mib"], res["rss_children_mib"])
    res["tokens_per_cpu_s"] = res["tokens"] / res["cpu_s"]  # CPU of the measured section, its worker processes included
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=10.0, help="corpus size (default 10; the README figure uses 100)")
    ap.add_argument("--no-memory", action="store_true", help="skip the run at twice the size")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        corpus = Path(d) / "corpus"
        info = make_corpus(corpus, a.size_mb)
        print(f"corpus: {info['documents']:,} documents, {info['bytes'] / 1e6:.1f} MB of JSONL in 8 files; "
              f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), load {os.getloadavg()[0]:.1f}")
        rows = {"ceiling (encode_batch_fast, 1 process, no I/O)": measure("ceiling", corpus)}
        for w in (1, 2): rows[f"ours, {w} worker{'s' * (w > 1)}"] = measure("ours", corpus, w)
        for w in (1, 2): rows[f"datasets.map(batched=True), num_proc={w}"] = measure("datasets", corpus, w)
        print(f"\n{'':48s} {'tokens':>12s} {'seconds':>8s} {'tokens/s':>11s} {'CPU s':>7s} {'tokens/CPU s':>13s} {'peak RSS MiB':>13s}")
        for k, r in rows.items():
            print(f"{k:48s} {r['tokens']:12,d} {r['seconds']:8.2f} {r['tokens_per_s']:11,.0f} {r['cpu_s']:7.1f} "
                  f"{r['tokens_per_cpu_s']:13,.0f} {r['rss_peak_mib']:13.0f}")
        c, o1, o2 = (rows[k]["tokens_per_s"] for k in list(rows)[:3])
        d1, d2 = (rows[k]["tokens_per_s"] for k in list(rows)[3:])
        cc, oc1, oc2 = (rows[k]["tokens_per_cpu_s"] for k in list(rows)[:3])
        print("\nwall clock (what a user waits for; on a shared machine it depends on the other load):")
        print(f"  ours 1 worker / ceiling:                 {o1 / c:.2f}   (goal >= 0.85)")
        print(f"  ours 2 workers / (2 x ceiling):          {o2 / (2 * c):.2f}   (per worker)")
        print(f"  ours 2 workers / ours 1 worker:          {o2 / o1:.2f}   (goal >= 1.7 with 2 free cores)")
        print(f"  ours / datasets.map, 1 process:          {o1 / d1:.2f}")
        print(f"  ours / datasets.map, 2 processes:        {o2 / d2:.2f}")
        print("CPU time (tokens per CPU-second, robust to other load):")
        print(f"  ours 1 worker / ceiling:                 {oc1 / cc:.2f}")
        print(f"  ours 2 workers / ceiling (per worker):   {oc2 / cc:.2f}   (2 x this = the speed-up 2 free cores would give)")
        if not a.no_memory:
            big = Path(d) / "corpus2"
            make_corpus(big, 2 * a.size_mb)
            r2 = measure("ours", big, 2)
            m1 = rows["ours, 2 workers"]["rss_peak_mib"]
            print(f"peak RSS at 2x the corpus / at 1x:  {r2['rss_peak_mib'] / m1:.2f}   ({m1:.0f} -> {r2['rss_peak_mib']:.0f} MiB; goal: ~1, bounded)")

if __name__ == "__main__":
    main()
