# eval, set --, shift, "$@" vs "$*", getopts in a function, indirect variables built with eval.
set -- -v -n 3 -o out.txt file1 "file two"
parse_opts() {
    OPTIND=1; verbose=0; n=1; out=-
    while getopts vn:o: opt; do
        case $opt in
            v) verbose=1 ;;
            n) n=$OPTARG ;;
            o) out=$OPTARG ;;
            *) echo "bad option"; return 2 ;;
        esac
    done
    shift $((OPTIND - 1))
    echo "verbose=$verbose n=$n out=$out rest=$#"
    for f in "$@"; do echo "  arg <$f>"; done
}
parse_opts "$@"
parse_opts -x 2>/dev/null; echo "bad option status $?"
echo "count before shift: $#"; shift 2; echo "after shift 2: $# first=$1"
shift $#; echo "after shift all: $#"
cmd='echo "evaluated $((6 * 7))"'
eval "$cmd"
for i in 1 2 3; do eval "var_$i=\$((i * 100))"; done
for i in 3 2 1; do eval "echo var_$i=\$var_$i"; done
name=greeting; eval "$name='hi there'"; echo "$greeting"
eval 'f() { echo "defined by eval: $1"; }'; f ok
set -- $(head -n 3 data/words.txt)
echo "from words: $# last=$3"
eval "echo \$$#"
args=; for a in 'a b' c; do args="$args '$a'"; done; eval "set -- $args"; echo "re-quoted: $# [$1]"
