# Generated scripts: #! interpreters, chmod +x, PATH lookup, `.` sourcing, sh -c with $0/$1, umask and modes, exec at the end.
dir=tmp/scripts_and_exec
rm -rf "$dir"; mkdir -p "$dir/bin"
cat > "$dir/bin/hello" <<'EOF'
#!/bin/sh
echo "hello from $(basename "$0") with $# args: $*"
exit 4
EOF
"$dir/bin/hello" a b 2>&1; echo "not yet executable: $?"
chmod +x "$dir/bin/hello"
"$dir/bin/hello" a b; echo "status $?"
PATH="$dir/bin:$PATH" hello via path; echo "status $?"
cat > "$dir/lib.sh" <<'EOF'
lib_var="set by lib"
lib_fn() { echo "lib_fn: $*"; }
EOF
. "$dir/lib.sh"
echo "$lib_var"; lib_fn x y
sh -c 'echo "0=$0 1=$1 2=$2 #=$#"' zero one two
umask 027
: > "$dir/masked"; mkdir "$dir/maskdir"
stat -c '%a %n' "$dir/masked" "$dir/maskdir" | sed "s,$dir/,,"
umask 022
chmod 640 "$dir/masked"; stat -c '%a' "$dir/masked"
printf '#!/bin/sh\necho "args: $@"\n' > "$dir/bin/t2"; chmod 755 "$dir/bin/t2"
"$dir/bin/t2" 1 "2 3"
echo 'echo "sourced with $# args"' > "$dir/src2"; set -- p q; . "$dir/src2"
command -v lib_fn
rm -rf "$dir"
exec sh -c 'echo "exec replaced the shell"; exit 9'
echo never
