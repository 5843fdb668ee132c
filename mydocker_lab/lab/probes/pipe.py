"""Probes for notebook 07 (the command through a pipe): a real init, fed through its pipe.

``pipe-barrier`` drives the runtime's own pieces (clone, init, the pipe) one step at a
time: it starts a container's init, looks at it while it waits on the pipe (the
barrier), then sends it the command's bytes and reports what the command printed.
Runs on the target as its own process.
"""
import os
import time

from ..common import log_records
from . import probe
from .support import read_all, read_text


@probe("pipe-barrier")
def pipe_barrier(hexdata, hold="1"):
    """Start a real container init, look at it while it waits on the pipe, then send it
    ``hexdata`` (the command's bytes) and report what the command printed."""
    from ...container import process
    from ...container.protocol import DEFAULT_PATH
    from ... import linux

    rootless = os.geteuid() != 0
    argv = process.init_argv("box", False, "info", "json")
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": "box", "HOME": "/root"}
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    init = process.new_parent_process(
        argv, env, process.CLONE_FLAGS | (linux.CLONE_NEWUSER if rootless else 0),
        stdin=devnull, stdout=out_w, stderr=err_w, log=err_w)
    init.start()
    for fd in (out_w, err_w, devnull):
        os.close(fd)
    if rootless:
        init.map_ids()
    init.go()
    pid = init.pid
    waiting = {}
    if hold == "1":
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until init sits in read(5)
            if "pipe_read" in (read_text("/proc/%d/wchan" % pid) or "") and \
                    b"init" in open("/proc/%d/cmdline" % pid, "rb").read():
                break
            time.sleep(0.005)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            waiting["cmdline"] = [a.decode("utf-8", "replace")
                                  for a in f.read().rstrip(b"\0").split(b"\0")]
        waiting["wchan"] = read_text("/proc/%d/wchan" % pid)
        fds = {}
        for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            fds[fd] = target.split(":")[0] if target.startswith(("pipe:", "socket:")) \
                else target
        waiting["fds"] = fds
    init.send_bytes(bytes.fromhex(hexdata))
    init.wait_started()
    out, err = read_all(out_r), read_all(err_r)
    status = init.wait()
    init.close()
    return {"waiting": waiting, "stdout": out, "logs": log_records(err),
            "exit": os.waitstatus_to_exitcode(status)}
