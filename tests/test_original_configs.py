"""The original recipes' Stage 0 YAML files (tests/fixtures/original_configs, copied unchanged from NVIDIA-NeMo/Nemotron)
load through the `nemotron` command with `-c PATH --dry-run`, and the values they set are the values the resolved config
shows. The expectations are read from the files here, independently of `nemotron_nb.recipe`'s translation."""
import shutil
from pathlib import Path
import pytest, yaml
from conftest import nemotron, ROOT

ORIGINALS = ROOT / "tests" / "fixtures" / "original_configs"
TRAINING = sorted(p for p in ORIGINALS.glob("*/stage0_pretrain/config/*.yaml"))
DATA_PREP = sorted(p for p in ORIGINALS.glob("*/stage0_pretrain/config/data_prep/*.yaml"))
NANO3 = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME"  # Megatron-Bridge's Nemotron3NanoProvider
SUPER3 = "MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEM*EMEMEMEME/*E/*E"  # + 2 MTP depths
KWARGS = {"seq_length": ("train", "seq_length"), "global_batch_size": ("train", "global_batch_size"),  # recipe kwargs
          "context_parallelism": ("model", "context_parallel_size"),
          "tensor_model_parallel_size": ("model", "tensor_model_parallel_size"),
          "expert_model_parallelism": ("model", "expert_model_parallel_size")}

def _model(path: Path) -> str: return path.relative_to(ORIGINALS).parts[0]

def original(path: Path) -> dict:
    "The file as the original's loader reads it: its `defaults:` merged first (numbers as YAML 1.2 reads them)."
    data = yaml.safe_load(path.read_text()) or {}
    out = {}
    for parent in data.pop("defaults", []) or []:
        out = _merge(out, original(path.parent / f"{parent}.yaml"))
    return _merge(out, data)

def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items(): out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out

def _num(v): return float(v) if isinstance(v, str) and v[:1].isdigit() else v  # PyYAML reads `4.5e-6` as text

def dry_run(model, *args, cwd, env=None) -> tuple[dict, list[str]]:
    "(the resolved config the dry run prints, its stderr lines)."
    r = nemotron(model, *args, "--dry-run", cwd=cwd, env={"PWD": str(cwd), **(env or {})})
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout), r.stderr.splitlines()

@pytest.fixture
def folder(tmp_path):
    "A folder with an env.toml whose [wandb] table the original's `${run.wandb.*}` names."
    (tmp_path / "env.toml").write_text('[wandb]\nproject = "nemotron-stage0"\nentity = "my-team"\n')
    return tmp_path

def test_the_fixture_holds_every_original_stage0_file():
    names = sorted(str(p.relative_to(ORIGINALS)) for p in TRAINING + DATA_PREP)
    assert len(TRAINING) == 8 and len(DATA_PREP) == 7, names  # nano3 2 + 2, super3 6 + 5

@pytest.mark.parametrize("path", TRAINING, ids=lambda p: str(p.relative_to(ORIGINALS)))
def test_original_training_config_loads_with_its_values(path, folder):
    model, want = _model(path), original(path)
    cfg, notes = dry_run(model, "pretrain", "-c", path, cwd=folder)
    assert all(n.startswith("note: ") for n in notes), notes
    assert cfg["backend"] == "megatron"
    # the model: the recipe's (super3's test_train.py swaps in the 7M test model)
    test_model = str(want.get("run", {}).get("train_script", "")).endswith("test_train.py")
    pattern = "MEM*EME/*E/*E" if test_model else NANO3 if model == "nano3" else SUPER3
    assert cfg["model"]["hybrid_layer_pattern"] == pattern
    assert len(pattern.split("/")[0]) == {"MEM*EME/*E/*E": 7, NANO3: 52, SUPER3: 88}[pattern]
    # every value the file sets in a section of ours is the value the config holds
    for section in ("train", "scheduler", "optimizer", "checkpoint"):
        for key, value in (want.get(section) or {}).items():
            assert cfg[section][key] == _num(value), (section, key)
    for key, (section, ours) in KWARGS.items():
        if key in (want.get("recipe") or {}): assert cfg[section][ours] == want["recipe"][key], key
    assert cfg["logger"]["log_interval"] == want["logger"]["log_interval"]
    assert (cfg["logger"]["wandb_project"], cfg["logger"]["wandb_entity"]) == ("nemotron-stage0", "my-team")  # env.toml
    assert cfg["run"]["data"] == want["run"]["data"]
    for key, value in want["run"]["env"].items(): assert cfg["run"]["env"][key] == value, key
    # the data: `${art:data,path}/blend.json` is the run.data artifact's own blend.json
    assert (want.get("data") or want.get("recipe"))["per_split_data_args_path"] == "${art:data,path}/blend.json"
    assert cfg["data"]["blend_path"] is None

