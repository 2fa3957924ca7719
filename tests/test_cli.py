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

@pytest.mark.parametrize("words", [[], ["nano3"], ["nano3", "data"], ["nano3", "data", "prep"], ["super3", "pretrain"],
                                   ["nano3", "data", "prep", "pretrain"]])
def test_help_at_every_level(words):
    r = nemotron(*words, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: nemotron"), r.stderr


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
