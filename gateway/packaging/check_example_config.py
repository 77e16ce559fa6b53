#!/usr/bin/env python3
"""The example config and docs/configuration.md must never drift: every key the example sets
is documented in the ```toml blocks of the page, and every key documented there is in the
example (so the example really shows every key).

    check_example_config.py gateway.example.toml docs/configuration.md

Keys are compared as dotted paths: "buffer.max_bytes", "ingest.tcp.listen",
"upstream.tls.verify". A key line is `name = value` at the start of a line, optionally
commented out with '#'; explanatory comments never start that way."""

import re
import sys

TABLE = re.compile(r"^\s*#?\s*\[\[?([a-z_.]+)\]\]?")
KEY = re.compile(r"^\s*#?\s*([a-z_]+)\s*=\s*\S")


def keys_of(lines):
    keys = set()
    table = ""
    for line in lines:
        m = TABLE.match(line)
        if m:
            table = m.group(1)
            continue
        m = KEY.match(line)
        if m:
            keys.add(f"{table}.{m.group(1)}" if table else m.group(1))
    return keys


def toml_blocks(markdown):
    lines, inside = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```toml"
            continue
        if inside:
            lines.append(line)
    return lines


def main():
    example_path, docs_path = sys.argv[1], sys.argv[2]
    with open(example_path) as f:
        example = keys_of(f.read().splitlines())
    with open(docs_path) as f:
        documented = keys_of(toml_blocks(f.read()))
    ok = True
    for key in sorted(example - documented):
        print(f"{docs_path}: key {key} is in {example_path} but not documented", file=sys.stderr)
        ok = False
    for key in sorted(documented - example):
        print(f"{example_path}: documented key {key} is missing from the example", file=sys.stderr)
        ok = False
    if ok:
        print(f"{len(example)} keys, the same in both")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
