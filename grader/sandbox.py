"""Autograding that no submission can break: a sandboxed kernel and an Execute step that
survives whatever the notebook does.

nbgrader runs each submitted notebook in a Jupyter kernel started with the grader's own
privileges. Configured as in the course's nbgrader_config.py, `nbgrader autograde` instead

- starts every kernel inside bubblewrap (`SandboxedKernelManager`): the kernel sees a
  read-only system (/usr, a few files of /etc, the Python environment and the course
  package), a private /tmp, and a private copy of its own submission folder; nothing else
  of the machine's files, so not the gradebook, the solutions, the course configuration
  nor other students' submissions. It has no network (it talks to the grader over Unix
  sockets), its own process and IPC namespaces, no capabilities, and limits on its
  memory (address space), file sizes and number of processes. When the grader runs as
  root, the kernel still runs as an unprivileged user (see grader/userns.py).
- executes the notebook with `SandboxedExecute`, which turns what would abort nbgrader
  into a graded failure with a message: a kernel that dies (os._exit, a crash, the
  memory limit) or cannot be interrupted stops the notebook and every cell not run
  earns nothing, with the reason in the feedback; output beyond a size is cut; and a
  test that runs after the notebook replaced or altered the checks, NumPy or Python's
  builtins earns nothing (grader/integrity.py).
- reads an unreadable submission (not JSON, empty) as the released assignment with a
  note on top, so it is graded 0 with the reason in its feedback
  (`TolerantNotebookExporter`).

Only Linux with bubblewrap (`apt-get install bubblewrap`) and user namespaces (unprivileged
ones, for a grader that is not root) can run the sandbox; without them every kernel fails
to start, loudly.
`c.SandboxedExecute.sandbox = False` runs kernels as plain nbgrader does (keeping the
rest), for a machine that cannot.
"""
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Dict, Integer, List, Unicode, Union

from . import hidden, integrity
from .userns import SANDBOX_UID         # "nobody", the kernel's user inside the sandbox

USERNS_HELPER = Path(__file__).with_name("userns.py")


