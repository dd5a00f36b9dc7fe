"""JupyterHub configuration of the course: one hub, real Unix accounts, nbgrader's exchange.

    jupyterhub -f instructors/jupyterhub/jupyterhub_config.py

run as root (the hub starts each user's server as that user) from the hub's state folder,
with the course's environment first on PATH. Who is who, and where things are, comes
from the environment, with the defaults of a single-server install; tests/test_jupyterhub.py
starts this same file with throwaway users, folders and ports:

    COURSE_HUB_INSTRUCTORS  logins of the instructors, comma-separated (formgrader access)
    COURSE_HUB_STUDENTS     logins of the students, comma-separated (the course's roster)
    COURSE_HUB_GRADER       the Unix account that owns the course folder and runs the
                            formgrader (default grader-<course>), with no password; a hub
                            user that may not log in
    COURSE_HUB_COURSE_DIR   the course folder, owned by that account (default
                            ~grader/<course>): nbgrader_config.py, solutions/, the gradebook
    COURSE_HUB_EXCHANGE     nbgrader's exchange (default /srv/nbgrader/exchange, mode 1777)
    COURSE_HUB_STATE        the hub's own files: database, cookie secret (default
                            /srv/jupyterhub, mode 700)
    COURSE_HUB_IP, COURSE_HUB_PORT  where users reach the hub (default 127.0.0.1:8000:
                            put HTTPS in front of it, or set JupyterHub.ssl_cert/ssl_key)
    COURSE_HUB_API_PORT, COURSE_HUB_PROXY_API_PORT, COURSE_HUB_SERVICE_PORT
                            the hub's, the proxy's and the formgrader's ports on loopback
                            (defaults 8081, 8001, 9999)
    COURSE_HUB_JUPYTER_CONFIG  a folder added to every server's Jupyter configuration
                            path, for global_nbgrader_config.py (default: none; a server
                            install copies that file to /etc/jupyter/nbgrader_config.py)

The course's name is its nbgrader course_id: the formgrader is the hub service of that
name, and two hub groups, named as nbgrader's JupyterHubAuthPlugin expects, say who may
grade (formgrade-<course>) and who takes the course (nbgrader-<course>).
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub provides get_config)

COURSE = "lstms-from-first-principles"
HERE = Path(__file__).resolve().parent
# The course's environment: the Python that runs the hub runs every server, so that the
# students' kernels, the formgrader and the grading sandbox all have the course's packages.
# Every user must be able to run it (not a folder inside root's home).
ENV_BIN = Path(sys.executable).parent


def logins(variable):
    return sorted(name for name in os.environ.get(variable, "").split(",") if name)


def port(variable, default):
    return int(os.environ.get(variable, default))


instructors = logins("COURSE_HUB_INSTRUCTORS")
students = logins("COURSE_HUB_STUDENTS")
grader = os.environ.get("COURSE_HUB_GRADER", f"grader-{COURSE}")
course_dir = os.environ.get("COURSE_HUB_COURSE_DIR", os.path.expanduser(f"~{grader}/{COURSE}"))
state = Path(os.environ.get("COURSE_HUB_STATE", "/srv/jupyterhub"))
ip = os.environ.get("COURSE_HUB_IP", "127.0.0.1")

# The environment of every server, the formgrader's included: the course's bin/ first on
# PATH (nbgrader runs `alembic` from PATH; jupyterhub-singleuser is there), and where
# nbgrader finds the exchange and the global nbgrader configuration.
server_env = {"PATH": f"{ENV_BIN}:/usr/local/bin:/usr/bin:/bin"}
for variable in ("COURSE_HUB_EXCHANGE", "LANG"):
    if variable in os.environ:
        server_env[variable] = os.environ[variable]
if os.environ.get("COURSE_HUB_JUPYTER_CONFIG"):
    server_env["JUPYTER_CONFIG_PATH"] = os.environ["COURSE_HUB_JUPYTER_CONFIG"]

# ------------------------------------------------------------------ the hub and its proxy
c.JupyterHub.bind_url = f"http://{ip}:{port('COURSE_HUB_PORT', 8000)}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{port('COURSE_HUB_API_PORT', 8081)}"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
# configurable-http-proxy, pinned in package-lock.json next to this file (`npm ci` here).
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port('COURSE_HUB_PROXY_API_PORT', 8001)}"
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

# ------------------------------------------------------------------ who may log in
# The machine's Unix accounts and passwords (PAM), limited to the course's people. The
# grader account is not among them (and has no password): no one logs in as it, the hub
# runs the formgrader as it. It is a hub user all the same, for nbgrader (below); a user
# of the hub's database outside allowed_users may not log in.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(instructors + students)
c.Authenticator.allow_existing_users = False
c.PAMAuthenticator.open_sessions = False       # no login sessions (systemd-logind) to open

# ------------------------------------------------------------------ each user's server
# LocalProcessSpawner: each user's Jupyter server (and every kernel it starts) runs as that
# user, in their home folder, which only they may enter (mode 700): what a student's code
# can read or change is what their Unix account can.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV_BIN / "jupyterhub-singleuser")]
c.Spawner.environment = server_env
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# ------------------------------------------------------------------ groups and permissions
c.JupyterHub.load_groups = {
    # The grader account too: nbgrader's JupyterHubAuthPlugin, in the formgrader, asks the
    # hub for the courses of the user it runs as (JUPYTERHUB_USER, the grader account).
    f"formgrade-{COURSE}": {"users": instructors + [grader]},
    f"nbgrader-{COURSE}": {"users": students},
}
c.JupyterHub.load_roles = [
    # Instructors: the formgrader (a hub service, below) and nothing of the students'.
    {"name": f"formgrade-{COURSE}", "groups": [f"formgrade-{COURSE}"],
     "scopes": [f"access:services!service={COURSE}", "list:services",
                f"read:services!service={COURSE}"]},
    # Students: they may see that the course's service exists, not use it.
    {"name": f"nbgrader-{COURSE}", "groups": [f"nbgrader-{COURSE}"],
     "scopes": ["list:services", f"read:services!service={COURSE}"]},
    # The formgrader's token: what its JupyterHubAuthPlugin asks the hub. The grader
    # account's groups (its courses); and enrolling a student in the formgrader (Manage
    # Students) adds them to the course's group, which lets them fetch and submit.
    {"name": f"formgrader-{COURSE}", "services": [COURSE],
     "scopes": [f"read:users:name!user={grader}", f"read:users:groups!user={grader}",
                "list:groups", f"read:groups!group=nbgrader-{COURSE}",
                f"groups!group=nbgrader-{COURSE}"]},
    # Each server's own token (which its kernels see, too): JupyterHub's default (activity,
    # access to this server) and reading its own user's groups, which nbgrader's
    # JupyterHubAuthPlugin asks the hub for to know the user's courses. Not 'inherit', as
    # nbgrader's demos have it: that would give a student's code all of the student's rights.
    {"name": "server",
     "scopes": ["users:activity!user", "access:servers!server",
                "read:users:name!user", "read:users:groups!user"]},
]

# ------------------------------------------------------------------ the formgrader
# A Jupyter server of the grader account, as a hub service named after the course; the
# formgrader group may use it (the role above), through the hub's proxy at
# /services/<course>/. Its folder is the course folder: the formgrader grades there, and
# `python -m grader.parallel` runs there (from a terminal or notebook of this server).
c.JupyterHub.services = [{
    "name": COURSE,
    "url": f"http://127.0.0.1:{port('COURSE_HUB_SERVICE_PORT', 9999)}",
    "command": [str(ENV_BIN / "jupyterhub-singleuser")],
    "user": grader,
    "cwd": course_dir,
    "environment": {**server_env, "JUPYTERHUB_DEFAULT_URL": "/formgrader"},
    "oauth_no_confirm": True,
}]
