"""Run a command in a new user namespace whose only users are root (mapped to the real
root) and nobody (mapped to an unprivileged host uid): the start of a grading kernel's
sandbox when the grader runs as root.

    python grader/userns.py HOST_UID HOST_GID -- bwrap ... -- setpriv --reuid=65534 ... CMD

bubblewrap, started by root, would otherwise map the sandbox's user to the real root:
a process without capabilities, but one that owns every root-owned file it can see and
is exempt from the process limit. Here bwrap still runs as root (it reads the Python
installation wherever it lives, even under /root) but only inside this namespace, and the
kernel then drops to uid 65534 of the namespace, which is HOST_UID outside: nobody at all.

Only the real root can write such a mapping, so this helper is used only when the grader
runs as root; an unprivileged grader lets bwrap map the sandbox to its own uid. The file
runs by path (not `-m`) so that it needs nothing on sys.path; it imports only the stdlib.
"""
import ctypes
import os
import signal
import sys

CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1
SANDBOX_UID = 65534          # the kernel's user inside the namespace (grader.sandbox's too)


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: userns.py HOST_UID HOST_GID -- COMMAND...")
    host_uid, host_gid, command = int(argv[0]), int(argv[1]), argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    # Die with the grader that started us (jupyter_client puts us in a session of our own,
    # out of reach of a signal to the grader's group), and the sandbox dies with us.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.environ.get("JPY_PARENT_PID", str(os.getppid())) != str(os.getppid()):
        sys.exit("userns.py: the grader is gone")
    go_r, go_w = os.pipe()            # parent -> child: the maps are written
    ready_r, ready_w = os.pipe()      # child -> parent: the namespace exists
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        os.close(ready_r)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)     # never outlive the helper
        if libc.unshare(CLONE_NEWUSER) != 0:
            os.write(2, f"userns.py: unshare: {os.strerror(ctypes.get_errno())}\n".encode())
            os._exit(127)
        os.write(ready_w, b"1")
        os.close(ready_w)
        if os.read(go_r, 1) != b"1":
            os._exit(127)
        # No user namespaces below this one: the sandboxed code cannot make one of its own
        # (and reach the kernel's code for them). bwrap --disable-userns does the same
        # when bwrap makes the namespace itself.
        try:
            with open("/proc/sys/user/max_user_namespaces", "w") as f:
                f.write("0")
        except OSError as err:
            os.write(2, f"userns.py: cannot forbid nested user namespaces: {err}\n".encode())
            os._exit(127)
        os.execvp(command[0], command)
    os.close(go_r)
    os.close(ready_w)
    if os.read(ready_r, 1) != b"1":
        sys.exit(127)
    try:
        for name, host in (("uid_map", host_uid), ("gid_map", host_gid)):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(f"0 0 1\n{SANDBOX_UID} {host} 1\n")
    except OSError as err:
        os.kill(pid, signal.SIGKILL)
        sys.exit(f"userns.py: cannot map users ({err}); run the grader as root or use plain bwrap")
    os.write(go_w, b"1")
    os.close(go_w)
    # Pass on what jupyter_client sends (it signals the whole process group anyway).
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda n, _frame: os.kill(pid, n))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
             else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main(sys.argv[1:])
