#!/usr/bin/env python
"""Check rendered docs pages for what breaks them offline or shows a reader raw machinery, one function per defect:
a script loaded from the network, TeX left as `$$` in the text, a widget's text repr in place of the widget, and an
image whose file is not next to the page, printed output shown as the notebook's list of lines. Each function returns the problems it found in one page, as strings.

usage: docs_lint.py DIR_OR_PAGE...     (exit status 1 and one line per problem when any page has a defect)
"""
import re, sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_NET = re.compile(r"^\s*(https?:)?//", re.I)
_WIDGET_REPR = re.compile(r"\b(VBox|HBox|GridBox|Box|Tab|Accordion|Stack)\(children=")
_SKIP_TEXT = {"script", "style", "code", "pre", "math", "textarea", "title"}  # text that is code or markup, not prose


class _Page(HTMLParser):
    "One pass over a page: its scripts' sources and inline code, its images' sources, its visible text."
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.script_srcs, self.inline_scripts, self.img_srcs, self.text, self.all_text = [], [], [], [], []
        self.pre_text = []  # the text of each <pre> (outputs and code), one string a block
        self._open, self._in_script = [], False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            if a.get("src") is not None: self.script_srcs.append(a["src"])
            self._in_script = True
        if tag == "img": self.img_srcs.append(a.get("src") or "")
        if tag in _SKIP_TEXT: self._open.append(tag)
        if tag == "pre": self.pre_text.append("")
    def handle_endtag(self, tag):
        if tag == "script": self._in_script = False
        if tag in _SKIP_TEXT and tag in self._open: self._open.remove(tag)
    def handle_data(self, data):
        if self._in_script: self.inline_scripts.append(data); return
        self.all_text.append(data)
        if "pre" in self._open: self.pre_text[-1] += data
        if not self._open: self.text.append(data)


def _parse(html: str) -> _Page:
    p = _Page(); p.feed(html); p.close()
    return p


def network_scripts(html: str) -> list[str]:
    "Scripts that load from the network: `<script src=\"http...\">`, and ES-module imports of an http(s) URL."
    p = _parse(html)
    bad = [f"script loaded from the network: {s}" for s in p.script_srcs if _NET.match(s)]
    for code in p.inline_scripts:
        bad += [f"script imports from the network: {m}"
                for m in re.findall(r"""\bimport\s*\(?\s*["']((?:https?:)?//[^"']+)""", code)]
    return bad


def raw_math(html: str) -> list[str]:
    "TeX a reader would see as source: `$$` in the page's text (outside code, scripts and rendered `<math>`)."
    text = "".join(_parse(html).text)
    opening = list(re.finditer(r"\$\$", text))[::2]  # `$$x$$` is one formula
    return [f"raw TeX in the text: {' '.join(text[max(0, m.start() - 30):m.start() + 40].split())}" for m in opening]


def widget_reprs(html: str) -> list[str]:
    "A widget shown as its Python repr (`VBox(children=...`) because no widget could be drawn."
    lines = "".join(_parse(html).all_text).splitlines()  # one report a line: the outer box, not the boxes it holds
    return [f"widget repr in the page: {m.group(0)}{line[m.end():m.end() + 40]}" for line in lines
            if (m := _WIDGET_REPR.search(line))]


_LINES_LIST = re.compile(r"""^\[(['"]).*?\\n\1(, |\])""", re.S)


def list_outputs(html: str) -> list[str]:
    "Printed output shown as the notebook's JSON list of lines (`['a\\n', 'b\\n']`) instead of the text."
    return [f"output shown as a list of lines: {' '.join(t[:50].split())}" for t in _parse(html).pre_text
            if _LINES_LIST.match(t.strip())]


def missing_images(html: str, page: Path) -> list[str]:
    "`<img src>` whose file does not exist relative to the page (a network URL counts as missing offline)."
    bad = []
    for src in _parse(html).img_srcs:
        if src.startswith("data:"): continue
        if not src or _NET.match(src) or urlsplit(src).scheme: bad.append(f"image not next to the page: {src!r}")
        elif not (page.parent / unquote(urlsplit(src).path)).is_file(): bad.append(f"missing image: {src}")
    return bad


def missing_scripts(html: str, page: Path) -> list[str]:
    "Local scripts (`<script src>`, or one a script writes, as the figures load plotly.js) whose file is not there."
    p = _parse(html)
    written = [m for code in p.inline_scripts for m in re.findall(r"""<script src=\\?["']([^"'\\]+)""", code)]
    local = [s for s in dict.fromkeys(p.script_srcs + written) if s and not _NET.match(s) and not urlsplit(s).scheme]
    return [f"missing script: {s}" for s in local if not (page.parent / unquote(urlsplit(s).path)).is_file()]


def lint_page(page: Path) -> list[str]:
    "Every defect of one HTML page."
    html, page = Path(page).read_text(encoding="utf-8"), Path(page)
    return (network_scripts(html) + raw_math(html) + widget_reprs(html) + list_outputs(html) + missing_images(html, page)
            + missing_scripts(html, page))


def lint(paths) -> dict:
    "Defects by page, for pages and folders of pages (`*.html`, recursively); pages without defects are left out."
    pages = [q for p in map(Path, paths) for q in ([p] if p.is_file() else sorted(p.rglob("*.html")))]
    return {str(p): errs for p in pages if (errs := lint_page(p))}


if __name__ == "__main__":
    found = lint(sys.argv[1:] or ["."])
    for page, errs in found.items():
        for e in errs: print(f"{page}: {e}")
    sys.exit(1 if found else 0)
