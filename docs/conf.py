"""Sphinx configuration of invgan's documentation site (``make docs``).

The site is built offline and fast, and is read offline too: Markdown pages through MyST (with
``$...$`` and ``$$...$$`` math, rendered by a MathJax bundled with the site), the API reference
by autodoc/autosummary from the docstrings, and an examples gallery generated here from ``examples/`` (each script's docstring, its figures and its source; the scripts
are not run at build time, ``tests/system/test_examples.py`` runs them at tiny size).

Where pages go (see ``index.md``):

* the user guide is the explicit list ``USER_GUIDE`` below;
* every other top-level ``docs/*.md`` page is listed automatically, in alphabetical order, under
  "Experiments and reference" (benchmarks, bad inputs, ...): adding a page needs no edit here;
  a page in a sub-folder must be in its parent page's own toctree (Sphinx warns otherwise).

The build runs with warnings as errors: a Markdown link must point at a page, a heading anchor
or a file that exists, and docstrings must be valid reST.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document this checkout's invgan, installed or not

import invgan  # noqa: E402

project = "invgan"
author = "invgan contributors"
copyright = "invgan contributors, BSD-3-Clause"
release = version = invgan.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",  # the docs extra's package: MathJax 3 copied into _static/mathjax
]
# No intersphinx: the build never touches the network, and neither does a built page: MathJax is
# served from the site itself (not a CDN), so formulas render offline.
# tests/system/test_docs_offline.py checks that no page loads a script or stylesheet over http(s).
mathjax_path = "mathjax/tex-chtml.js"  # relative to _static/, where sphinx-mathjax-offline copies it

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"invgan {release}"
html_static_path: list[str] = []

# ------------------------------------------------------------------ page lists
USER_GUIDE = ["user_guide", "training", "latent_search", "dip"]  # index's "User guide", in this order
NOT_REFERENCE = {"index", *USER_GUIDE}  # every other top-level page is an "Experiments and reference" page


def reference_pages() -> list[str]:
    """Top-level Markdown/reST pages outside the user guide, for index's last toctree."""
    return sorted(({p.stem for p in DOCS.glob("*.md")} | {p.stem for p in DOCS.glob("*.rst")}) - NOT_REFERENCE)


def _fill_index(app, docname, source):
    if docname == "index":
        source[0] = source[0].replace("@REFERENCE_PAGES@", "\n".join(reference_pages()))


def _always_reread_index(app, env, added, changed, removed):
    return ["index"]  # a page added since the last build must enter the toctree


# ------------------------------------------------------------------ examples gallery
# Figures drawn by an example (paths relative to docs/), shown on its gallery page.
EXAMPLE_FIGURES = {
    "ambientgan_mnist": ["figures/ambientgan_mnist.png"],
    "csgm_mnist": ["figures/csgm_vs_lasso.png", "figures/csgm_vs_lasso_examples.png"],
    "dip_cameraman": ["img/dip_inpainting_result.png", "img/dip_inpainting_convergence.png"],
    "mnist_generator_metrics": ["figures/dcgan_mnist_samples.png"],
}
GALLERY = DOCS / "examples"  # generated at every build; ignored by git


def _docstring_to_rst(text: str) -> str:
    """A script's docstring as reST: an indented block (the command lines) that follows a blank line
    after a paragraph not ending in ``::`` becomes a bash code block."""
    out: list[str] = []
    for line in text.splitlines():
        starts_block = line.startswith("    ") and len(out) >= 2 and out[-1] == "" and not out[-2].startswith("    ")
        if starts_block and not out[-2].rstrip().endswith("::"):
            out[-1:] = ["", ".. code-block:: bash", ""]
        out.append(line)
    return "\n".join(out)


def write_gallery() -> None:
    GALLERY.mkdir(exist_ok=True)
    for old in GALLERY.glob("*.rst"):
        old.unlink()
    scripts = sorted((ROOT / "examples").glob("*.py")) + sorted((ROOT / "examples").glob("*.toml"))
    entries = []
    for path in scripts:
        name = path.stem if path.suffix == ".py" else f"{path.stem}_{path.suffix[1:]}"
        title = f"{path.name}"
        if path.suffix == ".py":
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            lang, run = "python", f"python examples/{path.name}"
        else:
            comments = [re.sub(r"^#\s?", "", ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
            doc = "A training configuration::\n\n" + "\n".join(f"    {c}" for c in comments[:2]) if comments else ""
            lang, run = "toml", None
        body = [title, "=" * len(title), ""]
        if run:
            body += [f"Run: ``{run}`` (``--help`` lists its options).", ""]
        body += [_docstring_to_rst(doc), ""]
        for fig in EXAMPLE_FIGURES.get(path.stem, []):
            if (DOCS / fig).is_file():
                body += [f".. image:: /{fig}", "   :width: 100%", ""]
        body += ["Source", "------", "", f".. literalinclude:: ../../examples/{path.name}", f"   :language: {lang}", ""]
        (GALLERY / f"{name}.rst").write_text("\n".join(body), encoding="utf-8")
        entries.append(name)
    index = ["Examples", "========", "",
             "The scripts of ``examples/``, each with its docstring, the figures it draws and its source.",
             "Every one of them runs in the test suite at tiny size (``tests/system/test_examples.py``); the",
             "figures come from the full-size runs described on the pages of the user guide.", "",
             ".. toctree::", "   :maxdepth: 1", "", *[f"   {e}" for e in entries], ""]
    (GALLERY / "index.rst").write_text("\n".join(index), encoding="utf-8")



def write_options() -> None:
    """``api/options.rst``: every option of every kind of job with its default and help text,
    generated from the schemas (:data:`invgan.config.KINDS`), as ``invgan train --help`` lists them."""
    import json

    from invgan.config import KINDS, iter_options

    def esc(text: str) -> str:
        return re.sub(r"([\\`*_|])", r"\\\1", text)

    out = ["Options of every kind", "=====================", "",
           "Generated from the schemas of :mod:`invgan.config` at every build: each option of each kind of job,",
           "its default and its help text (the same list ends ``invgan train --help``). Set one with",
           "``--set section.key=value`` or in a TOML/YAML/JSON config file.", ""]
    for kind, schema in KINDS.items():
        out += [kind, "-" * len(kind), ""]
        for key, default, about in iter_options(schema()):
            out += [f"``{key}`` (``{json.dumps(default)}``)", f"    {esc(about)}", ""]
    (DOCS / "api" / "options.rst").write_text("\n".join(out), encoding="utf-8")


write_gallery()
write_options()


def setup(app):
    app.connect("source-read", _fill_index)
    app.connect("env-get-outdated", _always_reread_index)
