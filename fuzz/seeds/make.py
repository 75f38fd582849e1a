#!/usr/bin/env python3
"""Write the AFL seed corpora: well-formed 9P2000 frames (intro(5)) for `decode`, and
frame sequences in the `session` target's layout (config byte, then n[2] ctl[1] frame);
small static ELF programs (gABI ch. 4-5: one PT_LOAD) of each arch for `elf`; call
sequences in the `syscalls` target's layout (scratch length/64, scratch bytes, then per
call nr[2] and six (kind[1] value[8]) arguments, emulator/src/fuzzing.rs)."""
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

def tiny_elf(machine, code, pie=False):
    """ELF64 little-endian executable: header, one PT_LOAD (R+X) covering the file."""
    base = 0 if pie else 0x400000
    ehdr_size, phdr_size = 64, 56
    entry = base + ehdr_size + phdr_size
    size = ehdr_size + phdr_size + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 3 if pie else 2, machine, 1, entry,
                               ehdr_size, 0, 0, ehdr_size, phdr_size, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return ehdr + phdr + code

os.makedirs(os.path.join(here, "elf"), exist_ok=True)
elves = {
    # x86_64 (EM_X86_64 62): mov $60,%eax; xor %edi,%edi; syscall
    "x86_64": tiny_elf(62, bytes.fromhex("b83c00000031ff0f05")),
    "x86_64-pie": tiny_elf(62, bytes.fromhex("b83c00000031ff0f05"), pie=True),
    # aarch64 (EM_AARCH64 183): mov x8,#93; mov x0,#0; svc #0
    "aarch64": tiny_elf(183, bytes.fromhex("a80b80d2000080d2010000d4")),
    # riscv64 (EM_RISCV 243): li a7,93; li a0,0; ecall
    "riscv64": tiny_elf(243, bytes.fromhex("9308d00513050000" + "73000000")),
}
for name, b in elves.items():
    open(os.path.join(here, "elf", name), "wb").write(b)

os.makedirs(os.path.join(here, "syscalls"), exist_ok=True)
SCRATCH = 0x5000_0000
def arg(kind, v):
    return bytes([kind]) + struct.pack("<Q", v)
def call(nr, *args):
    args = list(args) + [arg(0, 0)] * (6 - len(args))
    return struct.pack("<H", nr) + b"".join(args)
def scratch_at(off):
    return arg(2, off)
def syscalls_seed(scratch, calls):
    scratch = scratch + bytes(-len(scratch) % 64)
    return bytes([len(scratch) // 64]) + scratch + b"".join(calls)
# x86_64 numbers (syscall_64.tbl): the first process is the x86_64 /bin/true.
seeds = {
    "files": syscalls_seed(b"/data/words.txt\0hello\0", [
        call(257, arg(3, 2**64 - 100), scratch_at(0), arg(0, 0)),  # openat(AT_FDCWD, path, O_RDONLY)
        call(0, arg(0, 3), scratch_at(256), arg(1, 100)),            # read(3, buf, 100)
        call(5, arg(0, 3), scratch_at(512)),                          # fstat(3, buf)
        call(1, arg(0, 1), scratch_at(16), arg(0, 6)),               # write(1, "hello\0", 6)
        call(3, arg(0, 3)),                                           # close(3)
    ]),
    "select": syscalls_seed(bytes([0b11]) + bytes(127), [
        call(22, scratch_at(1024)),                                   # pipe(fds)
        call(23, arg(0, 5), scratch_at(0), scratch_at(0), arg(0, 0), arg(0, 0)),  # select
        call(270, arg(0, 5), scratch_at(0), arg(0, 0), arg(0, 0), scratch_at(64), arg(0, 0)),
        call(7, scratch_at(2048), arg(0, 2), arg(0, 0)),             # poll
    ]),
    "memory": syscalls_seed(b"", [
        call(9, arg(0, 0), arg(1, 4096), arg(0, 3), arg(1, 0x22), arg(3, 2**64 - 1), arg(0, 0)),
        call(12, arg(0, 0)),                                          # brk(0)
        call(10, scratch_at(0), arg(1, 4096), arg(0, 1)),            # mprotect
        call(11, scratch_at(0), arg(1, 4096)),                        # munmap
    ]),
    "signals": syscalls_seed(bytes(64), [
        call(13, arg(0, 2), scratch_at(0), scratch_at(32), arg(0, 8)),  # rt_sigaction
        call(14, arg(0, 0), scratch_at(0), scratch_at(8), arg(0, 8)),   # rt_sigprocmask
        call(39),                                                        # getpid
        call(57),                                                        # fork
    ]),
}
for name, b in seeds.items():
    open(os.path.join(here, "syscalls", name), "wb").write(b)