def parse_size(value, name="size"):
    """Bytes from an int or a string like "4G", "512M", "1.5GiB", "0" (0: no limit)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name}: expected a size >= 0, got {value}")
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(value), flags=re.I)
    if not m:
        raise ValueError(f"{name}: expected a size such as 4G, 512M or a number of bytes, "
                         f"got {value!r}")
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[m.group(2).upper()]
    return int(float(m.group(1)) * scale)


def _human(n):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run inside bubblewrap with resource limits.

    Configure it as c.SandboxedKernelManager.<trait> in nbgrader_config.py.
    """

    memory_limit = Union([Integer(), Unicode()], default_value="4G", help=(
        "Address-space limit of the kernel (RLIMIT_AS), e.g. '4G'; 0 for none. It counts "
        "virtual memory, which is more than the memory in use: importing TensorFlow and "
        "PyTorch together reserves about 2 GiB.")).tag(config=True)
    file_size_limit = Union([Integer(), Unicode()], default_value="256M", help=(
        "Largest file the kernel may write (RLIMIT_FSIZE); 0 for none.")).tag(config=True)
    tmp_size = Union([Integer(), Unicode()], default_value="256M", help=(
        "Size of the kernel's private /tmp (and of /dev/shm), held in memory.")).tag(config=True)
    max_processes = Integer(512, help=(
        "Processes and threads the sandbox's user may run (RLIMIT_NPROC). TensorFlow "
        "starts a few dozen threads.")).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    host_uid = Integer(65534, help=(
        "When the grader runs as root: the host uid (and gid) the kernel runs as, "
        "an unprivileged one that owns no files.")).tag(config=True)
    packages = List(Unicode(), ["lstm_ref"], help=(
        "Python packages the kernel imports that may live outside the environment "
        "(editable installs): their folders are made visible, read-only.")).tag(config=True)
    read_only_paths = List(Unicode(), [], help=(
        "More host paths to make visible, read-only, at the same place (data sets ...)."
    )).tag(config=True)
    etc_files = List(Unicode(), [
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd",
        "/etc/group", "/etc/nsswitch.conf", "/etc/localtime", "/etc/timezone",
        "/etc/hosts", "/etc/os-release", "/etc/alternatives", "/etc/fonts",
        "/etc/mime.types", "/etc/ssl/certs", "/etc/matplotlibrc"], help=(
        "Files of /etc the kernel may read; the rest of /etc (shadow, keys ...) is absent."
    )).tag(config=True)
    env_passthrough = List(Unicode(), [
        "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS",
        "KERAS_BACKEND", "MPLBACKEND", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING"], help=(
        "Environment variables passed to the kernel; all others (tokens, passwords, "
        "database URLs of the grader's environment) are dropped.")).tag(config=True)
    env = Dict({"HOME": "/tmp", "LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "2",
                "PYTHONDONTWRITEBYTECODE": "1"}, help=(
        "Environment variables set in the kernel (those passed through take precedence). "
        "MALLOC_ARENA_MAX keeps glibc from reserving address space per thread.")).tag(config=True)

    _scratch = None

    # ------------------------------------------------------------------ launching

    async def _async_pre_start_kernel(self, **kw):
        if shutil.which(self.bwrap) is None:
            raise RuntimeError(
                f"The grading sandbox needs bubblewrap ({self.bwrap!r} is not on PATH). "
                f"Install it (Debian/Ubuntu: apt-get install bubblewrap), or set "
                f"c.SandboxedExecute.sandbox = False to grade without the sandbox.")
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="grader-kernel-"))
            if len(str(self._scratch)) > 80:     # a Unix socket's path has at most 107 bytes
                os.rmdir(self._scratch)
                self._scratch = Path(tempfile.mkdtemp(prefix="grader-kernel-", dir="/tmp"))
            (self._scratch / "run").mkdir()
        # Unix sockets in a folder shared with the sandbox: the kernel needs no network.
        self.transport = "ipc"
        self.connection_file = str(self._scratch / "run" / "kernel.json")
        self.ip = str(self._scratch / "run" / "ipc")
        # An interrupt is a message on the control channel: the kernel is in its own
        # session and process namespace, beyond the reach of a signal to our group.
        self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        cwd = os.path.abspath(kw.get("cwd") or os.getcwd())
        work = self._scratch / "work"
        if work.exists():
            _rmtree(work)
        # The kernel works in a copy of its folder: whatever it writes there vanishes with
        # it. Symbolic links are copied as links, never followed (a link to the gradebook
        # stays a dangling link inside the sandbox).
        shutil.copytree(cwd, work, symlinks=True)
        if os.geteuid() == 0:
            for path in (self._scratch / "run", *_walk(work)):
                os.lchown(path, self.host_uid, self.host_uid)
            os.chown(self.connection_file, self.host_uid, self.host_uid)
        cmd = self.sandbox_command(kernel_cmd, kw.get("env") or dict(os.environ), inside_cwd=cwd)
        with open(self._scratch / "kernel.log", "ab") as log:     # the kernel keeps its own copy
            kw.update(cwd=str(self._scratch), stdout=log, stderr=log)
            return await super()._async_launch_kernel(cmd, **kw)

    _launch_kernel = _async_launch_kernel

    def sandbox_command(self, kernel_cmd, env, inside_cwd):
        """The command line that runs kernel_cmd in the sandbox, in folder inside_cwd
        (where the copy of the submission folder appears), with env filtered."""
        root = os.geteuid() == 0
        args = [shutil.which(self.bwrap), "--unshare-pid", "--unshare-ipc", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--clearenv"]
        if not root:
            # bwrap makes the user namespace itself and maps the sandbox's user to ours.
            args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                     "--disable-userns", "--cap-drop", "ALL"]
        variables = dict(self.env)
        variables.update({k: env[k] for k in self.env_passthrough if k in env})
        variables["PATH"] = f"{Path(kernel_cmd[0]).parent}:/usr/bin:/bin"
        for key, value in variables.items():
            args += ["--setenv", key, str(value)]
        # The file system. First what is private to the sandbox (/tmp may hold the folders
        # bound below), then a read-only system, in folders anyone may enter.
        tmp = str(parse_size(self.tmp_size, "tmp_size"))
        args += ["--proc", "/proc", "--ro-bind-try", "/proc/sys", "/proc/sys",
                 "--dev", "/dev", "--perms", "1777", "--size", tmp, "--tmpfs", "/dev/shm",
                 "--perms", "1777", "--size", tmp, "--tmpfs", "/tmp"]
        binds = [p for p in self._visible_paths() if os.path.exists(p)]
        for path in binds:
            # The course folder holds the kernel's folder: showing it would show everything.
            if inside_cwd == path or inside_cwd.startswith(path.rstrip("/") + "/"):
                raise RuntimeError(f"The sandbox would make {path} visible to the kernel, and "
                                   f"with it the folder being graded ({inside_cwd}) and the "
                                   f"course around it. Move the environment or package out.")
        run = str(self._scratch / "run")
        for folder in _parents([*binds, run, inside_cwd]):
            args += ["--perms", "0755", "--dir", folder]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for path in binds:
            args += ["--ro-bind", path, path]
        args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",
                 "--ro-bind-try", "/sys/devices/system/node", "/sys/devices/system/node",
                 "--bind", str(self._scratch / "work"), inside_cwd, "--bind", run, run,
                 "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", inside_cwd, "--"]
        if root:
            args += ["/usr/bin/setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}",
                     "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
        limits = ["/usr/bin/prlimit", "--core=0", f"--nproc={self.max_processes}"]
        for option, value, name in (("--as", self.memory_limit, "memory_limit"),
                                    ("--fsize", self.file_size_limit, "file_size_limit")):
            size = parse_size(value, name)
            if size:
                limits.append(f"{option}={size}")
        args += [*limits, "--", *kernel_cmd]
        if root:
            uid = str(self.host_uid)
            args = [sys.executable, "-I", str(USERNS_HELPER), uid, uid, "--", *args]
        return args

    def _visible_paths(self):
        """Host paths the kernel may read: the Python environment and the packages."""
        paths = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(
            os.path.realpath(sys.executable))), "/usr"]
        for name in self.packages:
            spec = find_spec(name)
            if spec is not None and spec.submodule_search_locations:
                paths.extend(spec.submodule_search_locations)
            elif spec is not None and spec.origin:
                paths.append(os.path.dirname(spec.origin))
        paths += [*self.etc_files, *self.read_only_paths]
        paths = sorted({os.path.realpath(p) if not p.startswith("/etc/") else p for p in paths})
        # A path inside another one is visible already.
        return [p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/")
                                            for q in paths)]

    # ------------------------------------------------------------------ after the kernel

    def kernel_log(self, limit=2000):
        """The end of what the kernel wrote to its stdout and stderr."""
        try:
            data = (self._scratch / "kernel.log").read_bytes()
        except (OSError, TypeError):
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def exit_status(self):
        """How the kernel process ended: an exit code, or -N for signal N; None if running."""
        process = getattr(self.provisioner, "process", None)
        return None if process is None else process.poll()

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._scratch is not None:
            _rmtree(self._scratch)
            self._scratch = None

    cleanup_resources = _async_cleanup_resources


