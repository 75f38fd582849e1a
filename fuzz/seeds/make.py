#!/usr/bin/env python3
"""Write the AFL seed corpora: well-formed 9P2000 frames (intro(5)) for `decode`, and
frame sequences in the `session` target's layout (config byte, then n[2] ctl[1] frame)."""
import os, struct

def s(x):
    b = x.encode()
    return struct.pack("<H", len(b)) + b

def frame(ty, tag, body):
    return struct.pack("<IBH", 7 + len(body), ty, tag) + body

qid = bytes([0x80]) + struct.pack("<IQ", 0, 1)
stat = struct.pack("<HI", 0xFFFF, 0xFFFFFFFF) + b"\xff" * 13 + struct.pack("<IIIQ", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 2**64 - 1) + s("x") + s("") + s("") + s("")
stat = struct.pack("<H", len(stat)) + stat
NOFID = 0xFFFFFFFF
T = {
    "version": frame(100, 0xFFFF, struct.pack("<I", 8192) + s("9P2000")),
    "auth": frame(102, 1, struct.pack("<I", 9) + s("glenda") + s("")),
    "attach": frame(104, 1, struct.pack("<II", 0, NOFID) + s("glenda") + s("")),
    "walk": frame(110, 2, struct.pack("<IIH", 0, 1, 2) + s("d") + s("hello")),
    "open": frame(112, 3, struct.pack("<IB", 1, 2)),
    "read": frame(116, 4, struct.pack("<IQI", 1, 0, 100)),
    "write": frame(118, 5, struct.pack("<IQI", 1, 0, 5) + b"HELLO"),
    "stat": frame(124, 6, struct.pack("<I", 1)),
    "wstat": frame(126, 7, struct.pack("<IH", 1, len(stat)) + stat),
    "flush": frame(108, 8, struct.pack("<H", 4)),
    "clunk": frame(120, 9, struct.pack("<I", 1)),
    "remove": frame(122, 10, struct.pack("<I", 1)),
    "create": frame(114, 11, struct.pack("<I", 0) + s("new") + struct.pack("<IB", 0o644, 1)),
}
R = {
    "rversion": frame(101, 0xFFFF, struct.pack("<I", 8192) + s("9P2000")),
    "rerror": frame(107, 1, s("unknown fid")),
    "rwalk": frame(111, 2, struct.pack("<H", 1) + qid),
    "rread": frame(117, 4, struct.pack("<I", 3) + b"abc"),
    "rstat": frame(125, 6, struct.pack("<H", len(stat)) + stat),
}
here = os.path.dirname(os.path.abspath(__file__))
for name, f in {**T, **R}.items():
    open(os.path.join(here, "decode", name), "wb").write(f)
open(os.path.join(here, "decode", "dirents"), "wb").write(stat + stat)

def session(cfg, frames):
    out = bytes([cfg])
    for f in frames:
        out += struct.pack("<HB", len(f), 1) + f
    return out

seqs = {
    "handshake": (0, [T["version"], T["attach"], T["walk"], T["open"], T["read"], T["write"], T["clunk"]]),
    "browse": (4, [T["walk"], T["open"], T["read"], T["stat"], T["wstat"], T["clunk"], T["remove"]]),
    "dirread": (4, [frame(110, 2, struct.pack("<IIH", 0, 1, 0)), frame(112, 3, struct.pack("<IB", 1, 0)), frame(116, 4, struct.pack("<IQI", 1, 0, 8000)), T["flush"], T["create"]]),
    "auth": (1, [T["version"], T["auth"], frame(116, 2, struct.pack("<IQI", 9, 0, 32)), frame(118, 3, struct.pack("<IQI", 9, 0, 32) + b"\0" * 32), frame(104, 4, struct.pack("<II", 0, 9) + s("glenda") + s(""))]),
}
for name, (cfg, frames) in seqs.items():
    open(os.path.join(here, "session", name), "wb").write(session(cfg, frames))
