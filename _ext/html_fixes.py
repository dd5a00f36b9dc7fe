"""Fixes to the HTML that the book's pinned Sphinx extensions produce. Each fix removes an
error that tests/test_browser.py sees in the browser's console.

- Duplicate inline scripts. sphinx-thebe 0.3.1 (loaded by every Jupyter Book 1) adds the
  inline script `const THEBE_JS_URL = ...` with `app.add_js_file(None, body=...)` once
  the builder exists. Sphinx 7.4 then lists that script twice on every page (once with the
  file name None, once with ""), and the second `const` fails with "SyntaxError:
  Identifier 'THEBE_JS_URL' has already been declared". Each page keeps the first of
  equal scripts.
"""


def _script_key(script):
    """What makes two script entries the same script, whatever the spelling of "no file"."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return (str(filename), getattr(script, "priority", 500), tuple(sorted(attributes.items())))


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
