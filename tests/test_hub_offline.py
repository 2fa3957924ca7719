"""The hub path of data prep, tested offline: `hf://` datasets and a hub tokenizer through a local stand-in of the
Hugging Face hub (`hub_standin.py`, an HTTP server on 127.0.0.1 that `HF_ENDPOINT` points the libraries at).

The stand-in serves `nvidia/Nemotron-CC-Math-v1` and `nvidia/Nemotron-CC-v2` with the layout of the real repositories
(a dataset card whose `configs` map each subset to `<subset>/*.parquet`, parquet shards with the columns `id`, `url`,
`warc_filename` and `text`; the math set gated, its files for a caller with a token), and a tokenizer repository
holding the shipped tiny tokenizer. The original recipes' `data_blend_raw_small.json` (shipped unchanged with the nano3
recipe) names five subsets of those two.
"""
import io, json, os, shutil, socket, subprocess, sys
from pathlib import Path
import pytest
from conftest import BIN
from hub_standin import HubStandIn, Repo

DATA_PREP = Path(__file__).parents[1] / "nemotron_nb" / "recipes" / "nano3" / "stage0_pretrain" / "config" / "data_prep"
BLEND = DATA_PREP / "data_blend_raw_small.json"
ROWS_PER_SHARD, SHARDS = 60, 3  # --sample 100 needs the first two shards of a subset, never the third
MATH = ("nvidia/Nemotron-CC-Math-v1", ("3", "4plus", "4plus_MIND"))
CC = ("nvidia/Nemotron-CC-v2", ("High-Quality-Synthetic", "Medium-High-Quality", "Medium-Quality"))
TOKENIZER = "standin/tiny-tokenizer"
SAMPLE = "def f(x):\n    return x ** 2  # ünïcödé"


def _text(subset: str, shard: int, i: int) -> str:
    return f"{subset} shard {shard} row {i}: let x = {i * i} and y = x + {shard}."

def _parquet(subset: str, shard: int) -> bytes:
    import pyarrow as pa, pyarrow.parquet as pq
    ids = [f"{subset}-{shard}-{i}" for i in range(ROWS_PER_SHARD)]
    table = pa.table({"id": ids, "url": [f"https://example.org/{x}" for x in ids],
                      "warc_filename": ["CC-MAIN-2024-10.warc.gz"] * len(ids),
                      "text": [_text(subset, shard, i) for i in range(ROWS_PER_SHARD)]})
    buf = io.BytesIO(); pq.write_table(table, buf, row_group_size=20)
    return buf.getvalue()

def _dataset_repo(repo_id: str, subsets, gated: bool = False) -> Repo:
    configs = "".join(f"- config_name: '{s}'\n  data_files:\n  - path: {s}/*.parquet\n    split: train\n" for s in subsets)
    card = f"---\nconfigs:\n{configs}---\n# a stand-in of {repo_id}\n"
    files = {"README.md": card.encode()}
    files.update({f"{s}/part_{k:06d}.parquet": _parquet(s, k) for s in subsets for k in range(SHARDS)})
    return Repo("datasets", repo_id, files, gated=gated)

def _tokenizer_repo() -> Repo:
    from nemotron_nb.tokenizer import TINY_TOKENIZER_DIR
    return Repo("models", TOKENIZER, {p.name: p.read_bytes() for p in Path(TINY_TOKENIZER_DIR).iterdir()})

@pytest.fixture(scope="module")
def hub():
    with HubStandIn([_dataset_repo(*MATH, gated=True), _dataset_repo(*CC), _tokenizer_repo()]) as h: yield h

def _env(endpoint: str, home: Path, token: bool = True) -> dict:
    "The environment of a run against `endpoint`: its own HF cache, online (the suite sets the libraries offline)."
    drop = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "HF_ENDPOINT": endpoint, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1",
            **({"HF_TOKEN": "hf_standin"} if token else {})}

def _nemotron(tmp_path, env, *overrides):
    "`nemotron nano3 data prep pretrain -c tiny` on the original's small blend (unless overridden), in exactly `env`."
    exe = shutil.which("nemotron", path=str(BIN)) or shutil.which("nemotron")
    args = ["nano3", "data", "prep", "pretrain", "-c", "tiny", f"blend_path={BLEND}", "output_dir=out", *overrides]
    return subprocess.run([exe, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]  # nothing listens there once it is closed


def test_original_small_blend_tokenizes_through_the_hub_reading_only_what_sample_needs(tmp_path, hub):
    "The original's small blend, --sample 100, a hub tokenizer: every document exact, only the first shards read."
    from nemotron_nb.indexed import read_documents
    from nemotron_nb.tokenizer import load_tokenizer
    hub.requests.clear()
    r = _nemotron(tmp_path, _env(hub.url, tmp_path / "hf"), "--sample", "100", f"tokenizer.model={TOKENIZER}")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / "sample-100"
    meta = json.loads((out / "metadata.json").read_text())
    entries = json.loads(BLEND.read_text())["datasets"]
    assert {k: v["documents"] for k, v in meta["datasets"].items()} == {e["name"]: 100 for e in entries}
    tok = load_tokenizer()  # the shipped tokenizer: the bytes the stand-in served
    assert (meta["tokenizer"]["model"], meta["tokenizer"]["fingerprint"]) == (TOKENIZER, tok.fingerprint)
    for e in entries:
        got = [tok.decode(a[:-1]) for s in ("train", "valid", "test")
               for a in read_documents(out / "shards" / e["name"] / f"{s}_000000")]
        want = [_text(e["subset"], k, i) for k in range(SHARDS) for i in range(ROWS_PER_SHARD)][:100]
        assert sorted(got) == sorted(want), e["name"]
    # the bytes fetched: the first two shards of each of the five subsets, the dataset cards, the tokenizer's files
    first_two = lambda subsets: sorted(f"{s}/part_{k:06d}.parquet" for s in subsets for k in range(2))
    assert sorted(set(hub.downloads(MATH[0])) - {"README.md"}) == first_two(["3", "4plus"])
    assert sorted(set(hub.downloads(CC[0])) - {"README.md"}) == first_two(CC[1])
    assert sorted(hub.downloads(TOKENIZER)) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]

