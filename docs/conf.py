"""Sphinx configuration of the sktransformer documentation.

Build (from the repository root; ``-D plot_gallery=0`` lists the examples without running them)::

    python -m sphinx -W --keep-going -b html -D plot_gallery=0 docs docs/_build/html

Needs the ``docs`` extra: ``pip install -e ".[docs]"``.
"""

import os
import warnings
from datetime import date

import sktransformer

HERE = os.path.dirname(os.path.abspath(__file__))

# -- project -------------------------------------------------------------------------------------
project = "sktransformer"
author = "the sktransformer developers"
copyright = f"{date.today().year}, {author}"
release = sktransformer.__version__
version = release.split(".dev")[0]

# -- general ------------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py"]
default_role = "literal"  # `x` in prose renders as code, as ``x`` does
nitpicky = False  # no intersphinx (the build runs offline): references to sklearn/torch stay plain text

# -- autodoc / autosummary / numpydoc ------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False  # the class template lists the methods itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery ------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": os.path.join(HERE, os.pardir, "examples"),
    "gallery_dirs": "auto_examples",
    # Only plot_*.py files are executed. demo.py (the quick-start script, no gallery header) is left
    # out of the gallery altogether.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|demo)\.py$",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sktransformer",),
    "reference_url": {"sktransformer": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# Examples run their models on the CPU; matplotlib draws off-screen.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sktransformer {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": False,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False


# -- hooks ---------------------------------------------------------------------------------------
def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods (metadata routing plumbing).

    Their docstrings point into scikit-learn's own documentation, which this build does not have.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