def test_super3_default_is_phase1_and_test_is_the_small_model(folder):
    phase1, _ = dry_run("super3", "pretrain", "-c", ORIGINALS / "super3/stage0_pretrain/config/default.yaml", cwd=folder)
    assert phase1["scheduler"] == {"lr_decay_style": "WSD", "lr_wsd_decay_style": "minus_sqrt", "lr_warmup_iters": 7949,
                                   "lr_decay_iters": 992411, "lr_wsd_decay_iters": 198682,
                                   "override_opt_param_scheduler": True}
    test, notes = dry_run("super3", "pretrain", "-c", ORIGINALS / "super3/stage0_pretrain/config/test.yaml", cwd=folder)
    assert (test["model"]["hidden_size"], test["model"]["expert_model_parallel_size"], test["train"]["train_iters"]) == (256, 1, 50)
    assert not any("train_script" in n for n in notes)  # mapped, not ignored

def test_nano3_tiny_says_it_is_not_qwen(folder):
    cfg, notes = dry_run("nano3", "pretrain", "-c", ORIGINALS / "nano3/stage0_pretrain/config/tiny.yaml", cwd=folder)
    assert notes[0] == ("note: recipe._target_=megatron.bridge.recipes.qwen.qwen3.qwen3_8b_pretrain_config: not a "
                        "Nemotron 3 recipe (no such model here); the nano3 recipe (nemotron_3_nano_pretrain_config) is used")
    assert (cfg["train"]["train_iters"], cfg["train"]["global_batch_size"], cfg["scheduler"]["lr_warmup_iters"]) == (1700, 32, 32)

def test_without_wandb_in_env_toml_wandb_is_off(tmp_path):
    cfg, notes = dry_run("nano3", "pretrain", "-c", ORIGINALS / "nano3/stage0_pretrain/config/default.yaml", cwd=tmp_path,
                         env={"WANDB_PROJECT": "", "WANDB_ENTITY": ""})
    assert (cfg["logger"]["wandb_project"], cfg["logger"]["wandb_entity"]) == (None, None)
    assert "note: logger.wandb_project: ${run.wandb.project} = null (no [wandb] project in env.toml: W&B off)" in notes

def _checkout(folder: Path):
    "The blends where the original's data-prep files look for them: `$PWD/src/nemotron/recipes/...` (a checkout)."
    for blend in ROOT.glob("nemotron_nb/recipes/*/stage0_pretrain/config/data_prep/data_blend_raw*.json"):
        dest = folder / "src" / "nemotron" / blend.relative_to(ROOT / "nemotron_nb")
        dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy(blend, dest)

@pytest.mark.parametrize("path", DATA_PREP, ids=lambda p: str(p.relative_to(ORIGINALS)))
def test_original_data_prep_config_loads_with_its_values(path, folder):
    _checkout(folder)
    want = original(path)
    cfg, notes = dry_run(_model(path), "data", "prep", "pretrain", "-c", path, cwd=folder)
    pwd = lambda v: v.replace("${oc.env:PWD}", str(folder)) if isinstance(v, str) else v
    for key in ("blend_path", "output_dir", "num_shards", "valid_shards", "test_shards", "text_field", "min_doc_chars",
                "max_doc_tokens", "sample", "force", "config_name"):
        assert cfg[key] == pwd(want[key]), key
    assert Path(cfg["blend_path"]).is_file()
    assert cfg["tokenizer"] == want["tokenizer"]
    assert notes[0] == ("note: ignored: plan, download, tokenization, observability (the original's Ray pipeline "
                        "stages; here data prep runs in local worker processes, see num_workers)")
    assert notes[1] == "note: ignored: run.env.container=anyscale/ray:2.49.2-py312 (the original's Ray image; the job runs in the profile's container)"
    assert len(notes) == 2

