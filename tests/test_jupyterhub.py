"""The course on a real JupyterHub, with real Unix users: the instructor guide's hub recipe
(instructors/jupyterhub/), run end to end, and what it keeps each user from.

The test starts a hub on loopback with the repository's jupyterhub_config.py, its proxy
(configurable-http-proxy, `npm ci` from the committed lock), nbgrader's exchange in a folder
of mode 1777, and the course folder of a grader account, whose Jupyter server is the hub
service that serves the formgrader. It creates the people as Unix accounts with random
passwords: an instructor, a grader account, and three students (alice solves the exercise,
bob gets the gate order wrong, carol solves it but submits after the due date). All of it
lives under one temporary folder and is removed afterwards, users included, even on failure.

Through the hub's HTTP API (the proxy's public port), each request authenticated as the user
who makes it, with a token that user obtained from the hub with their password (PAM):

- each user logs in (POST /hub/api/users/NAME/tokens with the password); each student starts
  their own server (POST /hub/api/users/NAME/server), which the hub runs as that user;
- the instructor, in the formgrader (/services/<course>/formgrader/api/...): generates the
  assignment into the gradebook, releases it, sets the due date (after alice's and bob's
  submissions, before carol's), collects, generates and releases the feedback;
- each student, in their own server: fetches the assignment (/user/NAME/assignments/fetch),
  writes the answered notebook (the Contents API, /user/NAME/api/contents/...), submits,
  fetches their feedback (/user/NAME/assignments/fetch_feedback) and reads it.

Not an nbgrader endpoint, but through the hub all the same: the autograding. nbgrader's
formgrader would grade with `nbgrader autograde`; the course grades with `python -m
grader.parallel`, which the instructor runs in a notebook (a kernel) of the formgrader's
server, as the grader account, as they would from its terminal (the kernel's API through
the proxy: /services/<course>/api/kernels).

Not through the hub (set-up and checks, as root): creating the accounts, the exchange and the
course folder (what an administrator does once, with the same files the guide names); reading
the gradebook's SQLite file to check the scores next to what the formgrader says.

What students may not do is tried for real, as that student: bob's code runs in a kernel of
bob's own server (so as bob's Unix account) and tries to read and change what is alice's,
the grader's and the hub's; bob's token tries the formgrader and alice's server through the
proxy. Each attempt must fail.

Time: about a minute on two idle cores (five Jupyter servers start). It needs root, to
create users and to let the hub start servers as them.
"""
import asyncio
import io
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from nbgrader.api import Gradebook
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from submissions import lstm_cell_submission

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HUB_FILES = ROOT / "instructors" / "jupyterhub"
COURSE = "lstms-from-first-principles"
A, NOTEBOOK = "02_lstm_cell", "lstm_cell"
SOLUTION = ROOT / "solutions" / A / f"{NOTEBOOK}.ipynb"
# The marker in each test user's GECOS field: a later run removes the users of a run whose
# process is gone (killed before its clean-up), and never those of a run still going.
MARKER = "tests/test_jupyterhub.py pid "
# (kind of submission from tests/submissions.py, on time?, points expected once graded)
STUDENTS = {"alice": ("complete", True, 8.0),
            "bob": ("wrong gate order", True, 4.0),
            "carol": ("complete", False, 7.0)}    # 8 points, one off: late by less than an hour
TIMEOUT = 120                                       # seconds, for any one thing to happen

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create Unix users")


# ------------------------------------------------------------------ Unix accounts

