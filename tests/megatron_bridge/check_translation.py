"""Run INSIDE the Megatron-Bridge 0.3.1 environment (tests/megatron_bridge/make_env.sh): builds the ConfigContainers
of our nano3 and super3 configs, compares them field by field with Megatron-Bridge's own recipes, and prints what the
pytest side asserts, as one JSON object on the last line."""
import dataclasses, inspect, json, os, sys, tempfile, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import transformer_engine
from nemotron_nb.config import ConfigError
from nemotron_nb.recipe import load_config
from nemotron_nb.loader import write_shard, mock_datasets
from nemotron_nb.megatron import (megatron_plan, build_config_container, save_container_yaml, library_fallbacks,
                                  NANO3_RECIPE)
import torch
from megatron.bridge.models.nemotronh import Nemotron3NanoProvider
from megatron.bridge.training.config import ConfigContainer
from megatron.bridge.recipes.utils.dataset_utils import get_blend_fields_from_data_paths
import megatron.bridge.recipes.nemotronh.nemotron_3_nano as nano_recipe
import megatron.bridge
sys.path.insert(0, str(Path(__file__).parent))
from recipe_fields import recipe_assignments

HERE = Path(__file__).parent
out = {"te_is_import_only_standin": bool(getattr(transformer_engine, "IMPORT_ONLY_STANDIN", False)),
       "megatron_bridge_version": getattr(megatron.bridge, "__version__", "?")}
tmp = Path(tempfile.mkdtemp())
for k in range(3): write_shard(tmp / f"shard_{k}", [[5, 6, 7, 2]] * 4)
blend = tmp / "blend.json"
blend.write_text(json.dumps({"train": ["1.0", str(tmp / "shard_0"), "2.5", str(tmp / "shard_1")],
                             "valid": ["1.0", str(tmp / "shard_2")], "test": ["1.0", str(tmp / "shard_2")]}))
RUN_PATHS = {"checkpoint.save", "checkpoint.load", "logger.tensorboard_dir", "dataset.path_to_cache",
             "dataset.blend_per_split"}  # where a run is and what it reads: compared by presence only

def same(a, b) -> bool:
    try: return bool(a == b)
    except Exception: return repr(a) == repr(b)

def plain(v, key=""):
    if key in RUN_PATHS and v is not None: return "<run>"
    return v if v is None or isinstance(v, (bool, int, float, str)) or (
        isinstance(v, list) and all(isinstance(x, str) for x in v)) else repr(v)

def as_dtype(v):
    "A dtype name of the plan ('float32') as the torch dtype the container holds; other values as they are."
    return getattr(torch, v) if isinstance(v, str) and isinstance(getattr(torch, v, None), torch.dtype) else v

def get(cc, dotted: str):
    "A field of container `cc` ('section.field' or 'field'); '<no such field>' where this version has none."
    section, _, name = dotted.rpartition(".")
    section = "train" if section == "validation" else section  # Megatron-Bridge 0.3.1 keeps eval_* in train
    obj = getattr(cc, section) if section else cc
    known = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    prop = isinstance(getattr(type(obj), name, None), property)  # GPTDatasetConfig.seq_length: sequence_length
    return getattr(obj, name) if name in known or prop or obj is cc else "<no such field>"

def container_differences(ours, ref) -> dict:
    "Every field of every section where `ours` and `ref` differ: {'section.field': [ours, ref]}."
    diff = {}
    for f in dataclasses.fields(ref):
        a, b = getattr(ours, f.name, None), getattr(ref, f.name, None)
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            for g in dataclasses.fields(b):
                k = f"{f.name}.{g.name}"
                x, y = getattr(a, g.name, None), getattr(b, g.name, None)
                if not same(x, y): diff[k] = [plain(x, k), plain(y, k)]
        elif not same(a, b): diff[f.name] = [plain(a, f.name), plain(b, f.name)]
    return diff

def assignment_differences(cc, assignments: dict) -> dict:
    "{'section.field': [ours, the recipe's]} for each field the recipe function sets to another value than ours."
    return {k: [plain(get(cc, k), k), plain(v, k)] for k, v in assignments.items() if not same(get(cc, k), v)}

