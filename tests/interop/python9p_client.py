#!/usr/bin/env python3
"""A tiny 9P2000 client over the PyPI package `python-9p` (plan9port's C codec behind the
`py9p` module), for Glass's interoperability tests.

usage: python9p_client.py ADDR CMD [ARGS]
  ADDR  host:port or unix:PATH
  CMD   ls PATH | read PATH [OFFSET COUNT] | write PATH DATA [OFFSET] | stat PATH
        | trace PATH N

Output (shared with p9fs_client.py so tests can compare the two):
  ls    one line per entry: NAME<TAB>d|f<TAB>LENGTH
  read  the bytes read, raw
  write wrote N
  stat  NAME<TAB>d|f<TAB>LENGTH, then (python-9p only) mode=%08x uid= gid= muid= qid=
  trace at least N 16-byte records of /proc/trace, raw (reads again while a read comes
        back empty, for at most 20 s)
  On an Rerror: `error: <the server's string>` on stdout, exit status 1.
"""

import os
import struct
import sys
import time

import py9p

# The user to attach as: $NINEP_UNAME, else glenda (the owner of the example trees).
OWNER = os.environ.get("NINEP_UNAME", "glenda")
ROOT, FID = 0, 1


def connect(addr):
    if addr.startswith("unix:"):
        client = py9p.Client.connect_unix(addr[len("unix:"):], msize=65536)
    else:
        host, _, port = addr.rpartition(":")
        client = py9p.Client.connect_tcp(host.strip("[]"), int(port), timeout=30, msize=65536)
    rv = client.negotiate()
    if rv.version != "9P2000":
        raise SystemExit(f"unexpected version {rv.version!r}")
    client.attach(ROOT, uname=OWNER)
    return client


def walk(client, path):
    names = [p for p in path.split("/") if p and p != "."]
    qids = client.walk(ROOT, FID, names)
    if len(qids) != len(names):
        # A partial walk is not an error in 9P, but the file is not there.
        print(f"error: partial walk ({len(qids)} of {len(names)})")
        sys.exit(1)


def kind(mode):
    return "d" if mode & py9p.DMDIR else "f"


def dir_entries(data):
    """Split a directory read into whole stat records (each starts with its size[2])."""
    out = []
    while data:
        (size,) = struct.unpack_from("<H", data)
        out.append(py9p.decode_dir(data[: size + 2]))
        data = data[size + 2:]
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    addr, cmd, args = argv[1], argv[2], argv[3:]
    client = connect(addr)
    iounit = client.msize - py9p.IOHDRSZ
    try:
        if cmd == "ls":
            walk(client, args[0])
            client.open(FID, py9p.OREAD)
            offset = 0
            while True:
                data = client.read(FID, iounit, offset)
                if not data:
                    break
                offset += len(data)
                for d in dir_entries(data):
                    print(f"{d.name}\t{kind(d.mode)}\t{d.length}")
        elif cmd == "read":
            walk(client, args[0])
            offset = int(args[1]) if len(args) > 1 else 0
            count = int(args[2]) if len(args) > 2 else None
            client.open(FID, py9p.OREAD)
            out = bytearray()
            while count is None or len(out) < count:
                want = iounit if count is None else min(iounit, count - len(out))
                data = client.read(FID, want, offset + len(out))
                if not data:
                    break
                out += data
            sys.stdout.buffer.write(bytes(out))
        elif cmd == "trace":
            walk(client, args[0])
            want = int(args[1]) * 16
            client.open(FID, py9p.OREAD)
            out = bytearray()
            end = time.monotonic() + 20
            while len(out) < want and time.monotonic() < end:
                data = client.read(FID, 16 * 64, 0)
                if not data:
                    time.sleep(0.01)
                out += data
            sys.stdout.buffer.write(bytes(out))
        elif cmd == "write":
            walk(client, args[0])
            client.open(FID, py9p.OWRITE)
            offset = int(args[2]) if len(args) > 2 else 0
            n = client.write(FID, args[1].encode(), offset)
            print(f"wrote {n}")
        elif cmd == "stat":
            walk(client, args[0])
            d = client.stat(FID)
            print(f"{d.name}\t{kind(d.mode)}\t{d.length}")
            q = d.qid
            print(f"mode={d.mode:08x} uid={d.uid} gid={d.gid} muid={d.muid} qid=({q.path:016x} {q.vers} {q.type:02x})")
        else:
            print(f"unknown command {cmd!r}", file=sys.stderr)
            return 2
    except py9p.RemoteError as e:
        print(f"error: {e.args[0]}")
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
