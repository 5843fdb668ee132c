"""Mutants of the reference, each a mistake a student could make: the check of its piece
catches it, at the right step, with a hint that points at the fix."""
import pytest

from mydocker_lab.lab import myrun
from mydocker_lab.lab.myrun import source
from mydocker_lab.lab.myrun.observe import Skipped, memory_hierarchy_usable

PROC_FLAGS = "linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV"
CGROUP_STEPS = '''        if memory is not None:               # into its cgroup *before* the command runs
            cgroup = me.cgroup_create("myrun-%d" % pid, memory)
            me.cgroup_apply(cgroup, pid)
        me.send_command(cmd_w, command)      # init was waiting for it: go
'''
LIMIT = '''        write(path, limit_file, limit)
        if os.path.exists(os.path.join(path, swap_file)):  # where swap is counted: none extra
            write(path, swap_file, swap)'''
SEND = '''        for arg in command:
            pipe.write(os.fsencode(arg) + b"\\0")'''
SPLIT = '''    return [os.fsdecode(arg) for arg in data.split(b"\\0")[:-1]]'''

#: name: (piece, [(old, new) in the reference's code], step, words of the hint)
MUTANTS = {
    # 01
    "CLONE_NEWNET missing": ("01", [(" | linux.CLONE_NEWNET", "")],
                             "namespaces", "add CLONE_NEWNET to CLONE_FLAGS"),
    "CLONE_NEWPID missing": ("01", [("linux.CLONE_NEWPID | ", "")],
                             "namespaces", "add CLONE_NEWPID to CLONE_FLAGS"),
    "CLONE_NEWUTS and CLONE_NEWIPC missing": (
        "01", [("linux.CLONE_NEWUTS | ", ""), (" | linux.CLONE_NEWIPC", "")],
        "namespaces", "add CLONE_NEWUTS and CLONE_NEWIPC to CLONE_FLAGS"),
    "fork, no new namespaces": ("01", [("linux.clone(running().CLONE_FLAGS)", "os.fork()")],
                                "namespaces", "CLONE_NEWUTS and CLONE_NEWPID"),
    "CLONE_NEWCGROUP too": ("01", [("| linux.CLONE_NEWIPC)",
                                    "| linux.CLONE_NEWIPC | linux.CLONE_NEWCGROUP)")],
                            "namespaces", "remove CLONE_NEWCGROUP from CLONE_FLAGS"),
    # 02
    "/ not made private": ("02", [('    linux.mount("", "/", None, linux.MS_PRIVATE | '
                                   'linux.MS_REC)\n', "")],
                           "private", 'linux.mount("", "/", None, linux.MS_PRIVATE | '
                                      'linux.MS_REC)'),
    "/ private but not recursively": ("02", [("linux.MS_PRIVATE | linux.MS_REC",
                                              "linux.MS_PRIVATE")], "private", "recursively"),
    "MS_NODEV missing": ("02", [(PROC_FLAGS, "linux.MS_NOEXEC | linux.MS_NOSUID")],
                         "flags", "MS_NODEV"),
    "no flags": ("02", [(PROC_FLAGS, "0")], "flags", "MS_NOSUID|MS_NODEV|MS_NOEXEC"),
    "no /proc mounted": ("02", [('    linux.mount("proc", "/proc", "proc", %s)' % PROC_FLAGS,
                                 "    os.getpid()")],
                         "proc", 'linux.mount("proc", "/proc", "proc", flags)'),
    # 03
    "no PATH lookup": ("03", [('if "/" in name:', "if True:")], "PATH", 'os.environ["PATH"]'),
    "argv split on spaces": ("03", [("os.execve(path, argv, os.environ)",
                                     'os.execve(path, " ".join(argv).split(), os.environ)')],
                             "argv", "exactly"),
    "argv[0] replaced by the path": ("03", [("os.execve(path, argv, os.environ)",
                                             "os.execve(path, [path] + argv[1:], os.environ)")],
                                     "argv", "exactly"),
    "126 reported as 127": ("03", [("status, reason = EXIT_CANNOT_EXECUTE, err.strerror",
                                    "reason = err.strerror")], "126", "EACCES"),
    "not found gives 1": ("03", [("EXIT_NOT_FOUND, \"command not found\"",
                                  "1, \"command not found\"")], "127", "return 127"),
    "the command forked, not exec'd in PID 1": (
        "03", [("            os.execve(path, argv, os.environ)  # on success, never returns",
                "            if os.access(path, os.X_OK) and not os.path.isdir(path):\n"
                "                os.waitpid(os.spawnv(os.P_NOWAIT, path, argv), 0)\n"
                "                os._exit(0)\n"
                "            os.execve(path, argv, os.environ)")],
        "PID 1", "no fork"),
    # 04
    "the exit status dropped (always 0)": ("04", [("    return os.WEXITSTATUS(status)",
                                                   "    return 0")], "status", "WEXITSTATUS"),
    "no wait": ("04", [("            _, status = os.waitpid(pid, 0)", "            status = 0")],
                "wait", "os.waitpid(pid, 0)"),
    "128+N wrong (N)": ("04", [("return 128 + os.WTERMSIG(status)", "return os.WTERMSIG(status)")],
                        "signal", "128+N"),
    "128+N wrong (-N)": ("04", [("    if os.WIFSIGNALED(status):\n"
                                 "        return 128 + os.WTERMSIG(status)",
                                 "    if os.WIFSIGNALED(status):\n"
                                 "        return os.waitstatus_to_exitcode(status)")],
                         "signal", "128+N"),
    "the command never sent": ("04", [("        me.send_command(cmd_w, command)      # init "
                                       "was waiting for it: go\n", "")],
                               "send", "send_command"),
    "the cgroup made after the command runs": (
        "04", [(CGROUP_STEPS, "        me.send_command(cmd_w, command)\n"
                              "        if memory is not None:\n"
                              "            cgroup = me.cgroup_create(\"myrun-%d\" % pid, memory)\n"
                              "            me.cgroup_apply(cgroup, pid)\n")],
        "-m", "then send_command()"),
    "the cgroup never removed": ("04", [("            me.cgroup_destroy(cgroup)",
                                         "            pass")], "-m", "cgroup_destroy"),
    # 05
    "no setsid before TIOCSCTTY": ("05", [("    os.setsid()\n", "")],
                                   "take_terminal, prompt", "os.setsid() first"),
    "no controlling terminal at all": ("05", [("    os.setsid()\n    fcntl.ioctl(0, termios."
                                               "TIOCSCTTY, 0)", "    pass")],
                                       "take_terminal, prompt", "TIOCSCTTY"),
    "the terminal not raw": ("05", [("        tty.setraw(0)", "        pass")],
                             "relay, Ctrl-C", "tty.setraw(0)"),
    "the terminal not restored": ("05", [("            termios.tcsetattr(0, termios.TCSAFLUSH,"
                                          " saved)", "            pass")],
                                  "relay, terminal", "termios.tcsetattr"),
    "the output not relayed": ("05", [("                os.write(1, data)",
                                       "                pass")], "relay, prompt",
                               "relay() copies what the container writes"),
    "the wait status dropped": ("05", [("    _, status = os.waitpid(pid, 0)\n    return status",
                                        "    os.waitpid(pid, 0)\n    return 0")],
                                "relay, exit 3", "wait status"),
    # 06
    "no limit written": ("06", [(LIMIT, "        pass")],
                         "over the limit", "memory.max"),
    "the pid not moved in": ("06", [('    write(path, "cgroup.procs", pid)', "    pass")],
                             "cgroup", "cgroup.procs"),
    "the cgroup left when its limit is refused": (
        "06", [("        os.rmdir(path)  # no cgroup without its limit\n", ""),
               ("write(path, limit_file, limit)", "write(path, limit_file, \"lots\")")],
        "cgroup", "also when making it failed halfway"),
    "the cgroup not removed": ("06", [("    os.rmdir(path)\n", "    pass\n")],
                               "cgroup", "cgroup_destroy"),
    # 07
    "joined with spaces": ("07", [(SEND, '        pipe.write(os.fsencode(" ".join(command)))')],
                           "arguments", "NUL byte"),
    "split on spaces": ("07", [(SPLIT, '    return os.fsdecode(data).replace("\\0", " ")'
                                       '.split()')], "arguments", "NUL"),
    "empty arguments dropped": ("07", [(SPLIT, '    return [os.fsdecode(a) for a in '
                                               'data.split(b"\\0") if a]')],
                                "arguments", "keep empty arguments"),
    "bytes decoded as ASCII": ("07", [(SPLIT, '    return [a.decode("ascii", "replace") for a'
                                              ' in data.split(b"\\0")[:-1]]')],
                               "arguments", "NUL"),
}

