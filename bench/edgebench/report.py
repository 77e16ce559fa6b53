"""The results of one run: a table (min / median / max per side, ours/peer ratio, target),
JSON, Markdown and a gnuplot PNG of throughput and latency."""

import json
import os
import shutil
import statistics
import subprocess


def _fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10 or v == int(v):
        return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    return f"{v:.2f}"


def _trio(values):
    if not values:
        return "-"
    if len(values) == 1:
        return _fmt(values[0])
    return f"{_fmt(min(values))} / {_fmt(statistics.median(values))} / {_fmt(max(values))}"


def rows(results):
    """One row per (scenario, metric): ours, peer or ref values, the ratio of medians."""
    out = []
    for r in results:
        ours = r["values"].get("ours", [])
        other_side = "peer" if r["values"].get("peer") else "ref"
        other = r["values"].get(other_side, [])
        ratio = None
        if ours and other and statistics.median(other):
            ratio = statistics.median(ours) / statistics.median(other)
        out.append({"scenario": r["scenario"], "metric": r["metric"], "unit": r["unit"],
                    "ours": _trio(ours), "other": _trio(other),
                    "other_side": other_side if other else "",
                    "ratio": f"{ratio:.2f}x" if ratio is not None else "",
                    "target": r.get("target") or ""})
    return out


HEAD = ("scenario", "metric", "unit", "ours min/med/max", "peer|ref min/med/max", "ours/peer",
        "target (reported)")


def table(results):
    lines = []
    data = [(r["scenario"], r["metric"], r["unit"], r["ours"],
             (f"{r['other_side']}: {r['other']}" if r["other_side"] else "-"), r["ratio"],
             r["target"]) for r in rows(results)]
    widths = [max(len(str(x)) for x in col) for col in zip(HEAD, *data)]
    for i, row in enumerate([HEAD] + data):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(meta, results, notes, failures):
    md = [f"# Benchmark results {meta['date']}", "",
          f"`{meta['command']}` on {meta['host']} ({meta['cpus']} CPUs), commit "
          f"`{meta['commit']}`, {'quick' if meta['quick'] else 'full'} run, "
          f"{meta['reps']} repetition(s), {meta['seconds']:.0f} s.", "",
          "Values are min / median / max over the repetitions; the ratio is ours / peer "
          "(or ours / reference) of the medians. Targets are reported, never asserted.", "",
          "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for r in rows(results):
        other = f"{r['other_side']}: {r['other']}" if r["other_side"] else "-"
        md.append(f"| {r['scenario']} | {r['metric']} | {r['unit']} | {r['ours']} | {other} | "
                  f"{r['ratio']} | {r['target']} |")
    if notes:
        md += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    md += ["", "## Failures", ""] + ([f"- {f}" for f in failures] or ["none"])
    if meta.get("plot"):
        md += ["", f"![throughput and latency]({os.path.basename(meta['plot'])})"]
    return "\n".join(md) + "\n"


def plot(results, png):
    """Two panels: throughput (events/s) and latency (ms), ours vs peer medians."""
    if shutil.which("gnuplot") is None:
        return None
    def series(unit):
        out = []
        for r in results:
            if r["unit"] != unit:
                continue
            ours = r["values"].get("ours")
            peer = r["values"].get("peer") or r["values"].get("ref")
            out.append((f"{r['scenario'][:1]}: {r['metric']}".replace('"', "'")[:48],
                        statistics.median(ours) if ours else 0,
                        statistics.median(peer) if peer else 0))
        return out
    base = png[:-4]
    panels = []
    for unit, title in (("ev/s", "throughput (events/s, median)"),
                        ("ms", "latency (ms, median)")):
        s = series(unit)
        if not s:
            continue
        dat = f"{base}.{unit.replace('/', '')}.dat"
        with open(dat, "w") as f:
            for label, ours, peer in s:
                f.write(f'"{label}" {ours} {peer}\n')
        panels.append((dat, title, len(s)))
    if not panels:
        return None
    script = [f"set terminal pngcairo size 1400,{420 * len(panels) + 200} font ',9'"
              if _has_cairo() else f"set terminal png size 1400,{420 * len(panels) + 200}",
              f"set output '{png}'", f"set multiplot layout {len(panels)},1",
              "set style data histograms", "set style histogram clustered gap 1",
              "set style fill solid 0.8 border -1", "set grid ytics", "set key top right",
              "set xtics rotate by -30 left", "set bmargin 12", "set rmargin 14",
              "set logscale y"]
    for dat, title, _ in panels:
        script += [f"set title '{title}'",
                   f"plot '{dat}' using 2:xtic(1) title 'ours' lc rgb '#1f77b4', "
                   f"'' using 3 title 'peer / reference' lc rgb '#ff7f0e'"]
    script.append("unset multiplot")
    gp = f"{base}.gp"
    with open(gp, "w") as f:
        f.write("\n".join(script) + "\n")
    out = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    for dat, _, _ in panels:
        os.unlink(dat)
    os.unlink(gp)
    return png


def _has_cairo():
    out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (out.stdout + out.stderr)


def write_json(path, meta, results, notes, failures):
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": results, "notes": notes, "failures": failures}, f,
                  indent=1)
