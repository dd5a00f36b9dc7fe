"""Noticing that a notebook changed the code its tests rely on.

A test cell runs in the student's own kernel, after the student's code: a notebook can
replace `grading.check_sigmoid` with a function that accepts anything, make `np.abs`
return zeros, or change a tolerance. The autograder cannot prevent that from inside the
kernel, but it can notice it. Before the first cell runs, it takes a fingerprint of the
protected modules (their attributes' identities, the code objects of their functions,
the values of their plain data); before and after every graded cell it takes another
and compares them, in the grader's process, with the first. A test that ran in a
changed environment earns nothing, and its feedback names what was changed.

What this catches is tampering with the modules' attributes (the ways in the course's
own exercises). It cannot stop code that undoes its change before the next fingerprint
(a student who studies this file can), which is why the feedback says what was found
and an instructor should look at such a submission.

The fingerprint code runs in the kernel as one silent execute request, in a fresh
namespace, and hands back one string (via user_expressions).
"""
import ast

# Runs inside the kernel: exec'd with PATTERNS, CONTENT (module patterns whose plain data
# is compared by value), HOOKS (the name of the hooks' entry) and OUT (a dict receiving
# the result) in its namespace.
_FINGERPRINT_SOURCE = r'''
import builtins as _builtins, sys as _sys, types as _types

def _matches(name, patterns):
    for p in patterns:
        if name == p or (p.endswith(".*") and name.startswith(p[:-1])):
            return True
    return False

# IPython and ipykernel swap these in and out around every execution; they say nothing
# about tampering.
_VOLATILE = {"_", "__", "___", "get_ipython", "display", "exit", "quit", "__IPYTHON__",
             "input", "raw_input",
             "copyright", "credits", "license", "help", "__builtins__", "__spec__",
             "__loader__", "__package__", "__doc__", "__name__", "__file__", "__cached__",
             "__path__", "__all__"}
_SYS = ("setprofile", "getprofile", "settrace", "gettrace", "modules", "meta_path",
        "path_hooks")
_PLAIN = (bool, int, float, complex, str, bytes, type(None), tuple, frozenset, list, dict, set)

def _value(v, by_content):
    if isinstance(v, _types.FunctionType):
        return "f%d:%d:%d:%d" % (id(v), id(v.__code__), id(v.__defaults__), id(v.__kwdefaults__))
    if by_content and isinstance(v, _PLAIN):
        try:
            return "v%d:%d" % (id(v), hash(repr(v)))
        except Exception:
            return "i%d" % id(v)
    if by_content and type(v).__name__ == "ndarray" and getattr(v, "size", 0) <= 100000:
        return "a%d:%d" % (id(v), hash(v.tobytes()))
    return "i%d" % id(v)

def _fingerprint(patterns, content):
    items = []
    if "sys" in patterns:
        for key in _SYS:
            items.append(("sys." + key, "i%d" % id(getattr(_sys, key, None))))
    for name in sorted(m for m in list(_sys.modules) if _matches(m, patterns) and m != "sys"):
        mod = _sys.modules[name]
        items.append((name, "i%d" % id(mod)))
        by_content = _matches(name, content)
        space = getattr(mod, "__dict__", {})
        for key in sorted(k for k in list(space) if isinstance(k, str)):
            if key in _VOLATILE:
                continue
            v = space[key]
            # Private names (caches) are compared by identity only: they change by design.
            items.append((name + "." + key, _value(v, by_content and not key.startswith("_"))))
            # Classes written in Python can have their methods replaced; built-in ones cannot.
            if isinstance(v, type) and v.__flags__ & (1 << 9) and v.__module__ == name:
                for attr in sorted(a for a in list(vars(v)) if isinstance(a, str)):
                    if attr not in ("__dict__", "__weakref__", "__doc__", "__module__"):
                        items.append((name + "." + key + "." + attr, _value(vars(v)[attr], False)))
    items.append((HOOKS, _hooks()))
    return ";".join(k + "=" + val for k, val in items)

# Where the code of Python itself and of the installed packages lives: a hook whose code
# comes from anywhere else was written in the notebook.
_INSTALLED = tuple(sorted({_sys.prefix, _sys.base_prefix, _sys.exec_prefix}))

def _foreign(f):
    """Whether f (a function, a method, or an object such as an AST transformer) runs
    code written outside the installed packages."""
    f = getattr(f, "__func__", f)
    code = getattr(f, "__code__", None)
    if code is not None:
        return not code.co_filename.startswith(_INSTALLED)
    for klass in type(f).__mro__:
        for v in list(vars(klass).values()):
            code = getattr(getattr(v, "__func__", v), "__code__", None)
            if code is not None and not code.co_filename.startswith(_INSTALLED):
                return True
    return False

def _hooks():
    """The notebook's own code among what runs a cell: IPython's event callbacks, input
    and AST transformers, its custom exception handler, display and exception hooks, and
    methods of the shell and the kernel replaced on the instance. Such a hook can rewrite
    or hide a test, so none may appear."""
    found = []
    ipython = _sys.modules.get("IPython")
    ip = ipython.get_ipython() if ipython is not None else None
    if ip is not None:
        for event, callbacks in getattr(getattr(ip, "events", None), "callbacks", {}).items():
            found += ["event " + event for f in callbacks if _foreign(f)]
        for name in ("ast_transformers", "input_transformers_post", "input_transformers_cleanup"):
            found += [name for f in getattr(ip, name, []) if _foreign(f)]
        manager = getattr(ip, "input_transformer_manager", None)
        for name in ("cleanup_transforms", "line_transforms"):
            found += ["input_transformer_manager." + name for f in getattr(manager, name, []) if _foreign(f)]
        if getattr(ip, "custom_exceptions", ()):
            found.append("custom_exceptions")
        for owner, label in ((ip, "shell"), (getattr(ip, "kernel", None), "kernel")):
            for key, v in list(getattr(owner, "__dict__", {}).items()):
                if callable(v) and hasattr(type(owner), key) and _foreign(v):
                    found.append(label + "." + key)
    for key in ("displayhook", "excepthook"):
        if _foreign(getattr(_sys, key, None)):
            found.append("sys." + key)
    if _sys.gettrace() is not None:
        found.append("sys.settrace")
    return ",".join(sorted(set(found)))

for _name in PATTERNS:
    if not _name.endswith(".*") and _name not in ("sys", "builtins"):
        try:
            __import__(_name)
        except Exception:
            pass
OUT["fp"] = _fingerprint(PATTERNS, CONTENT)
'''


