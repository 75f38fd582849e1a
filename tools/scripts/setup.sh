#!/usr/bin/env bash
# Glass set-up: installs what is missing on a Debian 12 machine (apt packages, the patched
# unicorn source, guest images, the default guest root, the 9P interop venvs). Safe to run
# any number of times; each step skips work already done. Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '== %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian packages: unicorn's build (cmake, libclang), cross compilers with their static libc,
# busybox-static (the first real guest), qemu-user (benchmark yardstick), python3-venv (9P
# interop clients), patch (our unicorn fix), file, binutils (addr2line), strace (test oracles)
# and golang-go (Go guest programs, static, for all three arches). ripgrep and fd (static
# Rust guests, guest-images/build-rust.sh) need only the Rust toolchain, gcc and make.
# e2fsprogs (mke2fs makes the images e2fsck checks), gnupg (gpg makes the signature gpgv
# checks), dpkg-dev (dpkg-source unpacks bash's source for its test suite) and curl (fetches
# that source) serve the Debian programs' suites.
PKGS=(cmake libclang-dev clang gcc g++ make patch file binutils strace
      gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu libc6-dev-arm64-cross libc6-dev-riscv64-cross
      busybox-static qemu-user python3-venv python3-pip golang-go
      e2fsprogs gnupg dpkg-dev curl)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
    say "Debian packages present"
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: no Rust toolchain (cargo) found; install Rust 1.87 or newer with rustup first" >&2
        exit 1
    fi
fi

# unicorn-engine-sys 2.1.5 with our store-path patch (tools/unicorn/), before any cargo build.
if [ -f tools/unicorn/apply.sh ]; then
    say "unicorn source with Glass's patch"
    bash tools/unicorn/apply.sh
fi

say "guest images"
bash guest-images/build.sh
say "default guest root (build/root)"
bash guest-images/populate-root.sh build/root

say "other arches in the root (build/root/aarch64, build/root/riscv64)"
bash tools/scripts/arch-roots.sh

say "Debian's static programs in the root (bash-static, zsh-static, sash, gpgv, e2fsck, dar)"
bash tools/scripts/debian-programs.sh

say "bash's test suite from Debian's source (cached under \$HOME/.cache/glass)"
bash tools/scripts/bash-tests.sh >/dev/null

say "Go guest programs (cached under \$HOME/.cache/glass)"
bash guest-images/build-go.sh build/root

say "Rust tools rg and fd from crates.io (cached under \$HOME/.cache/glass)"
bash guest-images/build-rust.sh build/root

if [ -f tests/interop/setup-venvs.sh ]; then
    say "9P interop clients (Python venvs)"
    bash tests/interop/setup-venvs.sh
fi
say "set-up done"