def processes_of(uids):
    """The ids of the processes running as any of uids."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def remove_users(names):
    """Stop every process of these users (by id), then delete them with their homes."""
    uids = set()
    for name in names:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            pass
    for _ in range(20):
        pids = processes_of(uids)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    for name in names:
        if name in {p.pw_name for p in pwd.getpwall()}:
            subprocess.run(["userdel", "--remove", name], capture_output=True)


def remove_stale_users():
    """The users left by an earlier run of this test that was killed before its clean-up."""
    stale = [p.pw_name for p in pwd.getpwall() if p.pw_gecos.startswith(MARKER)
             and not Path(f"/proc/{p.pw_gecos[len(MARKER):]}").exists()]
    remove_users(stale)


def create_user(name, home, password):
    """A Unix account with a home only it may enter, and a password for PAM (none: the
    account is locked)."""
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--user-group",
                    "--shell", "/bin/bash", "--comment", f"{MARKER}{os.getpid()}", name],
                   check=True, capture_output=True)
    home.chmod(0o700)
    if password:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True,
                       capture_output=True)


def chown_tree(path, user):
    entry = pwd.getpwnam(user)
    for folder, _, files in os.walk(path):
        for p in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(p, entry.pw_uid, entry.pw_gid)


# ------------------------------------------------------------------ the course's environment

def blocked_ancestor(path):
    """The highest folder above path that other users may not enter, or None."""
    for parent in reversed(Path(path).parents):
        if parent != Path("/") and not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    return None


def runnable_by_all(command, stage):
    """command, run so that every user can run the course's environment.

    The users' servers run .venv/bin/python, which links to the Python it was made with
    (sys.base_prefix). Where that lies in a folder other users may not enter, as pyenv's
    Pythons in root's home, the hub runs in a mount namespace of its own in which that
    folder is an empty one, holding only the Python: nothing else of it becomes readable,
    and nothing changes outside the hub's processes. (A hub for a course installs the
    course's environment where all may read it, as The Littlest JupyterHub does in /opt.)
    """
    needed = [Path(sys.base_prefix).resolve(), ROOT]
    blocked = {}
    for path in needed:
        top = blocked_ancestor(path)
        if top is not None:
            blocked.setdefault(top, []).append(path)
    if not blocked:
        return command
    script = ["set -e"]
    for k, (top, paths) in enumerate(blocked.items()):
        for j, path in enumerate(paths):
            keep = stage / f"{k}-{j}"
            keep.mkdir(parents=True)
            script += [f"mount --bind '{path}' '{keep}'"]
        script += [f"mount -t tmpfs -o mode=0755,size=1m lstmhub '{top}'"]
        for j, path in enumerate(paths):
            keep = stage / f"{k}-{j}"
            script += [f"mkdir -p '{path}'", f"mount --bind '{keep}' '{path}'", f"umount '{keep}'"]
    script += ['exec "$@"']
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            "\n".join(script), "sh", *map(str, command)]


def ensure_proxy():
    """configurable-http-proxy, as pinned in package-lock.json: `npm ci` when it is
    missing or the lock changed since it was installed."""
    proxy = HUB_FILES / "node_modules" / ".bin" / "configurable-http-proxy"
    installed = HUB_FILES / "node_modules" / ".package-lock.json"
    lock = HUB_FILES / "package-lock.json"
    if proxy.exists() and installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return proxy
    assert shutil.which("npm"), "npm (Node.js) is needed to install configurable-http-proxy"
    out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HUB_FILES,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"npm ci failed:\n{out.stdout}\n{out.stderr}"
    return proxy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ talking to the hub

def wait_for(what, check, timeout=TIMEOUT, log=None):
    """check()'s first true value, polled until timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except requests.ConnectionError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s" + (f"\n{log()}" if log else ""))
        time.sleep(0.25)


class User:
    """A person on the hub: HTTP requests through its proxy, authenticated as them."""

    def __init__(self, hub, name, password):
        self.hub, self.name = hub, name
        # Logging in: the hub checks the password with PAM and gives a token.
        r = requests.post(f"{hub.url}/hub/api/users/{name}/tokens", timeout=TIMEOUT,
                          json={"auth": {"username": name, "password": password},
                                "note": "tests/test_jupyterhub.py", "expires_in": 3600})
        assert r.status_code == 201, f"{name} could not log in: {r.status_code} {r.text}"
        self.token = r.json()["token"]

    def request(self, method, path, **kw):
        return requests.request(method, f"{self.hub.url}{path}", timeout=TIMEOUT,
                                headers={"Authorization": f"token {self.token}"},
                                allow_redirects=False, **kw)

    def ok(self, method, path, **kw):
        """The JSON answer of a request that must succeed."""
        r = self.request(method, path, **kw)
        assert r.status_code < 300, (f"{self.name}: {method} {path}: {r.status_code} "
                                     f"{r.text[:500]}\n{self.hub.log_tail()}")
        return r.json() if r.text else None

    # --- their own server
    @property
    def server(self):
        return f"/user/{self.name}"

    def start_server(self):
        r = self.request("POST", f"/hub/api/users/{self.name}/server")
        assert r.status_code in (201, 202), f"{self.name}: server not started: {r.status_code} {r.text}"

    def server_ready(self):
        return self.ok("GET", f"/hub/api/users/{self.name}")["servers"].get("", {}).get("ready")

    def assignments(self, action):
        """fetch, submit or fetch_feedback the assignment, in the student's own server
        (nbgrader's assignment list extension: what its buttons do)."""
        out = self.ok("POST", f"{self.server}/assignments/{action}",
                      json={"course_id": COURSE, "assignment_id": A})
        assert out["success"], f"{self.name}: {action}: {out['value']}"
        return out["value"]

    def read(self, path, format=None):
        query = {"content": 1, **({"format": format} if format else {})}
        return self.ok("GET", f"{self.server}/api/contents/{path}", params=query)

    def write_notebook(self, path, nb):
        self.ok("PUT", f"{self.server}/api/contents/{path}",
                json={"type": "notebook", "format": "json", "content": nb})


