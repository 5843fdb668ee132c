"""common.py, the leaf both sides import: the runtime's log lines as records."""
from mydocker_lab.lab import common


def test_log_lines_become_records_and_other_lines_are_kept():
    stderr = ('{"level":"info","msg":"init come on","step":"init"}\n'
              'sh: 1: oops: not found\n\n'
              '{"level":"error","msg":"cannot mount /proc"}\n')
    records = common.log_records(stderr)
    assert records == [{"level": "info", "msg": "init come on", "step": "init"},
                       {"level": "?", "msg": "sh: 1: oops: not found"},
                       {"level": "error", "msg": "cannot mount /proc"}]
    # the runtime's errors; the container's own stderr is not one of them
    assert common.errors(records) == ["cannot mount /proc"]
    assert common.log_records("[1, 2]\n") == [{"level": "?", "msg": "[1, 2]"}]