def _walk(folder):
    for dirpath, dirnames, filenames in os.walk(folder):
        yield dirpath
        for name in dirnames + filenames:
            yield os.path.join(dirpath, name)


def _parents(paths):
    """Every proper ancestor folder of the paths (not /), parents first."""
    out = set()
    for p in paths:
        parts = Path(p).parts
        for k in range(2, len(parts)):
            out.add(str(Path(*parts[:k])))
    return sorted(out, key=lambda q: (q.count("/"), q))


def _rmtree(path):
    """Remove a folder the kernel wrote into, even where it removed our permissions."""
    def retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass
    shutil.rmtree(path, onerror=retry)


# ---------------------------------------------------------------------- executing

def _error(ename, evalue):
    """An error output: a graded cell that has one earns no points."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def _stream(text):
    """A note of the grader's own, on stdout: nbgrader zeroes a graded cell with stderr."""
    return NotebookNode(output_type="stream", name="stdout", text=text)


def _is_graded(cell):
    return cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade", False)


def _is_test(cell):
    """An autograder test: a graded code cell that is not a student's answer."""
    return _is_graded(cell) and not cell.metadata["nbgrader"].get("solution", False)


def only_the_checks_decide(outputs, passed):
    """A test cell's outputs rewritten so that nbgrader's score is the checks' verdict.

    nbgrader (`nbgrader.utils.determine_grade`) scores a test cell from its outputs: an
    `execute_result` is read as partial credit (full credit when it is not a number) even
    when an error follows it, and any stderr text gives 0. Here a cell scores full marks
    when its code ran to the end (passed: the kernel's reply said "ok" and the grader
    found nothing wrong) and zero when it did not, whatever the code printed or displayed:
    stderr becomes stdout, an execute_result becomes display_data (shown the same), and an
    error output in a cell that passed (displayed, not raised) becomes text. A cell that
    failed keeps its error, or gets one if the student's code hid it.
    """
    kept = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stderr":
            out = NotebookNode(output_type="stream", name="stdout", text=out.get("text", ""))
        elif kind == "execute_result":
            out = NotebookNode(output_type="display_data", data=out.get("data", {}),
                               metadata=out.get("metadata", {}))
        elif kind == "error" and passed:
            text = "\n".join(out.get("traceback") or [f"{out.get('ename')}: {out.get('evalue')}"])
            out = NotebookNode(output_type="stream", name="stdout",
                               text=f"[An error was displayed, not raised; the checks passed.]\n{text}\n")
        kept.append(out)
    if not passed and not any(o.get("output_type") == "error" for o in kept):
        kept.append(_error("GradingError", (
            "the checks of this cell did not run to the end, and the error that stopped them "
            "was not shown (your code hid it): this test earns no points.")))
    return kept


