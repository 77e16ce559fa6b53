"""One line per fault run for the reliability report (docs/reliability.md).

Every fault test calls record() once per fault it exercised, with counts it measured (never
constants). When EDGE_FAULT_REPORT names a file, the record is appended to it as one JSON line;
scripts/reliability-report runs the fault suite with it set and rewrites the table from it.
Without it (a plain ctest run) the record is only printed."""

import json
import os
import sys

MODE_LONG = os.environ.get("EDGE_FAULT_LONG", "") == "1"


def scale(default, long):
    """The count a loop runs: `default` in the default test run, `long` with EDGE_FAULT_LONG=1."""
    return long if MODE_LONG else default


def record(fault, tried, acked, delivered, lost, duplicates, detail=""):
    """fault: short name ("gateway SIGKILL during ingest and forward"); tried: how many times
    the fault was injected; acked: events acked Ok to devices; delivered: unique events the
    subscriber received; lost: acked events never delivered (must be 0); duplicates: deliveries
    beyond the first; detail: anything else worth a column note (corrupt frames counted...)."""
    line = {"fault": fault, "mode": "long" if MODE_LONG else "default", "tried": tried,
            "acked": acked, "delivered": delivered, "lost": lost, "duplicates": duplicates,
            "detail": detail}
    print("fault-report " + json.dumps(line), file=sys.stderr)
    path = os.environ.get("EDGE_FAULT_REPORT", "")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
