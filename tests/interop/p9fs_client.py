#!/usr/bin/env python3
"""A tiny 9P client over the PyPI package `p9fs` (an fsspec filesystem with a pure-Python
9P client), for Glass's interoperability tests. p9fs asks for 9P2000.L first; Glass
answers `9P2000`, which p9fs treats as a version mismatch, so this script falls back to
9P2000 as a Linux client would. p9fs speaks TCP only.

usage: p9fs_client.py HOST:PORT CMD [ARGS]
  CMD   ls PATH | read PATH [OFFSET COUNT] | write PATH DATA | stat PATH

Output (shared with python9p_client.py):
  ls    one line per entry: NAME<TAB>d|f<TAB>LENGTH
  read  the bytes read, raw
  write wrote N
  stat  NAME<TAB>d|f<TAB>LENGTH
  On an Rerror: `error: <the server's string>` on stdout, exit status 1.
"""

import os
import sys

import p9fs
from py9p import py9p

# The user to attach as: $NINEP_UNAME, else glenda (the owner of the example trees).
OWNER = os.environ.get("NINEP_UNAME", "glenda")


def connect(addr):
    host, _, port = addr.rpartition(":")
    host, port = host.strip("[]"), int(port)
    try:
        return p9fs.P9FileSystem(host, port, OWNER, version="9P2000.L", skip_instance_cache=True)
    except py9p.VersionError as e:
        print(f"p9fs: {e}; falling back to 9P2000", file=sys.stderr)
    return p9fs.P9FileSystem(host, port, OWNER, version="9P2000", skip_instance_cache=True)


def ename(e):
    s = e.args[0] if e.args else e
    return s.decode() if isinstance(s, bytes) else str(s)


def base(name):
    return name.rstrip("/").split("/")[-1]


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    addr, cmd, args = argv[1], argv[2], argv[3:]
    if args:
        # p9fs walks a leading "/" as a name; 9P paths are relative to the attach root.
        args[0] = args[0].strip("/")
    fs = connect(addr)
    try:
        if cmd == "ls":
            for item in fs.ls(args[0], detail=True):
                print(f"{base(item['name'])}\t{item['type'][0]}\t{item['size']}")
        elif cmd == "read":
            offset = int(args[1]) if len(args) > 1 else 0
            count = int(args[2]) if len(args) > 2 else 1 << 62
            f = fs._open_fid(args[0], os.O_RDONLY)
            try:
                data = fs._read(count, offset, f)
            finally:
                fs._release_fid(f)
            sys.stdout.buffer.write(data)
        elif cmd == "write":
            f = fs._open_fid(args[0], os.O_WRONLY)
            try:
                n = fs._write(args[1].encode(), 0, f)
            finally:
                fs._release_fid(f)
            print(f"wrote {n}")
        elif cmd == "stat":
            info = fs.info(args[0])
            print(f"{base(info['name'])}\t{info['type'][0]}\t{info['size']}")
        else:
            print(f"unknown command {cmd!r}", file=sys.stderr)
            return 2
    except py9p.RpcError as e:
        print(f"error: {ename(e)}")
        return 1
    except p9fs.P9FileNotFound as e:
        print(f"error: partial walk ({e})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
