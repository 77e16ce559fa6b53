#!/usr/bin/env python3
"""Checks a linked firmware ELF against the board descriptor it was built for.

    check_image.py --board-json board.json [--set key.path=value ...] image.elf

Reads the ELF's program and section headers directly (no binutils needed) and checks:
  - the vector table (.vectors) sits at the start of memory.flash;
  - its initial stack pointer lies in memory.ram (top inclusive) and is 8-byte aligned;
  - its reset vector is a Thumb address (odd) inside the flash region and is the ELF entry;
  - every other handler it names is a Thumb address inside the flash region;
  - everything stored in flash (code, constants, .data's initial values) lies in memory.flash;
  - everything in RAM (.data, .bss) lies in memory.ram;
  - no section overlaps the config_store sectors, by run or load address.
--set overrides a descriptor value (memory.ram.origin=0x10000000), which is how ctest proves
each check can fail. Exit status: 0 all checks pass, 1 a check failed, 2 bad input.
"""
import argparse
import json
import struct
import sys

SHF_ALLOC = 0x2
PT_LOAD = 1
SHT_NOBITS = 8


def number(text):
    """'256K' -> 262144, '0x08000000' -> 134217728, 84000000 -> 84000000."""
    if isinstance(text, int):
        return text
    text = text.strip()
    if text.upper().endswith("K"):
        return int(text[:-1], 0) * 1024
    if text.upper().endswith("M"):
        return int(text[:-1], 0) * 1024 * 1024
    return int(text, 0)


