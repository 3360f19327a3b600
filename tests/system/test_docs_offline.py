"""The documentation site needs no network to be read: it builds (``make docs``'s command, into a
temporary folder) and no built page loads a script, stylesheet, font or image over http(s). The
formulas are rendered by the MathJax that the ``docs`` extra bundles (``sphinx-mathjax-offline``),
served from the site's own ``_static/``; a CDN's MathJax left every formula as raw LaTeX offline."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("myst_parser", reason="the docs extra is not installed (pip install -e '.[docs]')")

#: (tag, attribute) pairs that make a browser fetch a resource when the page loads
LOADED = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"), ("audio", "src")}


class _Resources(HTMLParser):
    """The URLs a page loads by itself: scripts, stylesheets and other ``<link>``\\ s, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in LOADED and value:
                self.urls.append((tag, value))


def network_resources(html: str) -> list[tuple[str, str]]:
    """The resources of a page that come from the network (``http:``, ``https:`` or ``//host``),
    including ``url(...)`` references of inline styles."""
    parser = _Resources()
    parser.feed(html)
    remote = [(tag, url) for tag, url in parser.urls if re.match(r"(https?:)?//", url.strip(), re.I)]
    remote += [("style", url) for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", html, re.I)]
    return remote


def test_the_checker_sees_a_cdn():
    page = ('<script defer src="https://cdn.example/mathjax/tex-chtml.js"></script><link rel="stylesheet" href="http://x/y.css">'
            '<link rel="stylesheet" href="_static/pygments.css"><a href="https://github.com/">a link is not loaded</a>')
    assert network_resources(page) == [("script", "https://cdn.example/mathjax/tex-chtml.js"), ("link", "http://x/y.css")]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html", "-d", str(out / ".doctrees"), "docs", str(out)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"the docs do not build (the docs extra, with sphinx-mathjax-offline, installed?):\n{r.stderr[-3000:]}"
    return out


def test_no_page_loads_anything_from_the_network(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 20
    remote = {str(p.relative_to(built_site)): network_resources(p.read_text(encoding="utf-8")) for p in pages}
    remote = {page: urls for page, urls in remote.items() if urls}
    assert not remote, f"pages that need the network: {remote}"


def test_math_is_rendered_by_the_bundled_mathjax(built_site):
    """A page with formulas loads MathJax from the site, and the file it names is there."""
    page = (built_site / "latent_search.html").read_text(encoding="utf-8")
    assert 'class="math' in page
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, re.I)
    assert scripts, "no MathJax script on a page with math"
    for src in scripts:
        assert (built_site / src.split("?")[0]).is_file(), src
    assert (built_site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()  # the fonts, offline too