NEEDS_CGROUPS = {"the cgroup made after the command runs", "the cgroup never removed",
                 "the cgroup left when its limit is refused",
                 "no limit written", "the pid not moved in", "the cgroup not removed"}


def mutate(number, replacements):
    code = source.reference_source(number)
    changed = False
    for old, new in replacements:
        if old in code:
            code = code.replace(old, new)
            changed = True
    assert changed, "the reference's piece %s no longer holds %r" % (number, replacements[0][0])
    return code


@pytest.mark.parametrize("name", MUTANTS)
def test_the_check_of_its_piece_catches_it(name, seeded, target):
    number, replacements, step, hint = MUTANTS[name]
    if name in NEEDS_CGROUPS:
        try:
            memory_hierarchy_usable()
        except Skipped as why:
            pytest.skip("needs a memory cgroup (root: ./run-tests): %s" % why)
    path = seeded([(number, mutate(number, replacements))])
    verdict = myrun.check(number, target, path)
    assert verdict.state == "fail", verdict.text()
    assert verdict.step == step, verdict.text()
    assert hint in verdict.hint, verdict.text()
    assert "Traceback" not in verdict.message


@pytest.mark.parametrize("name", ["the terminal not raw", "the terminal not restored"])
def test_terminal_mutants_are_caught_over_ssh(name, seeded, ssh_target):
    """Over ssh (the VM's way) myrun's terminal is the remote pty: the check reads it there."""
    number, replacements, step, hint = MUTANTS[name]
    verdict = myrun.check(number, ssh_target, seeded([(number, mutate(number, replacements))]))
    assert (verdict.state, verdict.step) == ("fail", step), verdict.text()
    assert hint in verdict.hint, verdict.text()


