# Deep stacks: awk recursion through megabytes of C stack (the stack grows on faults up to its
# 8 MiB limit), and deep shell recursion through functions and nested substitutions.
awk 'function f(n) { return n ? f(n - 1) + 1 : 0 } BEGIN { print f(5000) }'
awk 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } BEGIN { print fib(18) }'
depth() { if [ "$1" -gt 0 ]; then depth $(($1 - 1)); else echo bottom; fi; }
depth 300
echo $(echo $(echo $(echo $(echo $(echo nested)))))
