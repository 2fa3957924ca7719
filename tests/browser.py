"A real JupyterLab in a real headless Chromium (Debian's), driven by Playwright: helpers for the browser tests."
import json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

def missing() -> str:
    "Why the browser tests cannot run here ('' when they can)."
    if not Path(CHROMIUM).exists(): return "Debian's chromium is not installed (.ci/run installs it with apt-get)"
    try: import playwright  # noqa
    except ImportError: return "playwright is not installed (dev requirement)"
    if not shutil.which("jupyter", path=str(Path(sys.executable).parent)): return "jupyterlab is not installed"
    return ""

def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

@contextmanager
def jupyter_lab(root: Path, log: Path):
    "A JupyterLab server on 127.0.0.1 serving `root`; yields its base URL with the token."
    port, token = _free_port(), secrets.token_hex(16)
    exe = str(Path(sys.executable).parent / "jupyter")
    settings = Path(log).parent / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)  # render every cell (no windowing), so that tests can find any of them
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = settings.parent / "apputils-extension"; news.mkdir(parents=True, exist_ok=True)  # no "news?" notification
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "JUPYTER_PLATFORM_DIRS": "1",
           "JUPYTERLAB_SETTINGS_DIR": str(Path(log).parent / "lab-settings")}
    with open(log, "w") as lf:
        proc = subprocess.Popen([exe, "lab", "--no-browser", "--allow-root", "--ip", "127.0.0.1", "--port", str(port),
                                 f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                                 "--ServerApp.open_browser=False", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                                stdout=lf, stderr=subprocess.STDOUT, cwd=root, env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2); break
            except Exception: time.sleep(0.5)
        else: raise RuntimeError(f"JupyterLab did not start; see {log}")
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill()

@contextmanager
def browser_page(width=1400, height=1000):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = b.new_page(viewport={"width": width, "height": height})
            yield page
        finally: b.close()

def open_notebook(page, base: str, token: str, name: str):
    page.goto(f"{base}/lab/tree/{name}?token={token}", timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)

def dismiss_dialogs(page) -> list[str]:
    "Accept any modal dialog JupyterLab shows (kernel choice, notices); returns their texts."
    texts = []
    for _ in range(5):
        d = page.query_selector(".jp-Dialog")
        if not d: break
        texts.append(d.inner_text())
        btn = page.query_selector(".jp-Dialog .jp-mod-accept") or page.query_selector(".jp-Dialog button")
        btn.click(); page.wait_for_timeout(500)
    return texts

def run_all(page):
    "Run all cells through the menu (retrying when the first click does nothing, as happens now and then)."
    for _ in range(4):
        dismiss_dialogs(page)
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function("() => { const p = document.querySelector('.jp-CodeCell .jp-InputPrompt');"
                                   " return p && !p.textContent.includes('[ ]'); }", timeout=5000)
            return
        except Exception: continue
    raise RuntimeError("Run All Cells did not start")

IDLE_JS = ("() => { const ps = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
           " return ps.length > 0 && ps.every(p => !p.textContent.includes('[*]') && !p.textContent.includes('[ ]')); }")

STALL_S = float(os.environ.get("NEMOTRON_BROWSER_STALL_S", 90))  # no cell done this long after a run started: restart
ANY_DONE_JS = "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(p => /\\[\\d+\\]/.test(p.textContent))"

def restart_kernel(page, run_all: bool = False):
    "Restart the kernel through the Kernel menu, accepting its dialog (and run every cell again when `run_all`)."
    page.click(".lm-MenuBar-itemLabel:text-is('Kernel')")
    page.click(".lm-Menu-itemLabel:text-matches('^Restart Kernel and Run All Cells')" if run_all
               else ".lm-Menu-itemLabel:text-matches('^Restart Kernel.$')")
    page.wait_for_timeout(500); dismiss_dialogs(page)

def _wait(page, js: str, arg, timeout: int, what: str, rerun=None):
    """Wait until `js(arg)` holds. Now and then a kernel's first connection fails on the server (jupyter_server answers
    500 on its websocket) and the queued cells never run: when no cell at all is done after `STALL_S`, call `rerun`
    (once) to restart the kernel and run the cells again."""
    deadline, stall = time.time() + timeout / 1000, time.time() + STALL_S
    while time.time() < deadline:
        dismiss_dialogs(page)
        if page.evaluate(js, arg): return
        if rerun and time.time() > stall and not page.evaluate(ANY_DONE_JS):
            print(f"no cell ran in {STALL_S:.0f} s: restarting the kernel and running again", file=sys.stderr, flush=True)
            rerun(); stall = float("inf")
        page.wait_for_timeout(500)
    raise TimeoutError(f"{what} after {timeout/1000:.0f} s")

def wait_idle(page, timeout=300_000):
    "Wait until every code cell has run (after `run_all`), accepting any dialog (such as the kernel choice) meanwhile."
    _wait(page, IDLE_JS, None, timeout, "cells still running", rerun=lambda: restart_kernel(page, run_all=True))

def write_notebook(path: Path, cells: list[str]):
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": src} for i, src in enumerate(cells)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))

DONE_JS = ("(n) => { const ps = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);"
           " return !ps.some(t => t.includes('[*]')) && ps.filter(t => /\\[\\d+\\]/.test(t)).length >= n; }")

def wait_ran(page, at_least: int, timeout=300_000, rerun=None):
    "Wait until nothing is running and at least `at_least` code cells have run (for partial runs of a notebook)."
    _wait(page, DONE_JS, at_least, timeout, f"cells still running (or fewer than {at_least} run)", rerun)

def kill_processes_in(folder: Path) -> int:
    "Kill every process (but this one) whose working directory is inside `folder`: jobs a test started and left running."
    import signal
    n = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid(): continue
        try: cwd = os.readlink(proc / "cwd")
        except OSError: continue
        if cwd == str(folder) or cwd.startswith(str(folder) + "/"):
            try: os.kill(int(proc.name), signal.SIGKILL); n += 1
            except OSError: pass
    return n