# nano3 at full size: every field set, and the model fields that differ from Nemotron3NanoProvider()
plan = megatron_plan(load_config("nano3", overrides=[f"checkpoint.save={tmp}/nano3"]), blend)
cc, rep = build_config_container(plan)
out["nano3_missing"], out["nano3_implied"], out["nano3_num_set"] = rep.missing, sorted(rep.implied), len(rep.set)
ref = Nemotron3NanoProvider()
out["nano3_provider_differences"] = {
    f.name: [getattr(cc.model, f.name, None), getattr(ref, f.name, None)] for f in dataclasses.fields(ref)
    if f.name not in NANO3_RECIPE["model"] and not same(getattr(cc.model, f.name, None), getattr(ref, f.name, None))}
out["nano3_model"] = {k: plain(getattr(cc.model, k)) for k in plan["model"] if hasattr(cc.model, k)}
out["nano3_scheduler"] = {k: getattr(cc.scheduler, k) for k in plan["scheduler"]}
out["nano3_optimizer"] = {k: plain(getattr(cc.optimizer, k)) for k in plan["optimizer"]}
out["nano3_train"] = {k: getattr(cc.train, k) for k in plan["train"]}
out["nano3_checkpoint"] = {k: getattr(cc.checkpoint, k) for k in plan["checkpoint"]}
out["nano3_comm_overlap"] = {k: getattr(cc.comm_overlap, k) for k in plan["comm_overlap"]}

# ... against Megatron-Bridge's own nano3 recipe: the whole container, and each line of the recipe function
recipe_cc = nano_recipe.nemotron_3_nano_pretrain_config()
out["nano3_recipe_differences"] = container_differences(cc, recipe_cc)
nano_lines = recipe_assignments(inspect.getsource(nano_recipe), "nemotron_3_nano_pretrain_config")
out["nano3_recipe_lines"] = len(nano_lines)
out["nano3_recipe_line_differences"] = assignment_differences(cc, nano_lines)

out["blend_per_split_equals_megatron_bridge"] = (
    [tuple(x) for x in cc.dataset.blend_per_split] == list(get_blend_fields_from_data_paths(per_split_data_args_path=str(blend))[1]))
y = save_container_yaml(cc, tmp / "nano3" / "megatron_bridge_config.yaml")
back = ConfigContainer.from_yaml(str(y))
out["yaml_roundtrip"] = {"pattern": back.model.hybrid_override_pattern, "lr_decay_style": back.scheduler.lr_decay_style,
                         "train_iters": back.train.train_iters, "blend_per_split": back.dataset.blend_per_split,
                         "tokenizer_model": back.tokenizer.tokenizer_model, "lines": len(y.read_text().splitlines()),
                         "dispatcher": back.model.moe_token_dispatcher_type,
                         "tp_comm_overlap": back.comm_overlap.tp_comm_overlap if back.comm_overlap else None}

# validate() on one process: parallelism 1 (TP4/EP8 need 8+ ranks), after the job's library fallbacks (no DeepEP here)
small = megatron_plan(load_config("nano3", overrides=["model.tensor_model_parallel_size=1", "model.expert_model_parallel_size=1",
                                                      "model.sequence_parallel=false", f"checkpoint.save={tmp}/small"]), blend)
out["fallbacks"] = library_fallbacks(small)
cc1, _ = build_config_container(small)
for k, v in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}.items(): os.environ.setdefault(k, v)
try: cc1.validate(); out["validate"] = "ok"
except Exception as e: out["validate"] = f"{type(e).__name__}: {e}"