class SandboxedExecute(Execute):
    """nbgrader's Execute step with the kernel in the sandbox and every failure graded.

    Use it in place of Execute in c.Autograde.autograde_preprocessors (see
    nbgrader_config.py); c.Execute.timeout and the other Execute settings apply to it.
    """

    sandbox = Bool(True, help=(
        "Run kernels in the sandbox (SandboxedKernelManager). False: as plain nbgrader "
        "does, with the grader's privileges (for a machine without bubblewrap).")).tag(config=True)
    max_output_bytes = Integer(2**20, help=(
        "Most output a cell may produce (text and data); the rest is dropped with a note. "
        "Error messages are kept, each cut to 20000 characters.")).tag(config=True)
    check_integrity = Bool(True, help=(
        "Fingerprint the protected modules before the first cell and around every graded "
        "cell; a test run after they changed earns nothing.")).tag(config=True)
    protected_modules = List(Unicode(), [
        "builtins", "sys", "math", "numpy", "numpy.random", "numpy.linalg", "numpy.testing",
        "lstm_ref", "lstm_ref.grading", "lstm_ref.*", "IPython.core.interactiveshell",
        "ipykernel.zmqshell", "ipykernel.ipkernel", "ipykernel.kernelbase"], help=(
        "Modules whose attributes a notebook must not change ('pkg.*': its submodules); "
        "those that run a cell are among them, since a change there can hide a failed test."
    )).tag(config=True)
    compare_values_of = List(Unicode(), ["lstm_ref", "lstm_ref.*"], help=(
        "Of those, the modules whose public data (tolerances, tables) is compared by "
        "value, not only by identity.")).tag(config=True)
    iopub_timeout = Integer(10, allow_none=False, help=(
        "Seconds to wait for a cell's last output after its reply (and after an "
        "interrupt). A kernel that does not answer an interrupt within it is stopped."
    )).tag(config=True)

    def __init__(self, **kw):
        kw.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kw)
        if not self.sandbox:
            self.kernel_manager_class = AsyncKernelManager

    # ---- one notebook

    def preprocess(self, nb, resources=None, km=None):
        self._stopped = None            # why the remaining cells are not run
        self._snapshot = None           # the protected modules, before any cell ran
        self._output_size = {}
        self._status = None             # the kernel's reply to the last cell: "ok", "error"
        return super().preprocess(nb, resources, km)

    def on_cell_executed(self, **kw):
        super().on_cell_executed(**kw)
        self._status = kw["execute_reply"]["content"].get("status")

    def preprocess_cell(self, cell, resources, index):
        if not _is_test(cell):
            return self._run(cell, resources, index)
        # The score of a test is decided here, by whether its checks ran to the end,
        # never by what it printed or displayed (see only_the_checks_decide).
        self._status = None
        source = cell.source
        if hidden.is_hidden(cell):              # its inputs: drawn from the course's secret
            cell.source = hidden.with_seed(source, self._hidden_seed(cell, resources))
        try:
            cell, resources = self._run(cell, resources, index)
        finally:
            cell.source = source
        cell.outputs = only_the_checks_decide(cell.outputs, passed=self._status == "ok")
        if hidden.is_hidden(cell):              # its code: not shown to the student
            hidden.conceal(cell)
        return cell, resources

    def _hidden_seed(self, cell, resources):
        info = resources.get("nbgrader", {})
        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None)
        root = coursedir.root if coursedir is not None else os.getcwd()
        return hidden.seed_for(hidden.course_secret(root), info.get("assignment", ""),
                               info.get("notebook", ""), cell.metadata["nbgrader"]["grade_id"],
                               info.get("student", ""))

    def _run(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._stopped:
            cell.outputs = [_error("CellNotRun", self._stopped)]
            cell.execution_count = None
            return cell, self.resources
        graded = _is_graded(cell) and self.check_integrity
        try:
            if self.check_integrity and self._snapshot is None:
                self._snapshot = self._fingerprint()
                if self._snapshot is None:
                    raise RuntimeError("the integrity fingerprint could not be taken in a "
                                       "fresh kernel; check c.SandboxedExecute.protected_modules")
            if graded:
                changed = self._changed()
                if changed:
                    cell.outputs = [_error("GradingError", (
                        f"this test was not run: before it, your notebook changed {changed}, "
                        f"which the tests rely on. The autograder only trusts tests that run "
                        f"with the course's code, NumPy and Python as they are; remove the "
                        f"code that replaces or modifies them."))]
                    self._status = "refused"
                    return cell, self.resources
            result = super().preprocess_cell(cell, resources, index)
            if graded:
                changed = self._changed()
                if changed:
                    cell.outputs.append(_error("GradingError", (
                        f"while this test ran, your code changed {changed}, which the tests "
                        f"rely on, so its result cannot be trusted and earns no points.")))
                    self._status = "refused"
            return result
        except DeadKernelError:
            self._stop(cell, self._death_reason())
        except CellTimeoutError:
            # The kernel neither finished nor answered the interrupt: stop it.
            self._kill_kernel()
            self._stop(cell, (
                f"the cell ran longer than the time limit of {self.timeout} s and the kernel "
                f"did not respond to the interrupt, so it was stopped"), "CellTimeoutError")
        return cell, self.resources

    def _stop(self, cell, reason, ename="KernelDied"):
        self._status = "stopped"
        cell.outputs.append(_error(ename, (
            f"{reason}. The cells after this one were not run and earn no points.")))
        self._stopped = f"not run, because the kernel stopped in an earlier cell: {reason}."

    def _death_reason(self):
        km = self.km
        status = km.exit_status() if hasattr(km, "exit_status") else None
        how = "" if status is None else f" ({_exit_status(status)})"
        memory = "runs out of memory"
        limit = parse_size(km.memory_limit) if isinstance(km, SandboxedKernelManager) else 0
        if limit:
            memory += f" (the limit is {_human(limit)})"
        words = [line.strip() for line in (km.kernel_log() if hasattr(km, "kernel_log") else
                                           "").splitlines() if _news(line)]
        said = f" Its last words: {' | '.join(words[-3:])}" if words else ""
        return (f"the kernel (the Python process running your notebook) stopped while this "
                f"cell ran{how}. That happens when code calls os._exit() or exit(), crashes "
                f"the interpreter, or {memory}.{said}").rstrip(".")

    def _kill_kernel(self):
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as err:             # already gone: nothing to stop
            self.log.debug("stopping the kernel: %s", err)

    # ---- integrity

    def _fingerprint(self):
        code, expressions = integrity.request(self.protected_modules, self.compare_values_of)
        msg_id = self.kc.execute(code, silent=True, store_history=False,
                                 user_expressions=expressions, stop_on_error=False)
        reply = self.wait_for_reply(msg_id)
        return integrity.parse(reply)

    def _changed(self):
        now = self._fingerprint()
        if now is None:
            return "Python itself (the check that the tests' code is intact could not run)"
        return integrity.changes(self._snapshot, now)

    # ---- timeouts and output

    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)
        if reply is not None:
            evalue = (f"this cell ran longer than the time limit of {timeout} s and was "
                      f"interrupted. Look for a loop that never ends, or work that is far "
                      f"larger than the exercise needs.")
            reply["content"].update(ename="CellTimeoutError", evalue=evalue,
                                    traceback=[f"\x1b[0;31mCellTimeoutError\x1b[0m: {evalue}"])
        return reply

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg["msg_type"] == "error":
            content["evalue"] = _cut(str(content.get("evalue", "")), 20000)
            content["traceback"] = [_cut(str(t), 20000) for t in content.get("traceback", [])[:200]]
            return super().output(outs, msg, display_id, cell_index)
        size = _size(content)
        used = self._output_size.get(cell_index, 0)
        self._output_size[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if used > self.max_output_bytes:        # cut already
            return None
        out = None
        room = self.max_output_bytes - used
        if msg["msg_type"] == "stream" and room > 0:  # keep the beginning of the text
            content["text"] = content.get("text", "")[:room]
            out = super().output(outs, msg, display_id, cell_index)
        outs.append(_stream(f"\n[The autograder truncated this cell's output: it exceeded "
                            f"{_human(self.max_output_bytes)}; the rest was discarded.]\n"))
        self._output_size[cell_index] = self.max_output_bytes + 1
        return out


# What ipykernel always prints when it starts: not a reason for anything.
_BANNER = ("ipython kernel", "Ctrl-C", "Ctrl-\\", "explicitly quit", '"quit"', "ipython/issues",
           "To read more", "To connect another client", "--existing", "To exit, you will")


def _news(line):
    return bool(line.strip()) and not any(b in line for b in _BANNER)


def _exit_status(status):
    """Words for a process's exit status: bwrap and the shell report death by signal N
    as 128 + N, Popen as -N."""
    signum = -status if status < 0 else status - 128 if status > 128 else 0
    if signum:
        try:
            return f"killed by signal {signum}, {signal.Signals(signum).name}"
        except ValueError:
            return f"killed by signal {signum}"
    return f"exit status {status}"


def _cut(text, limit):
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} characters cut]"


