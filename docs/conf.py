"""Sphinx configuration of the sktfm documentation site.

Build with ``make docs`` (or ``sphinx-build -W --keep-going -b html docs
docs/_build/html``). Nothing is downloaded: no intersphinx, no web fonts.

The API reference (``api.rst``) is written here at every build from
``sktfm.__all__`` and the ``__all__`` of the public submodules, so a name
added to the package appears in the reference without editing the docs.
"""

import inspect
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the checkout's sktfm, when it is not installed

# The gallery runs every example. Keep each short: a training budget in
# seconds for the examples that read one (their defaults, used by README and
# the tests, are untouched), and figures saved out of the source tree.
os.environ.setdefault("SKTFM_EXAMPLE_SECONDS", "60")  # translate_*.py: max_time
os.environ.setdefault("SKTFM_EXAMPLE_EPOCHS", "15")  # tabular_digits.py
os.environ.setdefault("SKTFM_PLOT_DIR", str(DOCS / "_build" / "example_figures"))
Path(os.environ["SKTFM_PLOT_DIR"]).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("MPLBACKEND", "agg")

import sktfm  # noqa: E402  (after the environment above)

project = "sktfm"
author = "the sktfm developers"
copyright = "the sktfm developers"
release = sktfm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]
templates_path = ["_templates"]

# ------------------------------------------------------------ autodoc
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's "Parameters" say the types
autodoc_member_order = "groupwise"
# A method sktfm overrides without a docstring (an nn module's ``forward``) is
# left out rather than shown with torch's or Dask's generic docstring.
autodoc_inherit_docstrings = False

# Members inherited from scikit-learn (get_params, score, set_output, ...) are
# documented with their own docstrings; torch's and Dask's base-class methods
# are not (the class template, _templates/autosummary/class.rst, stops
# ``inherited-members`` at those classes). The metadata-routing setters
# scikit-learn adds to every estimator are left out.
_SKIPPED_MEMBERS = re.compile(r"^(set_\w+_request|get_metadata_routing)$")

# Projects whose docstrings an estimator inherits; their cross-references
# (``:ref:`User Guide <...>```, glossary terms) point into their own sites,
# which this offline build does not link to: they render as plain text.
_INHERITED_DOCSTRING_SOURCES = ("docstring of sklearn.", "docstring of distributed.")


def _skip_member(app, what, name, obj, skip, options):
    return True if _SKIPPED_MEMBERS.match(name) else None


def _plain_text_for_foreign_references(app, env, node, contnode):
    source = node.source or ""
    if any(marker in source for marker in _INHERITED_DOCSTRING_SOURCES):
        return contnode  # the reference's text, unlinked
    return None


# numpydoc writes each parameter as ``    **name** : type`` (a trailing
# underscore escaped); the estimators' parameters come grouped by section.
_PARAMETER_LINE = re.compile(r"^    \*\*(\w+?)(\\_)?\*\* :")


def _parameter_sections(app, what, name, obj, options, lines):
    """A heading over each section of an estimator's parameters (``_sections.SECTIONS``).

    Runs after numpydoc has turned the docstring into reST: a rubric before
    the first parameter of each section, inside the Parameters field.
    """
    if what != "class" or not isinstance(getattr(obj, "_parameters", None), dict):
        return
    from sktfm.estimators._sections import section_of

    current, out = None, []
    for line in lines:
        match = _PARAMETER_LINE.match(line)
        if match and match.group(1) in obj._parameters:
            section = section_of(match.group(1))
            if section != current:
                out += [f"    .. rubric:: {section}", ""]
                current = section
        out.append(line)
    lines[:] = out