def test_every_mutant_changes_code_the_reference_has():
    for name, (number, replacements, _, _) in MUTANTS.items():
        assert mutate(number, replacements) != source.reference_source(number), name


def test_mutants_are_caught_rootless_too(seeded, nobody):
    """(test_rootless.py runs the reference as nobody; these mutants, too.)"""
    for name in ("/ not made private", "MS_NODEV missing", "no wait",
                 "the exit status dropped (always 0)", "CLONE_NEWNET missing",
                 "the terminal not restored", "argv split on spaces"):
        number, replacements, step, hint = MUTANTS[name]
        verdict = myrun.check(number, nobody, seeded([(number, mutate(number, replacements))],
                                                       name="m%d" % len(name)))
        assert (verdict.state, verdict.step) == ("fail", step), verdict.text()


def test_a_runtime_without_new_namespaces_leaves_the_machine_alone(seeded, target, nobody):
    """No CLONE_NEWNS: its init mounts a proc on /proc; no CLONE_NEWUTS: `hostname other`
    renames the host... here, the check's sandbox. The machine's mounts and name stay what
    they were, and the checks say what is wrong."""
    from support import target_host_state
    from mydocker_lab.lab.myrun.terminal import drive
    others = [(n, source.reference_source(n)) for n in ("02", "03", "04", "05", "06", "07")]
    forked = seeded(others + [("01", mutate("01", [("linux.clone(running().CLONE_FLAGS)",
                                                    "os.fork()")]))], name="forked")
    no_uts = seeded(others + [("01", mutate("01", [("linux.CLONE_NEWUTS | ", "")]))],
                    name="no-uts")
    # as root, the fork runs and shares every namespace; rootless, the kernel refuses its
    # proc mount (the host's PID namespace is not the user namespace's to mount)
    for t, step in ((target, "namespaces"), (nobody, "start")):
        before = target_host_state(t)
        assert myrun.check("01", t, forked).step == step
        final = myrun.final_check(t, forked)
        assert not final.ok and "fails the check of piece 01 at %s" % step in final.message
        step = drive(t, open(no_uts).read(), "work/myrun.py")
        assert step is not None and step.step == "hostname", step and step.message
        assert target_host_state(t) == before
