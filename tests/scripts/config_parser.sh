# Config parser: while read with IFS and case on [sections], functions storing values via eval, defaults, a here-doc override.
parse() {
    section=
    while IFS= read -r line; do
        case $line in
            ''|'#'*) continue ;;
            '['*']') section=${line#[}; section=${section%]} ;;
            *=*)
                key=${line%%=*}; key=$(echo $key)
                val=${line#*=}; val=$(echo $val)
                eval "cfg_${section}_${key}=\$val"
                echo "$section.$key"
                ;;
            *) echo "bad line: $line" >&2 ;;
        esac
    done
}
keys=$(parse < data/settings.conf | tr '\n' ' ')
echo "keys: $keys"
parse < data/settings.conf > /dev/null
echo "server host: $cfg_server_host port: $cfg_server_port workers: ${cfg_server_workers:-1}"
get() { eval "echo \${cfg_$1_$2:-$3}"; }
echo "missing with default: $(get server timeout 30)"
parse > /dev/null <<'EOF'
[server]
port = 9000
garbage line
EOF
echo "overridden port: $cfg_server_port"
for k in $keys; do
    s=${k%%.*}; n=${k#*.}
    printf '%s=%s\n' "$k" "$(get "$s" "$n" '?')"
done | sort