def _write_result_charts(app):
    """The bar charts of results.md, drawn from benchmarks/RESULTS.md (docs/_charts.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_charts", DOCS / "_charts.py")
    charts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(charts)
    charts.write_charts(DOCS / "_build" / "results_charts")


def _copy_result_history(app):
    """benchmarks/history/*.md as pages of the site, so that RESULTS.md's links to them resolve.

    Copied into docs/history/ (git-ignored) at each build, as orphan pages
    whose link back to RESULTS.md points to the results page.
    """
    target = DOCS / "history"
    target.mkdir(exist_ok=True)
    for source in sorted((DOCS.parent / "benchmarks" / "history").glob("*.md")):
        text = source.read_text(encoding="utf-8").replace("](../RESULTS.md", "](../results.md")
        (target / source.name).write_text("---\norphan: true\n---\n\n" + text, encoding="utf-8")


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    # After numpydoc's own handler (priority 500), on the reST it writes.
    app.connect("autodoc-process-docstring", _parameter_sections, priority=600)
    app.connect("missing-reference", _plain_text_for_foreign_references)
    app.connect("builder-inited", _write_result_charts)
    app.connect("builder-inited", _copy_result_history)


# ------------------------------------------------------------ numpydoc
numpydoc_show_class_members = False  # autodoc lists the members: no duplicates
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

# ------------------------------------------------------------ myst
myst_heading_anchors = 3


# ------------------------------------------------------------ gallery
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run every example, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": False,  # report every failing example, then fail
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "capture_repr": (),
    "min_reported_time": 1,
    # No computation-times page: it loads jQuery and DataTables from CDNs.
    "write_computation_times": False,
    "show_memory": False,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sktfm",),
    "inspect_global_variables": False,
}

# ------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = f"sktfm {release}"
html_static_path = ["_static"]
html_css_files = ["sktfm.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"results": []}


# ------------------------------------------------------------ API page
# Sections of the reference for the names in ``sktfm.__all__``; a name not
# listed here goes under "Other", so nothing added to ``__all__`` is missed.
TOP_LEVEL_SECTIONS = {
    "Estimators": [
        "TransformerEncoder",
        "TransformerClassifier",
        "TransformerRegressor",
        "TransformerImputer",
        "Seq2SeqTranslator",
    ],
    "Text": ["TextCleaner", "Tokenizer"],
    "Saving and loading": ["save", "load", "save_pipeline", "load_pipeline"],
    "Deployment (ONNX)": ["export_onnx", "OnnxPredictor"],
}

# Public submodules users import from, with each module's ``__all__``.
# ``sktfm.onnx`` arrives with the ONNX export: documented once it imports.
SUBMODULES = [
    "sktfm.datasets",
    "sktfm.metrics",
    "sktfm.plotting",
    "sktfm.series",
    "sktfm.text",
    "sktfm.io",
    "sktfm.dask",
    "sktfm.onnx",
    "sktfm.nn",
]


def _is_data(obj):
    """Whether an exported name is a value (a constant) rather than code."""
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


def _data_entry(qualified_name, value, doc=""):
    """A ``py:data`` entry for a constant, with its ``#:`` comment when it has one."""
    lines = [f".. py:data:: {qualified_name}", f"   :value: {value!r}", ""]
    return lines + ([f"   {doc}", ""] if doc else [])


def _attribute_docs(module_name):
    """The ``#:`` comments above the constants of a module, by name.

    A package's constants are usually defined in one of its modules and
    imported into ``__init__``: their comments are read there too.
    """
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer

    module = sys.modules[module_name]
    names = [module_name]
    if hasattr(module, "__path__"):
        names += [f"{module_name}.{info.name}" for info in pkgutil.iter_modules(module.__path__)]
    found = {}
    for name in reversed(names):  # the module's own comments win
        try:
            docs = ModuleAnalyzer.for_module(name).find_attr_docs()
        except Exception:  # no source to read: no comments
            continue
        for (_, attr), doc in docs.items():
            found[attr] = " ".join(line.strip() for line in doc)
    return found


def _summary(names, prefix):
    """An autosummary table, one stub page per name, under ``generated/``."""
    lines = [f".. currentmodule:: {prefix}", ""]
    lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
    lines += [f"   {name}" for name in names]
    return lines + [""]


def _top_level_section(title, names):
    code = [name for name in names if not _is_data(getattr(sktfm, name))]
    lines = [title, "~" * len(title), ""]
    if code:
        lines += _summary(code, "sktfm")
    docs = _attribute_docs("sktfm")
    docs.setdefault("__version__", "The version of sktfm, a string.")
    for name in names:
        if _is_data(getattr(sktfm, name)):
            lines += _data_entry(f"sktfm.{name}", getattr(sktfm, name), docs.get(name, ""))
    return lines


def _submodule_section(module_name):
    """The module's docstring, then its ``__all__``, less what sktfm itself exports."""
    try:
        module = __import__(module_name, fromlist=["__all__"])
    except ImportError as error:
        print(f"api.rst: {module_name} not documented ({error})")
        return []
    # Classes and functions that sktfm also exports are documented once, there
    # (constants are not compared: equal small ints and strings are one object).
    top_level = {
        id(getattr(sktfm, name)): name
        for name in sktfm.__all__
        if not _is_data(getattr(sktfm, name))
    }
    names = list(getattr(module, "__all__", []))
    own = [name for name in names if id(getattr(module, name)) not in top_level]
    shared = [top_level[id(getattr(module, name))] for name in names if name not in own]
    code = [name for name in own if not _is_data(getattr(module, name))]
    data = [name for name in own if _is_data(getattr(module, name))]
    lines = [
        f"``{module_name}``",
        "-" * (len(module_name) + 4),
        "",
        f".. automodule:: {module_name}",
        "",
    ]
    if code:
        lines += _summary(code, module_name)
    docs = _attribute_docs(module_name)
    for name in data:
        lines += _data_entry(f"{module_name}.{name}", getattr(module, name), docs.get(name, ""))
    if shared:
        links = ", ".join(f":obj:`sktfm.{name}`" for name in shared)
        lines += [f"Also exported here: {links}.", ""]
    return lines


def write_api_page():
    """Write ``api.rst`` from ``sktfm.__all__`` and the submodules' ``__all__``."""
    exported = list(sktfm.__all__)
    placed = {name for names in TOP_LEVEL_SECTIONS.values() for name in names}
    sections = {
        title: [name for name in names if name in exported]
        for title, names in TOP_LEVEL_SECTIONS.items()
    }
    sections["Other"] = [name for name in exported if name not in placed]
    lines = [
        ".. This page is written by conf.py at every build (write_api_page): edit conf.py.",
        "",
        ".. _api:",
        "",
        "API reference",
        "=============",
        "",
        "Everything ``from sktfm import ...`` gives (``sktfm.__all__``), then the",
        "public submodules. Each estimator's page lists every constructor parameter",
        "with its default.",
        "",
        "``sktfm``",
        "---------",
        "",
        ".. module:: sktfm",
        "",
    ]
    for title, names in sections.items():
        if names:
            lines += _top_level_section(title, names)
    for module_name in SUBMODULES:
        lines += _submodule_section(module_name)
    text = "\n".join(line.rstrip() for line in lines).rstrip() + "\n"
    # A stub page of a name no longer listed here would stay behind, in no
    # toctree, and fail the -W build: autosummary writes the listed ones afresh.
    for stub in (DOCS / "generated").glob("*.rst"):
        stub.unlink()
    target = DOCS / "api.rst"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


write_api_page()
