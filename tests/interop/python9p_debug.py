#!/usr/bin/env python3
"""A breakpoint, driven through /proc files alone by the PyPI package `python-9p`
(plan9port's C codec behind `py9p`): acid's sequence (docs/plan9-proc-9p.md §3) without
Glass's own client or debugger.

usage: python9p_debug.py ADDR PID BPADDR VARADDR VALUE

With the process Stopped (started hung): save the byte at BPADDR from `mem`, write int3
(0xCC) there, `startstop` through `ctl` (blocks until a note stops it), read the note and
`regs`, write the little-endian 32-bit VALUE at VARADDR through `mem`, put the saved byte
back and `start`. Prints one `key=value` line per observation for the test to check:
  state=   status field 3 before anything (Stopped for a hung process)
  note=    the note that stopped it (without its NUL)
  pc=      Ureg pc (offset 144) after the stop, hex
  type=    Ureg type (offset 128), the trap vector
  state2=  status field 3 after the stop
  wrote=   bytes written into VARADDR
On an Rerror: `error: <string>` and exit status 1.
"""

import os
import struct
import sys

import py9p

OWNER = os.environ.get("NINEP_UNAME", "glenda")
ROOT = 0


class Proc:
    def __init__(self, addr, pid):
        host, _, port = addr.rpartition(":")
        self.c = py9p.Client.connect_tcp(host.strip("[]"), int(port), timeout=60, msize=65536)
        if self.c.negotiate().version != "9P2000":
            raise SystemExit("server did not speak 9P2000")
        self.c.attach(ROOT, uname=OWNER)
        self.pid = pid
        self.next_fid = 1

    def open(self, name, mode):
        fid = self.next_fid
        self.next_fid += 1
        self.c.walk(ROOT, fid, [str(self.pid), name])
        self.c.open(fid, mode)
        return fid

    def read(self, name, offset=0, count=8192):
        fid = self.open(name, py9p.OREAD)
        try:
            return self.c.read(fid, count, offset)
        finally:
            self.c.clunk(fid)

    def write(self, name, data, offset=0, clunk=True):
        fid = self.open(name, py9p.OWRITE)
        try:
            return self.c.write(fid, data, offset)
        finally:
            if clunk:
                self.c.clunk(fid)

    def state(self):
        return self.read("status").split()[2].decode()


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    addr, pid, bp, var, value = argv[1], int(argv[2]), int(argv[3], 0), int(argv[4], 0), int(argv[5])
    p = Proc(addr, pid)
    try:
        print(f"state={p.state()}")
        saved = p.read("mem", bp, 1)
        p.write("mem", b"\xcc", bp)
        p.write("ctl", b"startstop")
        note = p.read("note", 0, 128)
        text = note.rstrip(b"\x00").decode()
        print(f"note={text}")
        regs = p.read("regs", 0, 184)
        (trap,) = struct.unpack_from("<Q", regs, 128)
        (pc,) = struct.unpack_from("<Q", regs, 144)
        print(f"pc={pc:#x}")
        print(f"type={trap}")
        print(f"state2={p.state()}")
        n = p.write("mem", struct.pack("<i", value), var)
        print(f"wrote={n}")
        p.write("mem", saved, bp)
        # The last request: once started, the guest runs to its end and the machine (and
        # its /proc server) may be gone before a clunk could be answered.
        p.write("ctl", b"start", clunk=False)
    except py9p.RemoteError as e:
        print(f"error: {e.args[0]}")
        return 1
    finally:
        p.c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
