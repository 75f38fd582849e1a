# gpgv: verify detached and inline signatures the test made with gpg, then tampered data
# Run by busybox sh; $QEMU (empty, or qemu-aarch64 for the arm64 oracle) and $BIN say which gpgv.
I=tmp/debian-inputs
v() { k=$1; shift; $QEMU $BIN/gpgv-static --homedir "$I/gpghome" --keyring "$I/$k" "$@"; }
echo "== detached"
v key.gpg "$I/msg.txt.sig" "$I/msg.txt" 2>&1; echo "exit $?"
echo "== inline (clearsigned)"
v key.gpg "$I/msg.txt.asc" 2>&1; echo "exit $?"
echo "== tampered data"
v key.gpg "$I/msg.txt.sig" "$I/tampered.txt" 2>&1; echo "exit $?"
echo "== unknown key"
v other.gpg "$I/msg.txt.sig" "$I/msg.txt" 2>&1; echo "exit $?"
