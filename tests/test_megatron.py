"""The Megatron-Bridge translation, checked against the real Megatron-Bridge 0.3.1 classes in their own environment
(built by tests/megatron_bridge/make_env.sh; skipped, with the reason, where it cannot be built)."""
import json, os, subprocess, sys
from pathlib import Path
import pytest
from nemotron_nb.megatron import EXPECTED_NANO3_PROVIDER_DIFFERENCES

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def mb():
    r = subprocess.run(["bash", str(ROOT / "tests/megatron_bridge/make_env.sh")], capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        reason = f"the Megatron-Bridge 0.3.1 environment could not be built: {(r.stderr.strip().splitlines() or ['?'])[-1]}"
        print(reason); pytest.skip(reason)
    py = ROOT / r.stdout.strip().splitlines()[-1] / "bin" / "python"
    c = subprocess.run([str(py), str(ROOT / "tests/megatron_bridge/check_translation.py")], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert c.returncode == 0, c.stderr[-3000:]
    return json.loads(c.stdout.strip().splitlines()[-1])

def test_environment_is_megatron_bridge_031_with_the_te_standin(mb):
    assert mb["te_is_import_only_standin"] is True

def test_nano3_every_field_set_none_missing(mb):
    assert mb["nano3_missing"] == []
    assert mb["nano3_implied"] == ["model.mamba_chunk_size", "model.mtp_hybrid_override_pattern", "model.mtp_use_repeated_layer"]
    assert mb["nano3_num_set"] > 90

def test_nano3_fields(mb):
    m = mb["nano3_model"]
    assert m["hybrid_override_pattern"] == "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME"
    assert (m["num_layers"], m["hidden_size"], m["num_moe_experts"], m["moe_router_topk"], m["moe_shared_expert_intermediate_size"]) == (52, 2688, 128, 6, 3712)
    assert (m["tensor_model_parallel_size"], m["expert_model_parallel_size"], m["expert_tensor_parallel_size"], m["sequence_parallel"]) == (4, 8, 1, True)
    assert (m["moe_router_score_function"], m["moe_router_load_balancing_type"], m["moe_aux_loss_coeff"], m["moe_router_dtype"]) == ("sigmoid", "seq_aux_loss", 1e-4, "fp32")
    assert mb["nano3_scheduler"] == {"lr_decay_style": "cosine", "lr_warmup_iters": 333, "lr_warmup_init": 0.0, "lr_decay_iters": 39735,
                                     "lr_wsd_decay_style": "linear", "lr_wsd_decay_iters": None, "override_opt_param_scheduler": False,
                                     "start_weight_decay": 0.1, "end_weight_decay": 0.1, "weight_decay_incr_style": "constant"}
    assert mb["nano3_optimizer"] == {"optimizer": "adam", "lr": 1.6e-3, "min_lr": 1.6e-5, "adam_beta1": 0.9, "adam_beta2": 0.95,
                                     "adam_eps": 1e-8, "weight_decay": 0.1, "clip_grad": 1.0, "bf16": True, "use_distributed_optimizer": True}
    assert mb["nano3_train"] == {"train_iters": 39735, "global_batch_size": 3072, "micro_batch_size": 2, "eval_interval": 1000, "eval_iters": 32}
    assert (mb["nano3_checkpoint"]["save_interval"], mb["nano3_checkpoint"]["most_recent_k"], mb["nano3_checkpoint"]["ckpt_format"]) == (20, 2, "torch_dist")

def test_nano3_differences_from_megatron_bridge_provider_are_the_documented_ones(mb):
    assert mb["nano3_provider_differences"] == {k: list(v) for k, v in EXPECTED_NANO3_PROVIDER_DIFFERENCES.items()}

def test_blend_per_split_and_yaml(mb):
    assert mb["blend_per_split_equals_megatron_bridge"] is True
    y = mb["yaml_roundtrip"]
    assert (y["pattern"], y["lr_decay_style"], y["train_iters"], y["tokenizer_model"]) == (
        "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME", "cosine", 39735, "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    assert [w for _, w in y["blend_per_split"]] == [[1.0, 2.5], [1.0], [1.0]]
    assert y["lines"] > 500

def test_validate_passes_on_one_process(mb):
    assert mb["validate"] == "ok"

def test_super3_mtp_is_reported_not_dropped(mb):
    assert mb["super3_strict"].startswith("this Megatron-Bridge cannot express model.mtp_hybrid_override_pattern='*E', model.mtp_use_repeated_layer=True")
    assert mb["super3_missing"] == ["model.mtp_hybrid_override_pattern='*E'", "model.mtp_use_repeated_layer=True"]
    assert mb["super3_model"] == {"hybrid_override_pattern": "MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEM*EMEMEMEME",
                                  "num_layers": 88, "hidden_size": 4096, "num_moe_experts": 512, "moe_router_topk": 22,
                                  "moe_latent_size": 1024, "moe_router_topk_scaling_factor": 5.0, "mtp_num_layers": 2,
                                  "mtp_loss_scaling_factor": 0.3, "moe_shared_expert_overlap": False, "init_method_std": 0.014}
    assert mb["super3_scheduler"] == {"lr_decay_style": "WSD", "lr_wsd_decay_style": "minus_sqrt", "lr_warmup_iters": 7949,
                                      "lr_decay_iters": 992411, "lr_wsd_decay_iters": 198682, "start_weight_decay": 0.1, "end_weight_decay": 0.1}
