"""The benchmark harness behind bench/run: processes (procs), scenarios, report."""
