"""nbgrader's configuration for every user of the course's JupyterHub: students, instructors
and the grader account alike. A server install copies it to /etc/jupyter/nbgrader_config.py
(tests/test_jupyterhub.py puts it in a folder of its own, on JUPYTER_CONFIG_PATH).
"""
import os
from stat import S_ISVTX

from nbgrader.auth import JupyterHubAuthPlugin
from nbgrader.exchange.default import ExchangeReleaseAssignment, ExchangeSubmit

c = get_config()  # noqa: F821  (nbgrader provides get_config)

# The exchange: a folder every user may write to, and only add to (mode 1777, like /tmp:
# without the sticky bit, any student could rename the course's folder in it and put one of
# their own in its place, which would then receive everyone's submissions). nbgrader makes
# the course's folders in it, with their own permissions: outbound/ (releases) readable by
# all, inbound/ (submissions) and feedback/ writable or readable only by name, not listable.
c.Exchange.root = os.environ.get("COURSE_HUB_EXCHANGE", "/srv/nbgrader/exchange")
# A submission's name has a random part (72 bits) that no other student can guess, since
# no student may list inbound/. Keep it: it is what keeps a submission, and the released
# feedback (named after a secret in the submission), from being read by other students.
c.ExchangeSubmit.add_random_string = True


class ReleaseWithStickyInbound(ExchangeReleaseAssignment):
    """Releasing makes inbound/ as nbgrader does (anyone may add to it, no one but the
    grader list it; its set-group-ID bit gives each submission the grader's group), and
    with the sticky bit: nbgrader leaves it out, and any student who learnt the name of
    another's submission could then rename it, to one with their own name."""

    def ensure_directory(self, path, mode):
        if path == getattr(self, "inbound_path", None):
            mode |= S_ISVTX
        super().ensure_directory(path, mode)


class ProtectedSubmit(ExchangeSubmit):
    """Submitting as nbgrader does, then a submission folder only its student may write to
    (0755). nbgrader makes it writable by everyone (so that the instructor may delete it),
    hidden by its name only. Its files stay readable by all, as nbgrader makes them: the
    grader account must read them, and a student cannot give them the grader's group."""

    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o755)


c.ExchangeFactory.release_assignment = ReleaseWithStickyInbound
c.ExchangeFactory.submit = ProtectedSubmit
# Students fetch into ~/<course>/<assignment>, so that two courses never share a folder.
c.Exchange.path_includes_course = True
# Who takes which course: the hub's groups nbgrader-<course> (and formgrade-<course>), as
# jupyterhub_config.py loads them. A student outside the group can neither fetch nor submit.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