def test_hub_tokenizer_equals_the_local_one_then_serves_from_the_cache_offline(tmp_path, hub):
    "load_tokenizer of a hub id through the stand-in: the ids of the shipped folder; then offline, from the HF cache."
    from nemotron_nb.tokenizer import load_tokenizer
    code = ("from nemotron_nb.tokenizer import load_tokenizer; t = load_tokenizer('%s'); "
            "print(t.name, t.vocab_size, t.encode([%r])[0])" % (TOKENIZER, SAMPLE))
    local = load_tokenizer()
    online, offline = _env(hub.url, tmp_path / "hf"), _env(f"http://127.0.0.1:{_closed_port()}", tmp_path / "hf")
    for env in (online, {**offline, "HF_HUB_OFFLINE": "1"}):
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"{TOKENIZER} {local.vocab_size} {local.encode([SAMPLE])[0]}"

def test_missing_repository_is_one_line(tmp_path, hub):
    (tmp_path / "b.json").write_text(json.dumps({"datasets": [{"name": "gone", "path": "hf://nvidia/No-Such-Set"}]}))
    r = _nemotron(tmp_path, _env(hub.url, tmp_path / "hf"), f"blend_path={tmp_path / 'b.json'}")
    assert r.returncode == 2 and r.stderr == (
        "error: dataset 'gone': cannot list hf://nvidia/No-Such-Set (subset None) on the Hugging Face hub "
        "(RepositoryNotFoundError: no such repository, or a private one (log in with `hf auth login` or set HF_TOKEN))\n")
    assert not (tmp_path / "out").exists()

def test_gated_dataset_without_a_token_is_one_line(tmp_path, hub):
    "The Nemotron datasets are gated: without a token, one line that says what to do."
    r = _nemotron(tmp_path, _env(hub.url, tmp_path / "hf", token=False), "--sample", "100")
    assert r.returncode == 2 and r.stderr == (
        "error: dataset 'nemotron-math-3': cannot list hf://nvidia/Nemotron-CC-Math-v1 (subset '3') on the Hugging Face "
        "hub (DatasetNotFoundError: a gated repository: accept its conditions on its hub page, then log in with "
        "`hf auth login` or set HF_TOKEN)\n"), r.stderr
    assert not (tmp_path / "out").exists()

def test_without_a_network_a_dataset_fails_in_one_line(tmp_path):
    "A hub that cannot be reached (an endpoint on a closed port): one line, exit 2, no retry banners, nothing written."
    r = _nemotron(tmp_path, _env(f"http://127.0.0.1:{_closed_port()}", tmp_path / "hf"), "--sample", "100")
    assert r.returncode == 2, r.stderr
    assert r.stderr == ("error: dataset 'nemotron-math-3': cannot list hf://nvidia/Nemotron-CC-Math-v1 (subset '3') "
                        "on the Hugging Face hub (ConnectError: [Errno 111] Connection refused)\n"), r.stderr
    assert r.stdout == "" and not (tmp_path / "out").exists()

def test_without_a_network_a_hub_tokenizer_fails_in_one_line(tmp_path):
    "The same for a hub tokenizer, with local data."
    r = _nemotron(tmp_path, _env(f"http://127.0.0.1:{_closed_port()}", tmp_path / "hf"),
                  f"blend_path={DATA_PREP / 'data_blend_tiny.json'}",
                  f"tokenizer.model={TOKENIZER}")
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith(
        f"error: tokenizer.model='{TOKENIZER}': not a local folder, and the Hugging Face hub could not provide it ("), r.stderr
    assert "Retrying" not in r.stderr and not (tmp_path / "out").exists()

def test_a_full_run_splits_hub_files_by_rows_and_keeps_every_row_once(tmp_path, hub):
    "Without --sample, one subset into 4 shards on 2 workers: 3 files of 60 rows, each split by rows, every row once."
    from nemotron_nb.indexed import read_documents
    from nemotron_nb.tokenizer import load_tokenizer
    blend = tmp_path / "b.json"
    entry = {"name": "math-3", "path": "hf://nvidia/Nemotron-CC-Math-v1", "subset": "3"}
    blend.write_text(json.dumps({"datasets": [entry]}))
    r = _nemotron(tmp_path, _env(hub.url, tmp_path / "hf"), f"blend_path={blend}", "num_shards=4", "num_workers=2")
    assert r.returncode == 0, r.stderr
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())["datasets"][0]["shards"]
    parts = sorted((p["path"].rsplit("/", 1)[1], p["row_modulus"], p["row_remainder"]) for s in plan for p in s["parts"])
    assert parts == [(f"part_{k:06d}.parquet", 2, r) for k in range(SHARDS) for r in range(2)]
    tok = load_tokenizer()
    got = [tok.decode(a[:-1]) for p in sorted((tmp_path / "out" / "shards" / "math-3").glob("*.bin"))
           for a in read_documents(str(p)[:-4])]
    assert sorted(got) == sorted(_text("3", k, i) for k in range(SHARDS) for i in range(ROWS_PER_SHARD))
