# execve's argument limits: many arguments fit (their strings and pointers are copied to the
# new stack, past its first mapping), too many give E2BIG, and one string may be 128 KiB
# (MAX_ARG_STRLEN, NUL included) but no longer.
x=$(seq 1 30000); busybox true $x; echo "30000 args: $?"
x=$(seq 1 140000); busybox true $x; echo "140000 args: $?"
x=$(seq 1 160000); busybox true $x 2>/dev/null; echo "160000 args: $?"
y=$(head -c 131071 /dev/zero | tr '\0' a); busybox true "$y"; echo "131071-byte arg: $?"
y=$(head -c 131072 /dev/zero | tr '\0' a); busybox true "$y" 2>&1 | sed 's/^[^:]*: //'; echo "131072-byte arg"
z=$(head -c 131000 /dev/zero | tr '\0' b); X="$z" busybox sh -c 'echo "env of ${#X} bytes"'
