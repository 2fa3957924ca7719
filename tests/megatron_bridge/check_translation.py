"""Run INSIDE the Megatron-Bridge 0.3.1 environment (tests/megatron_bridge/make_env.sh): builds the ConfigContainers
of our nano3 and super3 configs and prints what the pytest side asserts, as one JSON object on the last line."""
import dataclasses, json, os, sys, tempfile, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import transformer_engine
from nemotron_nb.config import ConfigError
from nemotron_nb.recipe import load_config
from nemotron_nb.loader import write_shard
from nemotron_nb.megatron import megatron_plan, build_config_container, save_container_yaml
from megatron.bridge.models.nemotronh import Nemotron3NanoProvider
from megatron.bridge.training.config import ConfigContainer
from megatron.bridge.recipes.utils.dataset_utils import get_blend_fields_from_data_paths
import megatron.bridge

out = {"te_is_import_only_standin": bool(getattr(transformer_engine, "IMPORT_ONLY_STANDIN", False)),
       "megatron_bridge_version": getattr(megatron.bridge, "__version__", "?")}
tmp = Path(tempfile.mkdtemp())
for k in range(3): write_shard(tmp / f"shard_{k}", [[5, 6, 7, 2]] * 4)
blend = tmp / "blend.json"
blend.write_text(json.dumps({"train": ["1.0", str(tmp / "shard_0"), "2.5", str(tmp / "shard_1")],
                             "valid": ["1.0", str(tmp / "shard_2")], "test": ["1.0", str(tmp / "shard_2")]}))

# nano3 at full size: every field set, and the model fields that differ from Nemotron3NanoProvider()
plan = megatron_plan(load_config("nano3", overrides=[f"checkpoint.save={tmp}/nano3"]), blend)
cc, rep = build_config_container(plan)
out["nano3_missing"], out["nano3_implied"], out["nano3_num_set"] = rep.missing, sorted(rep.implied), len(rep.set)
ref = Nemotron3NanoProvider()
diff = {}
for f in dataclasses.fields(ref):
    a, b = getattr(cc.model, f.name, None), getattr(ref, f.name, None)
    try: same = bool(a == b)
    except Exception: same = False
    if not same: diff[f.name] = [a, b]
out["nano3_provider_differences"] = diff
out["nano3_model"] = {k: getattr(cc.model, k) for k in plan["model"] if hasattr(cc.model, k) and k not in ("activation_func",)}
out["nano3_scheduler"] = {k: getattr(cc.scheduler, k) for k in plan["scheduler"]}
out["nano3_optimizer"] = {k: getattr(cc.optimizer, k) for k in plan["optimizer"]}
out["nano3_train"] = {k: getattr(cc.train, k) for k in plan["train"]}
out["nano3_checkpoint"] = {k: getattr(cc.checkpoint, k) for k in plan["checkpoint"]}
out["blend_per_split_equals_megatron_bridge"] = (
    [tuple(x) for x in cc.dataset.blend_per_split] == list(get_blend_fields_from_data_paths(per_split_data_args_path=str(blend))[1]))
y = save_container_yaml(cc, tmp / "nano3" / "megatron_bridge_config.yaml")
back = ConfigContainer.from_yaml(str(y))
out["yaml_roundtrip"] = {"pattern": back.model.hybrid_override_pattern, "lr_decay_style": back.scheduler.lr_decay_style,
                         "train_iters": back.train.train_iters, "blend_per_split": back.dataset.blend_per_split,
                         "tokenizer_model": back.tokenizer.tokenizer_model, "lines": len(y.read_text().splitlines())}

# validate() on one process: parallelism 1 (TP4/EP8 need 8+ ranks)
small = megatron_plan(load_config("nano3", overrides=["model.tensor_model_parallel_size=1", "model.expert_model_parallel_size=1",
                                                      "model.sequence_parallel=false", f"checkpoint.save={tmp}/small"]), blend)
cc1, _ = build_config_container(small)
for k, v in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}.items(): os.environ.setdefault(k, v)
try: cc1.validate(); out["validate"] = "ok"
except Exception as e: out["validate"] = f"{type(e).__name__}: {e}"

# super3: strict refuses (no MTP in Megatron-Bridge 0.3.1), lenient lists what is missing
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
print(json.dumps(out, default=str))