def test_original_data_prep_outside_a_checkout_uses_the_shipped_blend(tmp_path):
    cfg, notes = dry_run("super3", "data", "prep", "pretrain", "-c", ORIGINALS / "super3/stage0_pretrain/config/data_prep/tiny.yaml",
                         cwd=tmp_path)
    shipped = "recipes/nano3/stage0_pretrain/config/data_prep/data_blend_raw_small.json"  # super3's tiny uses nano3's
    assert cfg["blend_path"] == str(ROOT / "nemotron_nb" / shipped)
    assert notes[-1] == (f"note: blend_path: {tmp_path}/src/nemotron/{shipped} does not exist; the same blend shipped "
                         f"with nemotron_nb is used ({shipped})")

@pytest.mark.parametrize("path", TRAINING + DATA_PREP, ids=lambda p: str(p.relative_to(ORIGINALS)))
def test_imported_config_loads_to_the_same_config(path, folder, monkeypatch):
    "`import_original_config` writes YAML of ours that resolves to what the original file resolves to."
    from nemotron_nb.recipe import import_original_config
    _checkout(folder)
    monkeypatch.setenv("PWD", str(folder))  # where the original's `${oc.env:PWD}` blends are
    stage = ["data", "prep", "pretrain"] if "data_prep" in path.parts else ["pretrain"]
    text, notes = import_original_config(path, _model(path), wandb={"project": "nemotron-stage0", "entity": "my-team"})
    assert text.startswith(f"# nemotron {_model(path)} {' '.join(stage[:2]) if len(stage) > 1 else 'pretrain'} config, imported from {path}\n")
    assert all(f"# note: {n}" in text for n in notes)
    (folder / "ours.yaml").write_text(text)
    theirs, _ = dry_run(_model(path), *stage, "-c", path, cwd=folder)
    ours, ours_notes = dry_run(_model(path), *stage, "-c", folder / "ours.yaml", cwd=folder)
    assert ours == theirs and ours_notes == []

# --- Megatron-Bridge's names: the smoke-test line of the original's documentation ------------------------------------

SMOKE = ["train.global_batch_size=128", "train.train_iters=100", "scheduler.lr_warmup_iters=10",
         "model.hybrid_override_pattern=MEME*ME", "model.num_layers=7"]

@pytest.mark.parametrize("model,pattern", [("nano3", "MEME*ME"), ("super3", "MEME*ME/*E/*E")])
def test_the_smoke_line_parses_and_keeps_the_mtp_depths(model, pattern, tmp_path):
    cfg, notes = dry_run(model, "pretrain", *SMOKE, cwd=tmp_path)
    assert cfg["model"]["hybrid_layer_pattern"] == pattern
    assert notes == ([] if model == "nano3" else [  # the one line on the MTP depths
        f"note: model.hybrid_override_pattern='MEME*ME' keeps the 2 MTP depth(s) of '{SUPER3}': 'MEME*ME/*E/*E' "
        f"(model.mtp_num_layers=0 drops them)"])
    assert (cfg["train"]["global_batch_size"], cfg["train"]["train_iters"], cfg["scheduler"]["lr_warmup_iters"]) == (128, 100, 10)

def test_megatron_bridge_names_in_a_yaml_file(tmp_path):
    (tmp_path / "smoke.yaml").write_text(
        "defaults: [" + str(ORIGINALS / "super3/stage0_pretrain/config/test") + "]\n"
        "model:\n  hybrid_override_pattern: M*EM*E\n  num_layers: 6\n  mtp_num_layers: 1\nrng:\n  seed: 7\n")
    cfg, _ = dry_run("super3", "pretrain", "-c", tmp_path / "smoke.yaml", cwd=tmp_path)
    assert (cfg["model"]["hybrid_layer_pattern"], cfg["train"]["seed"]) == ("M*EM*E/*E", 7)

def test_num_layers_that_disagrees_is_one_line(tmp_path):
    r = nemotron("nano3", "pretrain", "--dry-run", "model.hybrid_override_pattern=MEME*ME", "model.num_layers=8", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: model.num_layers=8 does not match the 7 layers of the pattern 'MEME*ME'; change the "
                                "pattern (model.hybrid_override_pattern) to change the depth (from the command line)")