def _size(content):
    """Approximate size in bytes of an output message's content."""
    if "text" in content:
        return len(content["text"])
    data = content.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(repr(v)) for v in data.values()) + 100


# ---------------------------------------------------------------------- reading

class TolerantNotebookExporter(NotebookExporter):
    """Reads a submission that is not a notebook (not JSON, empty, missing) as the
    released assignment, with a note on top that says why: graded 0, with the reason
    in the feedback, instead of a failure that leaves the student without a grade."""

    def from_filename(self, filename, resources=None, **kw):
        try:
            with open(filename, encoding="utf-8") as f:
                nb = nbformat.read(f, as_version=4)
            nbformat.validate(nb)           # nbformat.read only logs what is wrong
        except Exception as err:             # any reason it cannot be read is the same to us
            reason = f"{type(err).__name__}: {_cut(str(err), 300)}"
            self.log.warning("Cannot read %s (%s): grading it as the release", filename, reason)
            nb = self._stand_in(filename, reason)
            resources = self._init_resources(resources)
            resources.setdefault("metadata", {})
            resources["metadata"].setdefault("name", Path(filename).stem)
            resources["metadata"].setdefault("path", os.path.dirname(filename))
            return self.from_notebook_node(nb, resources, **kw)
        return super().from_filename(filename, resources, **kw)

    def _stand_in(self, filename, reason):
        name = Path(filename).name
        release = None
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is not None:
            assignment = Path(filename).parent.name
            release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment)) / name
        return stand_in(release, (
            f"**The autograder could not read the file you submitted, `{name}`**, as a Jupyter "
            f"notebook ({reason}). It was graded as the assignment without your answers, so it "
            f"earns no points. Check that the file opens in Jupyter and submit it again, or ask "
            f"your instructor."))