# super3: strict refuses (no MTP in Megatron-Bridge 0.3.1), lenient lists what is missing; its recipe (>= 0.4.0,
# not installable here: its provider comes from the hub) is read from its source line by line
sp = megatron_plan(load_config("super3", "phase1"), blend)
try: build_config_container(sp); out["super3_strict"] = "accepted"
except ConfigError as e: out["super3_strict"] = str(e)
cc3, rep3 = build_config_container(sp, strict=False)
out["super3_missing"] = rep3.missing
out["super3_model"] = {k: getattr(cc3.model, k) for k in ("hybrid_override_pattern", "num_layers", "hidden_size", "num_moe_experts",
                       "moe_router_topk", "moe_latent_size", "moe_router_topk_scaling_factor", "mtp_num_layers",
                       "mtp_loss_scaling_factor", "moe_shared_expert_overlap", "init_method_std")}
out["super3_scheduler"] = {k: getattr(cc3.scheduler, k) for k in ("lr_decay_style", "lr_wsd_decay_style", "lr_warmup_iters",
                           "lr_decay_iters", "lr_wsd_decay_iters", "start_weight_decay", "end_weight_decay")}
super_lines = recipe_assignments((HERE / "recipes" / "nemotron_3_super_v0_4_0.py").read_text(),
                                 "nemotron_3_super_pretrain_config")
out["super3_recipe_lines"] = len(super_lines)
out["super3_recipe_line_differences"] = assignment_differences(cc3, super_lines)
out["super3_recipe_fields"] = {k: plain(get(cc3, k)) for k in ("checkpoint.async_save", "model.calculate_per_token_loss",
                               "model.keep_mtp_spec_in_bf16", "model.use_te_rng_tracker", "model.cuda_graph_impl",
                               "model.moe_token_dispatcher_type", "ddp.average_in_collective", "dataset.num_workers")}

# data.mock=true: Megatron-Bridge's MockGPTDatasetConfig and NullTokenizer, and the same samples as the local backend
from megatron.bridge.training.tokenizers.tokenizer import build_tokenizer
from megatron.bridge.data.utils import pretrain_train_valid_test_datasets_provider
for name in ("nano3", "super3"):
    mp = megatron_plan(load_config(name, "tiny", ["data.mock=true", f"checkpoint.save={tmp}/{name}-mock"]))
    ccm, repm = build_config_container(mp, strict=False)
    ccm.dataset.finalize()
    out[f"{name}_mock"] = {"dataset_class": type(ccm.dataset).__name__, "blend": ccm.dataset.blend,
                           "blend_per_split": ccm.dataset.__dict__.get("blend_per_split"), "mock": ccm.dataset.mock,
                           "tokenizer": [ccm.tokenizer.tokenizer_type, ccm.tokenizer.vocab_size],
                           "sequence_length": ccm.dataset.sequence_length, "random_seed": ccm.dataset.random_seed,
                           "missing": repm.missing, "plan_fields_differing": {
                               f"{s}.{k}": [plain(getattr(getattr(ccm, s), k)), plain(v)]
                               for s in ("train", "optimizer", "scheduler", "dataset", "tokenizer", "checkpoint", "logger")
                               for k, v in mp[s].items() if k not in ("blend", "blend_per_split", "split")
                               and hasattr(getattr(ccm, s), k) and not same(getattr(getattr(ccm, s), k),
                                                                            as_dtype(v))}}
    tok = build_tokenizer(ccm.tokenizer)
    ccm.dataset.tokenizer = tok
    t = ccm.train
    counts = [t.train_iters * t.global_batch_size, t.eval_iters * t.global_batch_size, t.eval_iters * t.global_batch_size]
    bridge = pretrain_train_valid_test_datasets_provider(counts, ccm.dataset)
    ours = mock_datasets(ccm.dataset.sequence_length, dict(zip(("train", "valid", "test"), counts)),
                         seed=ccm.dataset.random_seed, vocab_size=ccm.tokenizer.vocab_size, cache_dir=tmp / f"{name}-ours")
    out[f"{name}_mock"]["tokenizer_vocab_eod"] = [tok.vocab_size, tok.eod]
    out[f"{name}_mock"]["samples_equal_local"] = all(
        torch.equal(torch.cat([bridge[i][j]["tokens"], bridge[i][j]["labels"][-1:]]), ours[s][j])
        for i, s in enumerate(("train", "valid", "test")) for j in range(min(16, counts[i])))
print(json.dumps(out, default=str))