HOOKS = "the kernel's hooks"      # the fingerprint's entry for them; its value names them


def request(patterns, content):
    """(code, user_expressions) of the execute request that fingerprints the kernel.

    patterns: module names, "pkg.*" for a package's submodules, whose attributes are
    protected; content: the patterns whose plain data (dicts, lists, numbers) is compared
    by value, not only by identity (the course's own modules: a student can change a
    tolerance in place). The imports it performs are those a test would do anyway.
    """
    code = (f"__grader_fp__ = {{}}\n"
            f"exec({_FINGERPRINT_SOURCE!r}, {{'PATTERNS': {list(patterns)!r}, "
            f"'CONTENT': {list(content)!r}, 'HOOKS': {HOOKS!r}, 'OUT': __grader_fp__, "
            f"'__builtins__': __builtins__}})\n"
            f"__grader_fp__ = __grader_fp__['fp']\n")
    return code, {"fp": "__grader_fp__"}


def parse(reply):
    """The fingerprint, {name: token}, from an execute_reply; None if it did not run."""
    content = reply.get("content", {}) if reply else {}
    result = content.get("user_expressions", {}).get("fp", {})
    if content.get("status") != "ok" or result.get("status") != "ok":
        return None
    try:
        text = ast.literal_eval(result["data"]["text/plain"])
    except (KeyError, ValueError, SyntaxError):
        return None
    if not isinstance(text, str):
        return None
    return dict(item.split("=", 1) for item in text.split(";") if "=" in item)


def changes(before, after, limit=5):
    """The protected names that differ between two fingerprints, as a sentence part
    (empty if none). Names that appeared later (modules imported since) are ignored."""
    changed = sorted(name + (f" ({after.get(name) or 'removed'})" if name == HOOKS else "")
                     for name, token in before.items() if after.get(name) != token)
    if not changed:
        return ""
    shown = ", ".join(changed[:limit])
    more = f" and {len(changed) - limit} more" if len(changed) > limit else ""
    return shown + more