def read_elf(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise ValueError(f"{path}: not a 32-bit little-endian ELF file")
    (e_type, e_machine, _, e_entry, e_phoff, e_shoff, _, _, e_phentsize, e_phnum, e_shentsize,
     e_shnum, e_shstrndx) = struct.unpack_from("<HHIIIIIHHHHHH", data, 16)
    if e_machine != 40:
        raise ValueError(f"{path}: not an ARM ELF (e_machine {e_machine})")
    segments = []
    for i in range(e_phnum):
        p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, _, _ = struct.unpack_from(
            "<IIIIIIII", data, e_phoff + i * e_phentsize)
        if p_type == PT_LOAD:
            segments.append(dict(offset=p_offset, vaddr=p_vaddr, paddr=p_paddr,
                                 filesz=p_filesz, memsz=p_memsz))
    raw = []
    for i in range(e_shnum):
        raw.append(struct.unpack_from("<IIIIIIIIII", data, e_shoff + i * e_shentsize))
    strtab_offset = raw[e_shstrndx][4]

    def name(offset):
        end = data.index(b"\0", strtab_offset + offset)
        return data[strtab_offset + offset:end].decode()

    sections = []
    for sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, *_ in raw:
        if sh_flags & SHF_ALLOC and sh_size > 0:
            sections.append(dict(name=name(sh_name), addr=sh_addr, size=sh_size,
                                 offset=sh_offset, nobits=sh_type == SHT_NOBITS))
    return data, e_entry, segments, sections


def load_address(section, segments):
    """Where a section's bytes are stored (its LMA): .data is run in RAM but stored in flash."""
    for seg in segments:
        if seg["vaddr"] <= section["addr"] < seg["vaddr"] + max(seg["memsz"], 1):
            return section["addr"] - seg["vaddr"] + seg["paddr"]
    return section["addr"]


def overlaps(start, size, region_start, region_size):
    return start < region_start + region_size and region_start < start + size


def inside(start, size, region_start, region_size):
    return region_start <= start and start + size <= region_start + region_size


def apply_override(board, assignment):
    path, _, value = assignment.partition("=")
    keys = path.split(".")
    node = board
    for key in keys[:-1]:
        node = node[key]
    if keys[-1] not in node:
        raise KeyError(f"--set {assignment}: {path} is not in the descriptor")
    node[keys[-1]] = value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board-json", required=True)
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE")
    parser.add_argument("elf")
    args = parser.parse_args()
    try:
        with open(args.board_json) as f:
            board = json.load(f)
        for assignment in args.set:
            apply_override(board, assignment)
        flash = (number(board["memory"]["flash"]["origin"]),
                 number(board["memory"]["flash"]["length"]))
        ram = (number(board["memory"]["ram"]["origin"]), number(board["memory"]["ram"]["length"]))
        config = None
        if "config_store" in board and board["config_store"].get("kind") == "flash":
            config = (number(board["config_store"]["origin"]),
                      number(board["config_store"]["length"]))
        data, entry, segments, sections = read_elf(args.elf)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        print(f"check_image: error: {e}", file=sys.stderr)
        return 2

    failures = []

    def check(ok, what):
        print(f"check_image: {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(what)

    # The vector table: its bytes as stored in the file.
    vectors = next((s for s in sections if s["name"] == ".vectors"), None)
    check(vectors is not None and vectors["addr"] == flash[0] and vectors["size"] >= 64,
          f"vector table at the flash origin 0x{flash[0]:08x} "
          f"({'missing' if vectors is None else hex(vectors['addr'])}, at least 16 entries)")
    if vectors is None:
        return 1
    count = vectors["size"] // 4
    words = struct.unpack_from(f"<{count}I", data, vectors["offset"])
    sp, reset = words[0], words[1]
    check(ram[0] < sp <= ram[0] + ram[1] and sp % 8 == 0,
          f"initial SP 0x{sp:08x} inside RAM 0x{ram[0]:08x}..0x{ram[0] + ram[1]:08x}, 8-aligned")
    check(reset & 1 == 1 and inside(reset & ~1, 2, *flash) and reset & ~1 == entry & ~1,
          f"reset vector 0x{reset:08x} is Thumb, inside flash, and the ELF entry 0x{entry:08x}")
    bad = [f"{i}:0x{w:08x}" for i, w in enumerate(words[2:], start=2)
           if w != 0 and not (w & 1 and inside(w & ~1, 2, *flash))]
    check(not bad, f"all {count - 2} other vectors are 0 or Thumb handlers inside flash"
                   + (f" (bad: {', '.join(bad[:5])})" if bad else ""))

    # What is stored in flash, and what runs in RAM.
    flash_end = flash[0]
    for seg in segments:
        if seg["filesz"] > 0:
            check(inside(seg["paddr"], seg["filesz"], *flash),
                  f"stored segment 0x{seg['paddr']:08x}+0x{seg['filesz']:x} inside flash "
                  f"0x{flash[0]:08x}+0x{flash[1]:x}")
            flash_end = max(flash_end, seg["paddr"] + seg["filesz"])
    ram_used = 0
    for s in sections:
        if inside(s["addr"], s["size"], *ram):
            ram_used += s["size"]
        elif not inside(s["addr"], s["size"], *flash):
            check(False, f"section {s['name']} 0x{s['addr']:08x}+0x{s['size']:x} is neither "
                         "in flash nor in RAM")
        if config is not None:
            lma = load_address(s, segments)
            clash = overlaps(s["addr"], s["size"], *config) or (
                not s["nobits"] and overlaps(lma, s["size"], *config))
            if clash:
                check(False, f"section {s['name']} (0x{s['addr']:08x}, stored at 0x{lma:08x}, "
                             f"0x{s['size']:x} bytes) overlaps the config sectors "
                             f"0x{config[0]:08x}+0x{config[1]:x}")
    if config is not None:
        check(not overlaps(flash[0], flash_end - flash[0], *config),
              f"image 0x{flash[0]:08x}..0x{flash_end:08x} clear of the config sectors "
              f"0x{config[0]:08x}..0x{config[0] + config[1]:08x}")
    used = flash_end - flash[0]
    check(used <= flash[1], f"image size {used} bytes within the flash region ({flash[1]} bytes)")
    print(f"check_image: flash {used} / {flash[1]} bytes ({100.0 * used / flash[1]:.1f} %), "
          f"RAM {ram_used} / {ram[1]} bytes (.data + .bss), {count} vectors")
    if failures:
        print(f"check_image: FAILED: {len(failures)} check(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
