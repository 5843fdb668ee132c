"""Log records as logrus writes them (log.py): one line each, whatever the message holds."""
import json
import os

import pytest

from mydocker_lab.log import Logger


def emit(fmt, msg, **fields):
    r, w = os.pipe()
    try:
        Logger(fd=w, level="debug", fmt=fmt).info(msg, **fields)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        return f.read().decode()


@pytest.mark.parametrize("text, quoted", [
    ("plain", '"plain"'),
    ("echo a\necho b", r'"echo a\necho b"'),
    ('say "hi"\t\\', r'"say \"hi\"\t\\"'),
    ("\x00\x07\x08\x0b\x0c\r\x1b\x7f", r'"\x00\a\b\v\f\r\x1b\x7f"'),
    ("é ✓ 😀", '"é ✓ 😀"'),                       # printable: kept
    ("\u00a0\u2028\u200b", r'"\u00a0\u2028\u200b"'),  # spaces and format characters: not
    ("\U000e0001", r'"\U000e0001"'),
    (os.fsdecode(b"\xff\xfe"), r'"\xff\xfe"'),    # bytes that were not UTF-8
])
def test_go_quote_is_gos_percent_q(text, quoted):
    from mydocker_lab.log import go_quote
    assert go_quote(text) == quoted


def test_text_record_with_a_newline_stays_one_line():
    """Bug 13: `--log-format text run sh -c $'echo a\\necho b'` split one record in two."""
    line = emit("text", "command sh -c 'echo a\necho b'", step="init")
    assert line.count("\n") == 1 and line.endswith("\n")
    assert line.startswith("INFO[") and line[9:11] == "] "  # INFO[0003]: seconds since start
    assert line[11:].startswith('"command sh -c \'echo a\\necho b\'"')
    assert line.rstrip("\n").endswith("step=init")


def test_text_fields_are_quoted_as_logrus_quotes_them():
    line = emit("text", "hello world", step="init", path="/a/b-c_d.e@f^g+h", odd="x:y",
                empty="", tab="a\tb")
    assert line[11:].startswith("hello world ")  # a printable message stays bare
    fields = line.rstrip("\n").split(None, 3)[3].split(" ")
    assert "empty=" in fields and "path=/a/b-c_d.e@f^g+h" in fields and "step=init" in fields
    assert 'odd="x:y"' in fields and r'tab="a\tb"' in fields
    assert [f for f in fields if f.startswith("source=")][0].startswith('source="')


def test_json_record_escapes_control_characters():
    line = emit("json", "a\nb\x1b\x00\"\\", step="init")
    assert line.count("\n") == 1
    record = json.loads(line)
    assert record["msg"] == "a\nb\x1b\x00\"\\" and record["step"] == "init"
    assert list(record) == sorted(record)  # logrus: fields sorted by name
    assert set(record) == {"level", "msg", "source", "step", "time"}


def test_levels_below_the_threshold_are_dropped():
    r, w = os.pipe()
    logger = Logger(fd=w, level="warning")
    logger.info("no")
    logger.warning("yes")
    os.close(w)
    with os.fdopen(r) as f:
        assert [json.loads(line)["msg"] for line in f] == ["yes"]
