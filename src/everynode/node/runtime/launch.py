"""Container launcher: sets up one container process, then execs its command.

Run by the process runtime as ``python -I launch.py SPEC.json STATUS_FD``
in a new session (the container's process group). It is standalone (no
everynode imports) so it starts fast. In order it:

1. asks the kernel to SIGKILL it when the agent dies (PR_SET_PDEATHSIG);
2. joins the container's cgroups (so every descendant is accounted/limited);
3. when mounts or a hostname are asked for and it may (root), enters new
   mount and UTS namespaces, makes mounts private, bind-mounts each volume
   at its mountPath (read-only when asked), mounts the pod's hosts file on
   /etc/hosts and sets the hostname to the pod's name;
4. creates the working directory if missing, drops to runAsUser/runAsGroup when given;
5. changes to the working directory and execs.

If anything fails before exec, the reason goes to STATUS_FD and it exits
with 128; a successful exec closes STATUS_FD (close-on-exec), which the
runtime reads as "started".
"""

import ctypes
import ctypes.util
import json
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _ensure_target(path, source_is_dir):
    """A mount point that does not exist is created on the host (and left there: another
    container of this host may be using it as its own mount point)."""
    if os.path.lexists(path):
        return
    parent = os.path.dirname(path.rstrip("/")) or "/"
    os.makedirs(parent, 0o755, exist_ok=True)
    try:
        if source_is_dir:
            os.mkdir(path, 0o755)
        else:
            open(path, "a").close()
    except FileExistsError:
        pass


def setup_mounts(libc, spec):
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    for m in spec.get("mounts") or []:
        src, dst = m["src"], m["dst"]
        _ensure_target(dst, os.path.isdir(src))
        _check(libc.mount(src.encode(), dst.encode(), None, MS_BIND | MS_REC, None),
               f'error mounting "{src}" to rootfs at "{dst}"')
        if m.get("ro"):
            _check(libc.mount(b"none", dst.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, None),
                   f'error making "{dst}" read-only')


def main():
    spec_path, status_fd = sys.argv[1], int(sys.argv[2])
    os.set_inheritable(status_fd, False)  # closed by a successful exec
    try:
        with open(spec_path) as f:
            spec = json.load(f)
        libc = _libc()
        import signal
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if spec.get("parent") and os.getppid() != spec["parent"]:
            os._exit(1)  # the agent is already gone
        for procs in spec.get("cgroups") or []:
            try:
                with open(procs, "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass
        if spec.get("namespaces"):
            _check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
            setup_mounts(libc, spec)
            name = (spec.get("hostname") or "")[:63].encode()
            if name:
                _check(libc.sethostname(name, len(name)), "sethostname")
        cwd = spec.get("cwd")
        if cwd:
            os.makedirs(cwd, exist_ok=True)  # as root, like the runtime creating the working dir
        gid, uid = spec.get("gid"), spec.get("uid")
        if gid is not None or uid is not None or spec.get("groups"):
            os.setgroups(spec.get("groups") or [])
            if gid is not None:
                os.setgid(gid)
            if uid is not None:
                os.setuid(uid)
        env = spec.get("env") or {}
        if cwd:
            os.chdir(cwd)
        argv = spec["argv"]
        if not argv:
            raise OSError(0, "no command specified")
    except OSError as exc:
        os.write(status_fd, f"failed to create containerd task: {exc.strerror or exc}".encode())
        os._exit(128)
    except Exception as exc:  # noqa: BLE001 - anything else is reported the same way
        os.write(status_fd, f"failed to create containerd task: {exc}".encode())
        os._exit(128)
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        if "/" in argv[0]:
            msg = f'exec: "{argv[0]}": stat {argv[0]}: no such file or directory'
        else:
            msg = f'exec: "{argv[0]}": executable file not found in $PATH'
    except PermissionError:
        msg = f'exec: "{argv[0]}": permission denied'
    except OSError as exc:
        msg = f'exec: "{argv[0]}": {exc.strerror}'
    os.write(status_fd, f"failed to create containerd task: failed to create shim task: OCI runtime create "
                        f"failed: runc create failed: unable to start container process: {msg}: unknown".encode())
    os._exit(128)


if __name__ == "__main__":
    main()
