#!/usr/bin/env python3
"""Checks edge-gatewayd.service: the hardening it promises is there, and systemd itself accepts
the unit (`systemd-analyze verify`, which must be installed: scripts/setup installs systemd),
and the dedicated user it runs as is declared in edge-gateway.sysusers beside it.

    check_unit.py UNIT EDGE_GATEWAYD

verify runs on a copy whose /usr/bin/edge-gatewayd is the built daemon (verify refuses a unit
whose program does not exist). Any message from verify fails the check: it only warns about an
unknown or misspelt key, and a misspelt hardening key is hardening silently lost."""

import os
import shutil
import subprocess
import sys
import tempfile

# key -> the value it must have ("" for an empty assignment), or None for "present".
REQUIRED = {
    "User": "edge-gateway",
    "Group": "edge-gateway",
    "UMask": "0077",
    "SupplementaryGroups": "dialout",
    "StateDirectory": "edge-gateway",
    "StateDirectoryMode": "0700",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "Restart": "on-failure",
    "RestartPreventExitStatus": "2",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallFilter": None,
    "ExecStart": None,
}


def service_keys(path):
    keys = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def main():
    unit, daemon = sys.argv[1], sys.argv[2]
    problems = []
    keys = service_keys(unit)
    for key, want in REQUIRED.items():
        if key not in keys:
            problems.append(f"{key}= missing")
        elif want is not None and want not in keys[key]:
            problems.append(f"{key}= is {keys[key]!r}, expected {want!r}")

    # The dedicated user exists: edge-gateway.sysusers (beside the unit) declares the unit's
    # User= as a system user ("u NAME ...") and its SupplementaryGroups= memberships ("m").
    sysusers = os.path.join(os.path.dirname(os.path.abspath(unit)), "edge-gateway.sysusers")
    declared = set()
    if os.path.exists(sysusers):
        with open(sysusers) as f:
            declared = {tuple(line.split()[:3]) for line in f
                        if line.strip() and not line.startswith("#")}
    for user in keys.get("User", []):
        if not any(d[:2] == ("u", user) for d in declared):
            problems.append(f"User={user} is not declared in {sysusers} (u {user} ...)")
        for group in " ".join(keys.get("SupplementaryGroups", [])).split():
            if ("m", user, group) not in declared:
                problems.append(f"{sysusers}: no 'm {user} {group}' for SupplementaryGroups=")

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        problems.append("systemd-analyze not installed (Debian package systemd; scripts/setup)")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, os.path.basename(unit))
            with open(unit) as src, open(copy, "w") as dst:
                dst.write(src.read().replace("/usr/bin/edge-gatewayd", os.path.abspath(daemon)))
            out = subprocess.run([analyze, "verify", copy], capture_output=True, text=True)
            messages = (out.stdout + out.stderr).strip()
            if out.returncode != 0 or messages:
                problems.append(f"systemd-analyze verify (exit {out.returncode}):\n{messages}")

    for p in problems:
        print(f"{unit}: {p}", file=sys.stderr)
    if not problems:
        print(f"{unit}: ok ({len(REQUIRED)} required keys, systemd-analyze verify clean)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
