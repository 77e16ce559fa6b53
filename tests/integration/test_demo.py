"""The demo (scripts/demo.py, README's first command) in its short CI mode: two host-sim devices
and the QEMU lm3s6965evb board through a real gateway to a Mosquitto it starts, with a broker
outage in the middle. Its closing JSON summary must show every produced event received, no gap,
nothing dropped, and a backlog that really built up while the broker was down. Run by the
lm3s6965evb preset's ctest (it needs the host build and the firmware image)."""

import json
import os
import subprocess
import sys
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class Demo(unittest.TestCase):
    def test_short_demo_loses_nothing_across_a_broker_outage(self):
        elf = os.environ.get("EDGE_FIRMWARE_ELF", "")
        build = os.environ.get("EDGE_HOST_BUILD", "")
        for path in (elf, os.path.join(build, "gateway", "edge-gatewayd")):
            if not os.path.isfile(path):
                raise AssertionError(f"missing {path!r}: set EDGE_FIRMWARE_ELF and EDGE_HOST_BUILD")
        out = subprocess.run(
            [sys.executable, os.path.join(ROOT, "scripts", "demo.py"), "--duration", "20",
             "--devices", "2", "--build", build, "--qemu-elf", elf],
            capture_output=True, text=True, timeout=240, env=dict(os.environ, NO_COLOR="1"))
        lines = out.stdout.splitlines()
        summaries = [json.loads(l) for l in lines if l.startswith("{")]
        self.assertTrue(summaries, f"no summary; exit {out.returncode}\n{out.stdout[-3000:]}"
                                   f"\n{out.stderr[-3000:]}")
        s = summaries[-1]
        context = f"{s}\n" + "\n".join(lines[-25:])
        self.assertEqual(out.returncode, 0, context)
        self.assertTrue(s["ok"], context)
        self.assertGreater(s["produced"], 100, context)
        self.assertEqual(s["received"], s["produced"], context)
        self.assertEqual(s["acked"], s["produced"], context)
        self.assertEqual(s["gaps"], 0, context)
        self.assertEqual(s["dropped"], 0, context)
        self.assertEqual(s["lost"], 0, context)
        self.assertGreater(s["backlog"], 20, "the outage built a backlog: " + context)
        self.assertGreaterEqual(s["forwarded"], s["produced"], context)
        # The run is readable: events, the outage and its recovery are on screen.
        text = out.stdout
        for marker in ("broker DOWN", "broker UP again", "received  device", "summary"):
            self.assertIn(marker, text)
        print("\n" + "\n".join(l for l in lines if l.startswith("[") and "  " in l)[-2000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