def stand_in(release, note):
    """The released notebook (an empty one if release is None or absent) with a note on
    top: what is graded in place of a submission that cannot be."""
    nb = (nbformat.read(release, as_version=4) if release is not None and Path(release).exists()
          else nbformat.v4.new_notebook())
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
    return nb


class RepairCellMetadata(NbGraderPreprocessor):
    """First of the sanitizing steps: make every cell's nbgrader metadata the gradebook's.

    nbgrader 0.9 stops grading a submission (or the whole batch, for a bad
    schema_version) when a cell's metadata names a grade_id the gradebook does not know,
    lacks one, or appears twice: a cell copied and pasted by a student is enough. Here a
    cell whose metadata is malformed, unknown, or a copy of a later cell with the same
    grade_id (nbgrader keeps the last) becomes a plain cell of the student's; every other
    one gets the metadata of its source cell, whatever the student changed in it (points,
    grade, locked). nbgrader's own steps then restore the sources of locked cells and put
    back missing tests, as before.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            canonical = {}
            graded = {c.name: c.max_score for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
            tasks = {c.name for c in notebook.task_cells}
            for source in notebook.source_cells:
                meta = {"grade": source.name in graded, "solution": source.name in solutions,
                        "locked": bool(source.locked), "task": source.name in tasks,
                        "grade_id": source.name, "cell_type": source.cell_type,
                        "schema_version": 3}
                if source.name in graded:
                    meta["points"] = graded[source.name]
                if source.checksum:
                    meta["checksum"] = source.checksum
                canonical[source.name] = meta
        seen = set()
        for cell in reversed(nb.cells):
            if "nbgrader" not in cell.get("metadata", {}):
                continue
            meta = cell.metadata["nbgrader"]
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(gid, str) or gid not in canonical or gid in seen:
                self.log.warning("Cell with nbgrader metadata %r: not a cell of the assignment, "
                                 "or a copy; graded as a plain cell", gid)
                del cell.metadata["nbgrader"]
                continue
            seen.add(gid)
            cell.metadata["nbgrader"] = NotebookNode(dict(canonical[gid]))
        return nb, resources


def sanitize_preprocessors():
    """nbgrader's sanitizing steps with RepairCellMetadata first, for
    c.Autograde.sanitize_preprocessors in nbgrader_config.py."""
    from nbgrader.converters import Autograde
    return [RepairCellMetadata, *Autograde.class_traits()["sanitize_preprocessors"].default()]


def autograde_preprocessors():
    """nbgrader's autograding steps with SandboxedExecute in place of Execute, for
    c.Autograde.autograde_preprocessors in nbgrader_config.py."""
    from nbgrader.converters import Autograde
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    return [SandboxedExecute if step is Execute else step for step in default]