# ------------------------------------------------------------------ code in a kernel

def run_in_kernel(user, server, code, timeout=TIMEOUT):
    """Run code in a new kernel of the Jupyter server at the path server (the user's own,
    or the formgrader's), through the hub's proxy, as user; its standard output. The kernel
    runs as the server's Unix account."""
    kernel = user.ok("POST", f"{server}/api/kernels", json={"name": "python3"})
    url = (f"{user.hub.url.replace('http', 'ws', 1)}{server}/api/kernels/{kernel['id']}"
           f"/channels?session_id={uuid.uuid4().hex}")
    try:
        return asyncio.run(asyncio.wait_for(_execute(url, user.token, code), timeout))
    finally:
        user.request("DELETE", f"{server}/api/kernels/{kernel['id']}")


async def _execute(url, token, code):
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "",
                   "session": uuid.uuid4().hex, "version": "5.3",
                   "date": datetime.now(timezone.utc).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    out, error = [], None
    try:
        while True:
            raw = await ws.read_message()
            assert raw is not None, "the kernel's connection closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                error = "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
    finally:
        ws.close()
    assert error is None, f"the code failed in the kernel:\n{error}"
    return "".join(out)


# ------------------------------------------------------------------ the hub

class Hub:
    """The hub of instructors/jupyterhub/, with its users, exchange and course folder, all
    under one temporary folder; stop() removes all of it."""

    def __init__(self):
        remove_stale_users()
        run = secrets.token_hex(2)                       # users of two runs never clash
        self.logins = {role: f"lh{run}-{role}" for role in ("instructor", "grader", *STUDENTS)}
        self.passwords = {}
        # Not under pytest's tmp_path: only root may enter that one.
        self.root = Path(tempfile.mkdtemp(prefix="lstmhub-"))
        self.root.chmod(0o711)                          # users enter their homes inside
        self.proc = None

    def home(self, role):
        return self.root / "home" / self.logins[role]

    @property
    def course_dir(self):
        return self.home("grader") / COURSE

    def start(self):
        (self.root / "home").mkdir(mode=0o711)
        for role, login in self.logins.items():
            # No one logs in as the grader account: it has no password.
            self.passwords[role] = secrets.token_urlsafe(16) if role != "grader" else None
            create_user(login, self.home(role), self.passwords[role])
        # The exchange: everyone may add to it, no one may remove what is another's.
        self.exchange = self.root / "exchange"
        self.exchange.mkdir()
        self.exchange.chmod(0o1777)
        # The course folder of the grader account: the repository's nbgrader_config.py with
        # the hub's part added, and the assignment's source.
        self.course_dir.mkdir()
        (self.course_dir / "nbgrader_config.py").write_text(
            (ROOT / "nbgrader_config.py").read_text()
            + (HUB_FILES / "course_nbgrader_config.py").read_text())
        shutil.copytree(ROOT / "solutions" / A, self.course_dir / "solutions" / A)
        chown_tree(self.course_dir, self.logins["grader"])
        # The global nbgrader configuration (/etc/jupyter on a server), here in a folder the
        # hub puts on every server's JUPYTER_CONFIG_PATH.
        jupyter_config = self.root / "etc-jupyter"
        jupyter_config.mkdir(mode=0o755)
        shutil.copy(HUB_FILES / "global_nbgrader_config.py", jupyter_config / "nbgrader_config.py")
        (jupyter_config / "nbgrader_config.py").chmod(0o644)
        # The hub's own files: root's only.
        self.state = self.root / "state"
        self.state.mkdir(mode=0o700)
        ensure_proxy()
        ports = {k: free_port() for k in ("PORT", "API_PORT", "PROXY_API_PORT", "SERVICE_PORT")}
        self.url = f"http://127.0.0.1:{ports['PORT']}"
        self.service_port = ports["SERVICE_PORT"]
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
                   COURSE_HUB_IP="127.0.0.1",
                   COURSE_HUB_INSTRUCTORS=self.logins["instructor"],
                   COURSE_HUB_STUDENTS=",".join(self.logins[s] for s in STUDENTS),
                   COURSE_HUB_GRADER=self.logins["grader"],
                   COURSE_HUB_COURSE_DIR=str(self.course_dir),
                   COURSE_HUB_EXCHANGE=str(self.exchange),
                   COURSE_HUB_STATE=str(self.state),
                   COURSE_HUB_JUPYTER_CONFIG=str(jupyter_config),
                   **{f"COURSE_HUB_{k}": str(v) for k, v in ports.items()})
        env.pop("JUPYTER_CONFIG_DIR", None)
        command = [BIN / "jupyterhub", "-f", HUB_FILES / "jupyterhub_config.py"]
        self.log_path = self.root / "jupyterhub.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(runnable_by_all(command, self.root / "stage"),
                                         cwd=self.state, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_for("the hub's API", lambda: requests.get(f"{self.url}/hub/api/", timeout=5).ok,
                 log=self.log_tail)

    def log_tail(self, lines=60):
        """The end of the hub's log (its servers' too: they inherit it), for failures."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "--- the hub's log:\n" + "\n".join(text[-lines:])

    def user(self, role):
        return User(self, self.logins[role], self.passwords[role])

    def stop(self):
        """Stop the hub (which stops the servers, the service and the proxy), then whatever
        is left of it, then remove the users and every file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        proxy_pid = getattr(self, "state", None) and self.state / "jupyterhub-proxy.pid"
        if proxy_pid and proxy_pid.exists():
            try:
                os.kill(int(proxy_pid.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        remove_users(list(self.logins.values()))
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------ the loop

@pytest.fixture(scope="module")
def course():
    """The whole loop, from release to feedback, through the hub; yields what it saw."""
    hub = Hub()
    try:
        hub.start()
        yield run_the_course(hub)
    finally:
        hub.stop()


def formgrader_step(instructor, step):
    """What the formgrader's button for step does, for the whole assignment."""
    out = instructor.ok("POST", f"/services/{COURSE}/formgrader/api/assignment/{A}/{step}")
    assert out["success"], f"{step}:\n{out.get('log', '')}\n{out.get('error', out)}"


def run_the_course(hub):
    started = time.monotonic()
    times = {}
    instructor = hub.user("instructor")
    students = {s: hub.user(s) for s in STUDENTS}
    for student in students.values():
        student.start_server()
    formgrader = f"/services/{COURSE}"
    api = f"{formgrader}/formgrader/api"

    # The instructor: the assignment into the gradebook, and out to the students.
    wait_for("the formgrader", lambda: instructor.request("GET", f"{api}/status").ok,
             log=hub.log_tail)
    for step in ("assign", "release"):
        formgrader_step(instructor, step)

    # The students: fetch, solve, submit (carol once the due date has passed).
    for name, student in students.items():
        wait_for(f"{name}'s server", student.server_ready, log=hub.log_tail)
        fetched = student.assignments("fetch")
        assert any(a["status"] == "fetched" and a["assignment_id"] == A for a in fetched), fetched
        path = f"{COURSE}/{A}/{NOTEBOOK}.ipynb"
        release = io.StringIO(json.dumps(student.read(path)["content"]))
        student.write_notebook(path, lstm_cell_submission(release, SOLUTION, STUDENTS[name][0]))
    for name, (_, on_time, _) in STUDENTS.items():
        if on_time:
            students[name].assignments("submit")
    due = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    instructor.ok("PUT", f"{api}/assignment/{A}",
                  json={"duedate_notimezone": due, "duedate_timezone": "UTC"})
    for name, (_, on_time, _) in STUDENTS.items():
        if not on_time:
            students[name].assignments("submit")

    # The instructor: collect, grade (the course's grader, in the formgrader's server, as
    # the grader account), feedback.
    formgrader_step(instructor, "collect")
    t = time.monotonic()
    said = run_in_kernel(instructor, formgrader, GRADE.format(assignment=A))
    times["autograde"] = time.monotonic() - t
    assert f"autograded {len(STUDENTS)} of {len(STUDENTS)} submissions" in said, said
    for step in ("generate_feedback", "release_feedback"):
        formgrader_step(instructor, step)

    # The students: their feedback.
    feedback = {}
    for name, student in students.items():
        student.assignments("fetch_feedback")
        folder = f"{COURSE}/{A}/feedback"
        (stamp,) = student.read(folder)["content"]
        pages = student.read(stamp["path"])["content"]
        feedback[name] = {p["name"]: student.read(p["path"], format="text")["content"] for p in pages}
    times["loop"] = time.monotonic() - started
    print(f"\nthe whole loop through the hub: {times['loop']:.1f} s, of which autograding "
          f"{len(STUDENTS)} submissions with python -m grader.parallel in a kernel of the "
          f"formgrader's server {times['autograde']:.1f} s "
          f"({times['autograde'] / len(STUDENTS):.1f} s a submission); it said: {said.strip()}")
    submissions = instructor.ok("GET", f"{api}/submissions/{A}")
    return dict(hub=hub, instructor=instructor, students=students, feedback=feedback,
                submissions=submissions, times=times)


# The course's grader, as the instructor runs it from a notebook of the formgrader's
# server (its folder is the course folder): every collected submission, two at a time.
GRADE = """
import subprocess, sys
out = subprocess.run([sys.executable, "-m", "grader.parallel", "{assignment}",
                      "--workers", "2", "--no-progress"], capture_output=True, text=True)
print(out.stdout, out.stderr)
"""


# ------------------------------------------------------------------ what it must show

def test_the_gradebook_has_every_score(course):
    """What the formgrader says and what the gradebook's file holds: the right points for
    each student, carol's less one point for being late."""
    hub = course["hub"]
    said = {s["student"]: s for s in course["submissions"]}
    with Gradebook(f"sqlite:///{hub.course_dir / 'gradebook.db'}") as gb:
        for name, (_, on_time, points) in STUDENTS.items():
            login = hub.logins[name]
            sub = gb.find_submission(A, login)
            penalty = 0.0 if on_time else 1.0
            assert (sub.score, sub.late_submission_penalty) == (points + penalty, penalty), name
            assert sub.score - sub.late_submission_penalty == points, name
            assert (sub.max_score, sub.needs_manual_grade) == (8.0, False), name
            assert said[login]["score"] == sub.score, name
            assert (sub.total_seconds_late > 0) == (not on_time), name


def test_each_student_fetches_their_own_feedback(course):
    """One feedback page each, with their own score (and carol's penalty)."""
    for name, (_, on_time, points) in STUDENTS.items():
        pages = course["feedback"][name]
        assert list(pages) == [f"{NOTEBOOK}.html"], name
        page = pages[f"{NOTEBOOK}.html"]
        assert f"{NOTEBOOK} (Score: {points:.1f} / 8.0)" in page, name
        assert ("Late submission penalty (Score: -1.0)" in page) == (not on_time), name


def test_only_instructors_reach_the_formgrader(course):
    """Through the proxy, with each one's token: the formgrader (and with it the gradebook)
    answers the instructor only; a student's server answers that student only."""
    api = f"/services/{COURSE}/formgrader/api/submissions/{A}"
    assert course["instructor"].request("GET", api).status_code == 200
    alice, bob = course["students"]["alice"], course["students"]["bob"]
    for path in (api, f"/services/{COURSE}/api/contents/gradebook.db",
                 f"/services/{COURSE}/api/kernels"):
        r = bob.request("GET", path)
        assert r.status_code in (302, 403), (path, r.status_code, r.text[:300])
    for method, path in (("GET", f"{alice.server}/api/contents/{COURSE}/{A}/{NOTEBOOK}.ipynb"),
                         ("POST", f"{alice.server}/assignments/fetch_feedback"),
                         ("POST", f"{alice.server}/api/kernels")):
        r = bob.request(method, path, json={"course_id": COURSE, "assignment_id": A})
        assert r.status_code in (302, 403), (path, r.status_code, r.text[:300])


# What bob's own code tries, in a kernel of his own server, as his Unix account: each entry
# is a statement that must raise PermissionError (or be refused by the server it asks).
ATTEMPTS = {
    "list alice's home": "os.listdir(P['alice_home'])",
    "read alice's notebook": "open(P['alice_notebook']).read()",
    "change alice's notebook": "open(P['alice_notebook'], 'a')",
    "list the submissions in the exchange": "os.listdir(P['inbound'])",
    "list the feedback in the exchange": "os.listdir(P['feedback'])",
    # nbgrader protects a submission by its name only, which bob cannot learn (above); the
    # course's exchange classes (global_nbgrader_config.py) keep it from being changed by
    # whoever knows it.
    "change alice's submission, knowing its name": "open(P['alice_submission'], 'a')",
    "delete alice's submission, knowing its name": "shutil.rmtree(P['alice_submission_dir'])",
    "claim alice's submission, knowing its name": "os.rename(P['alice_submission_dir'], P['alice_submission_dir'].replace(P['alice'], P['bob']))",
    "replace the course's folder in the exchange": "os.rename(P['course_exchange'], P['course_exchange'] + '-x')",
    "change the released assignment": "open(P['released'], 'a')",
    "list the grader's home": "os.listdir(P['grader_home'])",
    "read the solutions": "open(P['solution']).read()",
    "read the gradebook": "open(P['gradebook'], 'rb').read()",
    "read the hub's database": "open(P['hub_db'], 'rb').read()",
    "ask the hub about alice with the server's token": "hub_get('/users/' + P['alice'])",
    "use the formgrader on its own port with the server's token": "formgrader_get()",
}
ATTEMPT = """
import json, os, pwd, shutil, urllib.error, urllib.request
P = json.loads({paths!r})
def get(url):
    request = urllib.request.Request(url, headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}})
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as e:
        if e.code in (302, 403, 404):
            raise PermissionError(e.code)
        raise
def hub_get(path):
    get(os.environ["JUPYTERHUB_API_URL"] + path)
def formgrader_get():
    get(P["formgrader_direct"])
results = {{"whoami": pwd.getpwuid(os.getuid()).pw_name}}
for what, statement in json.loads({attempts!r}).items():
    try:
        exec(statement)
        results[what] = "allowed"
    except PermissionError:
        results[what] = "denied"
    except Exception as e:
        results[what] = f"{{type(e).__name__}}: {{e}}"
for what, path in (("read alice's submission, knowing its name", P['alice_submission']),
                   ("read alice's feedback, knowing its name", P['alice_feedback'])):
    try:
        results[what] = open(path).read(0) == "" and "allowed"
    except PermissionError:
        results[what] = "denied"
print(json.dumps(results))
"""


def test_a_students_code_cannot_reach_what_is_not_theirs(course):
    """bob's code, running as bob in his own server, is refused everything of alice's, the
    grader's and the hub's; his server runs as his own Unix account."""
    hub = course["hub"]
    alice = hub.logins["alice"]
    exchange = hub.exchange / COURSE
    (alice_submission_dir,) = [p for p in (exchange / "inbound").iterdir() if p.name.startswith(alice + "+")]
    (alice_feedback,) = [p for p in (exchange / "feedback").iterdir()
                         if p.read_bytes() == course["feedback"]["alice"][f"{NOTEBOOK}.html"].encode()]
    paths = {
        "alice": alice, "bob": hub.logins["bob"], "alice_home": str(hub.home("alice")),
        "alice_feedback": str(alice_feedback),
        "alice_notebook": str(hub.home("alice") / COURSE / A / f"{NOTEBOOK}.ipynb"),
        "inbound": str(exchange / "inbound"), "feedback": str(exchange / "feedback"),
        "alice_submission_dir": str(alice_submission_dir),
        "alice_submission": str(alice_submission_dir / f"{NOTEBOOK}.ipynb"),
        "course_exchange": str(exchange),
        "released": str(exchange / "outbound" / A / f"{NOTEBOOK}.ipynb"),
        "grader_home": str(hub.home("grader")),
        "solution": str(hub.course_dir / "solutions" / A / f"{NOTEBOOK}.ipynb"),
        "gradebook": str(hub.course_dir / "gradebook.db"),
        "hub_db": str(hub.state / "jupyterhub.sqlite"),
        "formgrader_direct": f"http://127.0.0.1:{hub.service_port}/services/{COURSE}/formgrader/api/submissions/{A}",
    }
    bob = course["students"]["bob"]
    code = ATTEMPT.format(paths=json.dumps(paths), attempts=json.dumps(ATTEMPTS))
    results = json.loads(run_in_kernel(bob, bob.server, code).strip().splitlines()[-1])
    assert results.pop("whoami") == hub.logins["bob"]
    # The exchange's weakness, stated in the guide: a submission, and the feedback released
    # for it (named after a secret in the submission), can be read by whoever knows its
    # name, which no student can learn: neither folder can be listed, and alice's copies are
    # in her home. If nbgrader ever closes this, say so in the guide.
    assert results.pop("read alice's submission, knowing its name") == "allowed"
    assert results.pop("read alice's feedback, knowing its name") == "allowed"
    refused = {what: results[what] for what in ATTEMPTS}
    assert refused == {what: "denied" for what in ATTEMPTS}
    assert exchange.is_dir() and (alice_submission_dir / f"{NOTEBOOK}.ipynb").is_file()
