#!/bin/sh
# Create (idempotently) the two Python venvs the 9P interoperability tests drive:
#   build/venv/python-9p  with `python-9p` (plan9port's C codec behind a py9p module)
#   build/venv/p9fs       with `p9fs`      (fsspec filesystem with a pure-Python 9P client)
# Both packages install the import name `py9p`, so each gets its own venv (docs/DESIGN.md,
# "9P clients for tests"). Paths are relative to the repository root; build/ is gitignored.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-python3}

make_venv() {
    dir=$1
    pkg=$2
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip show "$pkg" >/dev/null 2>&1; then
        echo "setup-venvs: $pkg already in $dir"
        return 0
    fi
    echo "setup-venvs: creating $dir with $pkg"
    mkdir -p "$(dirname "$dir")"
    "$python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$pkg"
}

make_venv "$root/build/venv/python-9p" python-9p
make_venv "$root/build/venv/p9fs" p9fs
echo "setup-venvs: done"
