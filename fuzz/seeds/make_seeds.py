#!/usr/bin/env python3
"""Regenerates the seed corpora from tests/fixtures/samples/posts.

pipeline/<name>.body  the sample body, copied as is (octet-counted, as Logplex POSTs it).
framed/<name>.lines   the same messages, one per line, without length prefixes: the input
                      format of the `framed` target. A message sent without a trailing LF
                      (Logplex's own L10 line) gets one, since LF separates the messages.

Run from anywhere: python3 fuzz/seeds/make_seeds.py
"""
import pathlib
import re

SEEDS = pathlib.Path(__file__).resolve().parent
POSTS = SEEDS.parent.parent / "tests" / "fixtures" / "samples" / "posts"
NAMES = [
    "01_typical_mixed",
    "02_l10_overflow_prepended",
    "03_deploy_lifecycle",
    "04_runtime_metrics_r14",
    "08_long_line_split",
]
PREFIX = re.compile(rb"[\r\n ]*([1-9][0-9]{0,8}) ")


def messages(body):
    """Splits an octet-counted body into its messages."""
    pos = 0
    while True:
        match = PREFIX.match(body, pos)
        if not match:
            break
        start = match.end()
        end = start + int(match.group(1))
        yield body[start:end]
        pos = end


for name in NAMES:
    body = (POSTS / f"{name}.body").read_bytes()
    (SEEDS / "pipeline" / f"{name}.body").write_bytes(body)
    lines = b"".join(m if m.endswith(b"\n") else m + b"\n" for m in messages(body))
    (SEEDS / "framed" / f"{name}.lines").write_bytes(lines)
