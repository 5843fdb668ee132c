"""`run`'s options, parsed as docker's flag parser (spf13/pflag) parses them: fast, no process."""
import pytest

from mydocker_lab.cli import UsageError, parse_run


def parsed(*args):
    opts = parse_run(list(args) + ["sh"], {"log_level": "info", "log_format": "json"})
    return {"i": opts.interactive, "t": opts.tty, "env": opts.env, "limits": opts.limits,
            "hostname": opts.hostname, "rootless": opts.rootless, "command": opts.command}


@pytest.mark.parametrize("args, wanted", [
    # environment: every spelling docker accepts
    (["-e", "K=V"], {"env": ["K=V"]}),
    (["-eK=V"], {"env": ["K=V"]}),
    (["-e=K=V"], {"env": ["K=V"]}),          # bug 9: was "=K=V", an invalid variable
    (["--env", "K=V"], {"env": ["K=V"]}),
    (["--env=K=V"], {"env": ["K=V"]}),
    (["-e", "A=1", "--env=B=2", "-eC"], {"env": ["A=1", "B=2", "C"]}),
    # memory
    (["-m", "64m"], {"limits": {"memory": "64m"}}),
    (["-m64m"], {"limits": {"memory": "64m"}}),
    (["-m=64m"], {"limits": {"memory": "64m"}}),  # bug 9: was "=64m"
    (["--memory=64m"], {"limits": {"memory": "64m"}}),
    # booleans: a value after =, Go's strconv.ParseBool spellings
    (["--tty=true"], {"t": True}),           # bug 9: was "unknown flag"
    (["--tty=false"], {"t": False}),
    (["-t=false"], {"t": False}),
    (["-t=1", "--interactive=T"], {"t": True, "i": True}),
    (["--tty", "--tty=FALSE"], {"t": False}),
    (["-it"], {"i": True, "t": True}),
    (["-ti"], {"i": True, "t": True}),
    (["-it=true"], {"i": True, "t": True}),  # '=' gives its value to the letter before it
    (["-ti=false"], {"t": True, "i": False}),
    (["-ie", "K=V"], {"i": True, "env": ["K=V"]}),  # a letter with a value ends the word
    (["-ei"], {"env": ["i"]}),
    (["--rootless"], {"rootless": True}),
    (["--rootless=false"], {"rootless": False}),
    # the rest
    (["--hostname", "box"], {"hostname": "box"}),
    (["--hostname=box"], {"hostname": "box"}),
    (["-cpushare", "512", "-cpuset=0", "--cpus", "0.5"],  # the book's Go spellings too
     {"limits": {"cpu-shares": "512", "cpuset-cpus": "0", "cpus": "0.5"}}),
    (["--", "-x"], {"command": ["-x", "sh"]}),
    (["-"], {"command": ["-", "sh"]}),
])
def test_docker_spellings(args, wanted):
    got = parsed(*args)
    defaults = {"i": False, "t": False, "env": [], "limits": {}, "hostname": None,
                "rootless": None, "command": ["sh"]}
    assert got == dict(defaults, **wanted)


def test_options_stop_at_the_command():
    assert parse_run(["-t", "sh", "-c", "ls -l", "-i"], {}).command == ["sh", "-c", "ls -l", "-i"]


@pytest.mark.parametrize("args, message", [
    (["-t=yes"], 'invalid argument \'yes\' for "-t, --tty" flag: want true or false'),
    (["--tty=on"], 'invalid argument \'on\' for "--tty" flag: want true or false'),
    (["-it=true=x"], "invalid argument 'true=x'"),
    (["-t="], "unknown shorthand flag: '=' in -t="),
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["--bogus"], "unknown flag: --bogus"),
    (["--bogus=1"], "unknown flag: --bogus=1"),
    (["-e"], "flag needs an argument: -e"),
    (["--memory"], "flag needs an argument: --memory"),
])
def test_bad_flags_are_usage_errors(args, message):
    with pytest.raises(UsageError) as err:
        parse_run(args, {})
    assert message in str(err.value)


def test_help_and_a_missing_command():
    assert parse_run(["-t", "--help", "sh"], {}) is None
    with pytest.raises(UsageError, match='"run" requires at least 1 argument'):
        parse_run(["-t"], {})
