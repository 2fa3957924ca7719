"The `nemotron` command as a user runs it: in a subprocess, in an empty folder."
import os
import pytest
from conftest import nemotron

def _files(d): return sorted(str(p.relative_to(d)) for p in d.rglob("*"))

def test_dry_run_prints_merged_config_and_writes_nothing(tmp_path):
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--dry-run", "train.train_iters=5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "  train_iters: 5\n" in r.stdout and "  hybrid_layer_pattern: MEM*EME\n" in r.stdout
    assert "nothing written" in r.stdout
    assert _files(tmp_path) == []

def test_options_before_the_words(tmp_path):
    r = nemotron("--dry-run", "-c", "phase2", "train.train_iters=7", "super3", "pretrain", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "  train_iters: 7\n" in r.stdout and "  load: output/checkpoints/super3-pretrain-model-phase1\n" in r.stdout

def test_sample_keeps_its_number(tmp_path):
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--sample", "100", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\nsample: 100\n" in r.stdout and "sample-100" in r.stdout
    assert _files(tmp_path) == []

@pytest.mark.parametrize("args,message", [
    (["nano3", "pretrain", "-c", "tiny", "train.train_iter=5"],
     "error: unknown key 'train.train_iter' (did you mean 'train.train_iters'?) (from the command line)"),
    (["nano3", "pretrain", "-c", "tiny", "train.train_iters=many"],
     "error: train.train_iters='many': expected int, got str (from the command line)"),
    (["super3", "pretrain", "-c", "phase3"],
     "error: no super3 pretrain config named 'phase3' (did you mean 'phase2'?); available: default, long_context_1m, long_context_mixed, phase1, phase2, test, tiny"),
    (["nano3", "pretrain", "--run", "a", "--batch", "b"],
     "error: --run and --batch are mutually exclusive: --run follows the job, --batch returns at once"),
    (["nano4", "pretrain"], "error: unknown model 'nano4' (did you mean 'nano3'?); expected one of nano3, super3"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, message):
    r = nemotron(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == message
    assert _files(tmp_path) == []

# --- configs: numbers as people write them, and the dry run refusing what the real run would refuse ---------------

def test_numbers_as_people_write_them_on_the_command_line(tmp_path):
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--dry-run", "optimizer.lr=3e-4", "optimizer.min_lr=1E-5",
                 "scheduler.lr_warmup_iters=1e1", "train.train_iters=1e2", "optimizer.weight_decay=0", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for line in ("  lr: 0.0003\n", "  min_lr: 1.0e-05\n", "  lr_warmup_iters: 10\n", "  train_iters: 100\n", "  weight_decay: 0.0\n"):
        assert line in r.stdout, line
    assert _files(tmp_path) == []

def test_numbers_as_people_write_them_in_a_yaml_file(tmp_path):
    (tmp_path / "mine.yaml").write_text("model:\n  preset: nano3-tiny\ntrain:\n  train_iters: 1e2\n  global_batch_size: 8\n"
                                        "  micro_batch_size: 4\n  seq_length: 128\noptimizer:\n  lr: 3e-4\n  min_lr: 1E-5\n"
                                        "scheduler:\n  lr_warmup_iters: 1e1\n")
    r = nemotron("nano3", "pretrain", "-c", "mine.yaml", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for line in ("  lr: 0.0003\n", "  min_lr: 1.0e-05\n", "  lr_warmup_iters: 10\n", "  train_iters: 100\n"):
        assert line in r.stdout, line

def test_a_string_key_keeps_its_text(tmp_path):
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--dry-run", "tokenizer.model=1e3", "config_name=007", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "  model: '1e3'\n" in r.stdout and "\nconfig_name: '007'\n" in r.stdout

def test_a_number_for_a_string_key_in_yaml_says_to_quote_it(tmp_path):
    (tmp_path / "dp.yaml").write_text("blend_path: b.json\noutput_dir: out\ntokenizer:\n  model: 1e3\n")
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "dp.yaml", "--dry-run", cwd=tmp_path)
    assert (r.returncode, r.stderr.strip()) == (2, "error: tokenizer.model=1000.0: expected str, got float; quote it in YAML "
                                                   f"to keep it text in {tmp_path / 'dp.yaml'}")

@pytest.mark.parametrize("override,message", [
    ("scheduler.lr_warmup_iters=1.5", "scheduler.lr_warmup_iters=1.5: expected a whole number (int), got 1.5 (from the command line)"),
    ("optimizer.lr=-1e-3", "optimizer.lr=-0.001: must be at least 0"),
    ("optimizer.min_lr=1e-2", "optimizer.min_lr=0.01 is above optimizer.lr=0.003; min_lr must be at most lr"),
    ("optimizer.clip_grad=-1", "optimizer.clip_grad=-1.0: must be at least 0"),
    ("optimizer.weight_decay=-0.1", "optimizer.weight_decay=-0.1: must be at least 0"),
    ("optimizer.adam_beta1=1", "optimizer.adam_beta1=1.0: must be in [0, 1)"),
    ("optimizer.adam_eps=0", "optimizer.adam_eps=0.0: must be above 0"),
    ("train.eval_interval=0", "train.eval_interval=0: must be at least 1 (train.eval_iters=0 turns evaluation off)"),
    ("train.eval_iters=-1", "train.eval_iters=-1: must be at least 0"),
    ("logger.log_interval=0", "logger.log_interval=0: must be at least 1"),
    ("checkpoint.save_interval=-5", "checkpoint.save_interval=-5: must be at least 1 (or null: save at the end only)"),
    ("checkpoint.keep_last=0", "checkpoint.keep_last=0: must be at least 1"),
    ("scheduler.lr_warmup_iters=-5", "scheduler.lr_warmup_iters=-5: must be at least 0"),
    ("scheduler.lr_decay_iters=0", "scheduler.lr_decay_iters=0: must be at least 1 (or null)"),
    ("scheduler.lr_warmup_iters=200", "scheduler.lr_warmup_iters=200 must be below the decay iterations "
     "(scheduler.lr_decay_iters=100, train.train_iters=100): lower the warmup or set scheduler.lr_decay_iters"),
    ("model.num_query_groups=3", "model.num_attention_heads=4 is not a multiple of num_query_groups=3"),
    ("model.mamba_num_groups=4", "model.mamba_num_heads=6 is not a multiple of mamba_num_groups=4"),
    ("model.mamba_conv_kernel=7", "model.mamba_conv_kernel=7: the causal-conv1d kernels (Megatron's, and ours on CUDA) take 2 to 4"),
    ("model.moe_router_topk=9", "model.moe_router_topk=9 must be between 1 and num_moe_experts=8"),
    ("model.make_vocab_size_divisible_by=0", "model.make_vocab_size_divisible_by=0 must be at least 1"),
    ("model.init_method_std=-0.1", "model.init_method_std=-0.1 must be at least 0"),
    ("model.tensor_model_parallel_size=4", "model.mamba_num_heads=6 is not a multiple of tensor_model_parallel_size=4"),
    ("model.context_parallel_size=3", "train.seq_length=128 is not a multiple of 2 * model.context_parallel_size=6"),
    ("backend=megatron model.mamba_time_step_min=1e-3", "model.mamba_time_step_min=0.001: Megatron-Core's Mamba mixer has no "
     "clamp on the time step; set it to 0 for backend=megatron, or train with backend=local"),
    ("backend=megatron model.mamba_conv_kernel=3", "model.mamba_conv_kernel=3: Megatron's Mamba mixer has a fixed convolution width of 4"),
    ("backend=megatron model.hybrid_layer_pattern=MEM|*EME", "model.hybrid_layer_pattern has '|' stage marks but pipeline_model_parallel_size=1"),
    ("scheduler.lr_decay_style=WSD scheduler.lr_wsd_decay_iters=150", "scheduler.lr_wsd_decay_iters=150: must be between 1 and the decay iterations (100)"),
])
def test_dry_run_refuses_what_the_run_would(tmp_path, override, message):
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--dry-run", *override.split(), cwd=tmp_path)
    assert (r.returncode, r.stderr.strip()) == (2, f"error: {message}")
    assert r.stdout == "" and _files(tmp_path) == []

@pytest.mark.parametrize("words", [[], ["nano3"], ["nano3", "data"], ["nano3", "data", "prep"], ["super3", "pretrain"],
                                   ["nano3", "data", "prep", "pretrain"], ["nano3", "data", "import"],
                                   ["super3", "data", "import", "pretrain"], ["nano3", "config"], ["super3", "config", "import"]])
def test_help_at_every_level(words):
    r = nemotron(*words, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: nemotron"), r.stderr

@pytest.mark.parametrize("words,listed", [
    ([], ["data prep pretrain", "pretrain", "data import pretrain", "config import"]),
    (["nano3"], ["data prep pretrain", "pretrain", "data import pretrain", "config import"]),
    (["nano3", "data"], ["data prep pretrain", "data import pretrain"]),
    (["super3", "config"], ["config import"])])
def test_help_lists_the_import_commands(words, listed):
    "The help of each level lists every command under it, the two import commands included."
    r = nemotron(*words, "--help")
    model = "{nano3,super3}" if not words else words[0]
    shown = [l.split(model + " ", 1)[1][:20].strip() for l in r.stdout.splitlines() if l.startswith(f"  nemotron {model} ")]
    assert shown == listed, r.stdout


# --- data prep: --allow-empty (issue 12) ---
def test_allow_empty_is_in_the_help_and_belongs_to_data_prep(tmp_path):
    r = nemotron("nano3", "data", "prep", "pretrain", "--help", cwd=tmp_path)
    assert r.returncode == 0 and "  --allow-empty           let a dataset yield no documents (every row skipped, an empty file): a warning," in r.stdout
    r = nemotron("nano3", "pretrain", "-c", "tiny", "--allow-empty", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: --sample, --force and --allow-empty belong to data prep ('nemotron <model> data prep pretrain')"
    r = nemotron("nano3", "data", "prep", "pretrain", "-c", "tiny", "--allow-empty", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0 and "\nallow_empty: true\n" in r.stdout
    assert _files(tmp_path) == []

def test_allow_empty_reaches_the_command_line_of_a_job():
    "--run/--batch rebuild the command a job runs from the parsed line: --allow-empty travels as the override allow_empty=true."
    from nemotron_nb.cli import parse_args, stage_config
    from nemotron_nb.launch import job_command
    args = parse_args(["nano3", "data", "prep", "pretrain", "-c", "tiny", "--allow-empty", "--batch", "p"])
    model, st, cfg = stage_config(args)
    assert cfg.allow_empty is True
    assert job_command(model, st, args) == ["nemotron", "nano3", "data", "prep", "pretrain", "-c", "tiny", "allow_empty=true"]
