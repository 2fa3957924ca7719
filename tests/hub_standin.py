"""A local stand-in of the Hugging Face hub: an HTTP server on 127.0.0.1 that `huggingface_hub` and `datasets` talk to
through `HF_ENDPOINT`, serving repositories held in memory, with a log of every request it answered.

It answers what the libraries ask on the real download path: repository info (`/api/{datasets,models}/<repo>` and
`/revision/<rev>`), file listings (`/tree/<rev>/<path>`, `/paths-info/<rev>`), and files (`/resolve/<rev>/<path>`,
HEAD and GET, with byte ranges, which streaming parquet uses). As the hub does, it answers a missing repository with 401
`RepoNotFound` and a gated repository's file without a token with 401 `GatedRepo`; anything else it does not know is a
404. Every request is logged with its status, so a test sees what the libraries fetched, and any call they make that
this stand-in does not answer.
"""
from __future__ import annotations
import hashlib, json, re, threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

class NoRepo(KeyError): pass
class Gated(KeyError): pass

SHA = "0123456789abcdef0123456789abcdef01234567"  # the one commit of every repository here
KINDS = {"datasets": "dataset", "models": "model"}


@dataclass
class Repo:
    kind: str  # "datasets" or "models"
    repo_id: str  # org/name
    files: dict[str, bytes]
    card_data: dict = field(default_factory=dict)
    gated: bool = False  # its files need a token (any `Authorization` header here), as the real gated repositories do

    def entry(self, path: str) -> dict:
        data = self.files[path]
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        return {"type": "file", "oid": oid, "size": len(data), "path": path}

    def dirs(self) -> set[str]:
        return {"/".join(p.split("/")[:i]) for p in self.files for i in range(1, p.count("/") + 1)}

    def info(self) -> dict:
        siblings = [{"rfilename": p, "size": len(d)} for p, d in sorted(self.files.items())]
        return {"_id": self.repo_id, "id": self.repo_id, "author": self.repo_id.split("/")[0], "sha": SHA,
                "lastModified": "2025-01-01T00:00:00.000Z", "createdAt": "2025-01-01T00:00:00.000Z", "private": False,
                "gated": "auto" if self.gated else False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
                "siblings": siblings, "cardData": self.card_data, "usedStorage": sum(len(d) for d in self.files.values())}


class HubStandIn:
    "The server: `url` to put in `HF_ENDPOINT`, `requests` the (method, path, range, status) of every request."

    def __init__(self, repos: list[Repo]):
        self.repos = {(r.kind, r.repo_id): r for r in repos}
        self.requests: list[tuple[str, str, str, int]] = []
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def do_HEAD(self): hub._answer(self, head=True)
            def do_GET(self): hub._answer(self)
            def do_POST(self): hub._answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start(); return self

    def __exit__(self, *a):
        self.server.shutdown(); self.server.server_close()

    def downloads(self, repo_id: str) -> list[str]:
        "The files of `repo_id` whose bytes were fetched (GET on resolve), in order, each once."
        out = []
        for method, path, _, status in self.requests:
            m = re.match(rf"^(?:/datasets)?/{re.escape(repo_id)}/resolve/[^/]+/(.+)$", path)
            if method == "GET" and status in (200, 206) and m and m[1] not in out: out.append(m[1])
        return out

    # -- answering ------------------------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler, head: bool = False):
        url = urlsplit(h.path)
        path, query = unquote(url.path), parse_qs(url.query)
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0)) if h.command == "POST" else b""
        try: status, headers, data = self._route(h, path, query, body)
        except NoRepo:  # what the hub says to a caller without a token: a missing repository might be a private one
            headers = {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}
            status, data = 401, b"{}"
        except Gated: status, headers, data = 401, {"X-Error-Code": "GatedRepo"}, b"{}"
        except KeyError: status, headers, data = 404, {"X-Error-Code": "EntryNotFound"}, b'{"error": "not found"}'
        with self.lock: self.requests.append((h.command, path, h.headers.get("Range") or "", status))
        h.send_response(status)
        for k, v in {"Content-Length": str(len(data)), **headers}.items(): h.send_header(k, v)
        h.end_headers()
        if not head: h.wfile.write(data)

    def _json(self, obj, status=200):
        return status, {"Content-Type": "application/json"}, json.dumps(obj).encode()

    def _repo(self, kind: str, rest: str) -> tuple[Repo, str]:
        "The repository a path names (`org/name/...`) and the rest of the path."
        parts = rest.split("/", 2)
        if len(parts) < 2: raise KeyError(rest)
        repo = self.repos.get((kind, f"{parts[0]}/{parts[1]}"))
        if repo is None: raise NoRepo(rest)
        return repo, (parts[2] if len(parts) > 2 else "")

    def _route(self, h: BaseHTTPRequestHandler, path: str, query: dict, body: bytes):
        if path.startswith("/api/"):
            kind, _, rest = path[len("/api/"):].partition("/")
            if kind not in KINDS: raise KeyError(path)
            repo, tail = self._repo(kind, rest)
            if tail == "" or re.fullmatch(r"revision/[^/]+", tail): return self._json(repo.info())
            if m := re.fullmatch(r"tree/[^/]+/?(.*)", tail): return self._json(self._tree(repo, m[1], query))
            if re.fullmatch(r"paths-info/[^/]+", tail): return self._json(self._paths_info(repo, body))
            raise KeyError(path)
        kind = "datasets" if path.startswith("/datasets/") else "models"
        repo, tail = self._repo(kind, path[len("/datasets/"):] if kind == "datasets" else path[1:])
        m = re.fullmatch(r"resolve/[^/]+/(.+)", tail)
        if not m: raise KeyError(path)
        if repo.gated and not h.headers.get("Authorization"): raise Gated(path)
        return self._file(repo, m[1], h.headers.get("Range"))

    def _tree(self, repo: Repo, folder: str, query: dict) -> list:
        folder = folder.strip("/")
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        if folder and folder not in repo.dirs(): raise KeyError(folder)
        under = lambda p: p.startswith(folder + "/") if folder else True
        depth = lambda p: p[len(folder) + 1:].count("/") if folder else p.count("/")
        dirs = [{"type": "directory", "oid": SHA, "size": 0, "path": d} for d in sorted(repo.dirs())
                if under(d) and (recursive or depth(d) == 0)]
        files = [repo.entry(p) for p in sorted(repo.files) if under(p) and (recursive or depth(p) == 0)]
        return dirs + files

    def _paths_info(self, repo: Repo, body: bytes) -> list:
        fields = parse_qs(body.decode())
        paths = fields.get("paths") or json.loads(body or b"{}").get("paths", [])
        out = []
        for p in paths:
            p = p.strip("/")
            if p in repo.files: out.append(repo.entry(p))
            elif p in repo.dirs(): out.append({"type": "directory", "oid": SHA, "size": 0, "path": p})
        return out

    def _file(self, repo: Repo, path: str, rng):
        data = repo.files[path]
        headers = {"ETag": f'"{repo.entry(path)["oid"]}"', "X-Repo-Commit": SHA, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if rng and (m := re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())):
            if m[1]: start, end = int(m[1]), min(int(m[2]) if m[2] else len(data) - 1, len(data) - 1)
            else: start, end = max(0, len(data) - int(m[2])), len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return 206, headers, data[start:end + 1]
        return 200, headers, data
