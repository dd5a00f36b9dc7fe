"""Serve MathJax from the book itself instead of a CDN, so that equations render offline,
on a JupyterHub without internet, and in the browser tests.

MathJax 3.2.2 comes from the PyPI package django-static-mathjax (Apache-2.0; it only
ships MathJax's files, Django is not needed). From its es5/ build, tex-chtml.js and the
components it loads on demand (fonts, TeX extensions, the accessibility menu and speech
rule engine) are copied into _build/html/_static/mathjax/; the other prebuilt bundles
(SVG output, MathML input) are not.
"""
import shutil
from pathlib import Path


def _es5():
    try:
        import mathjax
    except ImportError as err:
        raise RuntimeError("offline_mathjax: the package django-static-mathjax is missing; "
                           "run `make book`, which installs the pinned dependencies") from err
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _use_local_mathjax(app, config):
    _es5()                                        # fail early, with the message above
    config.mathjax_path = "mathjax/tex-chtml.js"  # relative to _static/


def _copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        es5 = _es5()
        other_bundles = [f.name for f in es5.glob("*.js") if f.name != "tex-chtml.js"]
        shutil.copytree(es5, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True,
                        ignore=lambda folder, names: other_bundles if Path(folder) == es5 else [])


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
