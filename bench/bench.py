"""bench/run: the benchmarks of issue 8 (docs/benchmarks.md). Run through bench/run, which
builds the release preset first."""

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, HERE)

from edgebench import report, scenarios  # noqa: E402
from edgebench.procs import BIN  # noqa: E402

BINARIES = {"edge-gatewayd": "gateway/edge-gatewayd", "edgectl": "gateway/edgectl",
            "edge-devsim": "tests/devsim/edge-devsim",
            "edge-bench-lmdb-raw": "bench/edge-bench-lmdb-raw",
            "edge-bench-peer-publisher": "bench/edge-bench-peer-publisher",
            "edge-bench-encode-frame": "bench/edge-bench-encode-frame",
            "edge-bench-sizing": "bench/edge-bench-sizing"}


class Run:
    def __init__(self, args, workdir):
        self.quick = args.quick
        self.reps = args.reps or (1 if args.quick else 3)
        self.full_10m = args.ten_million
        self.workdir = workdir
        self.root = ROOT
        self.results = []
        self.notes = []
        self.failures = []

    def size(self, quick, full):
        return quick if self.quick else full

    def record(self, scenario, metric, unit, side, value, target=None):
        for r in self.results:
            if r["scenario"] == scenario and r["metric"] == metric:
                break
        else:
            r = {"scenario": scenario, "metric": metric, "unit": unit, "values": {},
                 "target": target}
            self.results.append(r)
        r["values"].setdefault(side, []).append(round(float(value), 4))
        if target and not r.get("target"):
            r["target"] = target

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def fail(self, text):
        print(f"bench: FAILURE: {text}", file=sys.stderr)
        self.failures.append(text)


def main():
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, 1 repetition, < 3 min")
    p.add_argument("--out", help="results folder (default: bench/results for a full run, a "
                   "temporary folder for --quick)")
    p.add_argument("--only", help="comma-separated scenarios: " +
                   ",".join(name for name, _ in scenarios.ALL))
    p.add_argument("--reps", type=int, help="repetitions (default 3, --quick 1)")
    p.add_argument("--ten-million", action="store_true",
                   help="full run: also hold 10,000,000 events in the resources scenario")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = p.parse_args()

    for name, rel in BINARIES.items():
        path = os.path.join(args.build_dir, rel)
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing: build the release preset (bench/run does)")
        BIN[name] = path
    if shutil.which("mosquitto") is None:
        sys.exit("bench: mosquitto not installed (scripts/setup)")
    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - {name for name, _ in scenarios.ALL}
    if unknown:
        sys.exit(f"bench: unknown scenario(s) {','.join(sorted(unknown))}")

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="edge-bench-", dir=os.environ.get("EDGE_BENCH_TMP"))
    run = Run(args, workdir)
    crashed = []
    for name, fn in scenarios.ALL:
        if wanted and name not in wanted:
            continue
        t0 = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        try:
            fn(run)
        except Exception:  # noqa: BLE001 - one scenario's crash must not hide the others
            crashed.append(name)
            run.fail(f"scenario {name} crashed:\n{traceback.format_exc()}")
        print(f"bench: {name} done in {time.monotonic() - t0:.1f} s", file=sys.stderr,
              flush=True)

    now = datetime.datetime.now()
    out = args.out or (os.path.join(HERE, "results") if not args.quick
                       else tempfile.mkdtemp(prefix="edge-bench-results-"))
    os.makedirs(out, exist_ok=True)
    stamp = now.strftime("%Y-%m-%d") if not args.quick else now.strftime("%Y-%m-%d-quick")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True,
                           text=True).stdout.strip()
    meta = {"date": now.isoformat(timespec="seconds"), "quick": args.quick, "reps": run.reps,
            "command": "bench/run " + " ".join(sys.argv[1:]), "host": platform.node(),
            "cpus": os.cpu_count(), "commit": commit + ("+dirty" if dirty else ""),
            "kernel": platform.release(), "seconds": time.monotonic() - started,
            "crashed": crashed}
    meta["plot"] = report.plot(run.results, os.path.join(out, f"{stamp}.png"))
    report.write_json(os.path.join(out, f"{stamp}.json"), meta, run.results, run.notes,
                      run.failures)
    with open(os.path.join(out, f"{stamp}.md"), "w") as f:
        f.write(report.markdown(meta, run.results, run.notes, run.failures))

    print(report.table(run.results))
    for n in run.notes:
        print(f"note: {n}")
    print(f"\nresults: {os.path.join(out, stamp)}.{{json,md" + (",png}" if meta["plot"] else "}"))
    print(f"bench: {time.monotonic() - started:.0f} s, {len(run.failures)} failure(s)"
          + (f", crashed: {','.join(crashed)}" if crashed else ""))
    if args.keep or run.failures:
        print(f"bench: work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
