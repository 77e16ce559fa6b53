"""edge-gatewayd itself under valgrind's memcheck: start with a TCP link, the metrics endpoint and
forwarding to a real Mosquitto; two edge-devsim devices send their events; the buffer drains
upstream; SIGTERM. The daemon must exit 0 with no memory error and no leak (definite or
indirect), and every event must have been forwarded. edge-soak covers the hour; this covers what
only the daemon has (event loop, signalfd, link sessions, metrics server, config, shutdown).

Run by ctest (soak.daemon_valgrind) with EDGE_VALGRIND and the programs' paths set."""

import os
import shutil
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Gateway, GatewayTestCase, Mosquitto, binary, free_port, stats, wait_for  # noqa: E402

# Events per device: enough to run every path a few hundred times, little enough for memcheck.
EVENTS_PER_DEVICE = 300
DEVICES = 2
# Memcheck runs the daemon some 20-50 times slower: its start, and its exit with the leak check.
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
VALGRIND_ERROR_EXIT = 99  # not one of the daemon's own statuses (0, 1, 2)


def valgrind():
    path = os.environ.get("EDGE_VALGRIND") or shutil.which("valgrind")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError("valgrind not installed (Debian package valgrind; scripts/setup "
                             "installs it)")
    return path


class MemcheckGateway(Gateway):
    """edge-gatewayd under memcheck; its report goes to valgrind.log in the work directory."""

    def __init__(self, workdir, args):
        super().__init__(workdir, args)
        self.valgrind_log = os.path.join(workdir, "valgrind.log")

    def start(self):
        ready = os.path.join(self.workdir, "ready.json")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [valgrind(), "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                 f"--error-exitcode={VALGRIND_ERROR_EXIT}", f"--log-file={self.valgrind_log}",
                 binary("edge-gatewayd"), "--state-dir", self.state_dir, "--ready-file", ready]
                + self.args, stdout=log, stderr=log)
        wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not None, START_TIMEOUT_S,
                 "the gateway under valgrind to be ready")
        if self.proc.poll() is not None:
            raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log()}\n"
                                 f"{self.report()}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.proc.returncode if self.proc else None

    def report(self):
        if not os.path.exists(self.valgrind_log):
            return "(no valgrind log)"
        with open(self.valgrind_log, errors="replace") as f:
            return f.read()


class DaemonUnderMemcheck(GatewayTestCase):
    def test_devices_forwarding_metrics_and_sigterm_leave_no_leak(self):
        broker = Mosquitto(self.workdir).start()
        self.addCleanup(broker.stop)
        port = free_port()
        metrics_port = free_port()
        gw = MemcheckGateway(self.workdir, [
            "--tcp", f"127.0.0.1:{port}", "--mqtt", f"tcp://127.0.0.1:{broker.port}",
            "--metrics", f"127.0.0.1:{metrics_port}"])
        self.gateways.append(gw)
        gw.start()
        sims = [self.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0x700 + i), "--count", str(EVENTS_PER_DEVICE),
                            "--exit-when-acked", "--timeout-s", "120")
                for i in range(DEVICES)]
        for sim in sims:
            self.assertEqual(sim.wait(150), 0, self.explain(sim))
        acked = sum(len(sim.acked()) for sim in sims)
        self.assertEqual(acked, DEVICES * EVENTS_PER_DEVICE)
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 60, "the buffer to drain upstream")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30) as r:
            metrics = r.read().decode()
        self.assertIn("edge_", metrics)

        status = gw.stop()
        report = gw.report()
        self.assertIn("ERROR SUMMARY: 0 errors", report, report[-6000:])
        self.assertEqual(status, 0, f"exit {status}\n{gw.log()[-3000:]}\n{report[-6000:]}")
        forwarded = stats(gw.state_dir)["counters"].get("forwarded", 0)
        self.assertEqual(forwarded, acked, "every acked event was forwarded before the stop")
        print(f"\nmemcheck: {acked} events, daemon exit {status}; "
              + next((l.split("==", 2)[-1].strip() for l in report.splitlines()
                      if "in use at exit" in l), "in use at exit: ?"))


if __name__ == "__main__":
    unittest.main()
