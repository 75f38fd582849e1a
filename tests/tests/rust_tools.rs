//! Real multi-threaded Rust programs from crates.io as oracles of the threads kernel:
//! ripgrep (`rg`) and fd-find (`fd`), built static for x86_64 by guest-images/build-rust.sh,
//! run natively (the oracle) and under glass on the same tree give the same stdout and exit
//! status — byte for byte where the tool fixes its output order (`--sort path`), as sorted
//! lines where the order is the host's: its scheduler's (`-j4`: ripgrep's and fd's parallel
//! directory walkers and searchers) or its directory order (`-j1` without sorting; glass
//! lists directories sorted, a host file system in its own order).
//!
//! The tree is one each test makes in the host's temp dir, outside any git repository (a
//! parent `.gitignore`, as the checkout's, would change what the native run searches): a
//! guest root of its own with `/bin/rg`, `/bin/fd` and `/data` — a copy of the bundled data
//! (guest-images/data) and a generated tree of a few hundred files with hidden files, an
//! `.ignore` file, a symlink and non-UTF-8 bytes. The native run starts in that root with the
//! relative path `data` and the guest's environment; the glass run starts with `--cwd /` and
//! the same relative path, so both print the same paths.

use glass_tests::{first_difference, guest_env, guest_root, oracle, run_glass, show, status_code};
use std::path::{Path, PathBuf};

/// A guest root made for one test, removed when the test ends.
struct Tree {
    root: PathBuf,
}

/// Words the generated files are made of; `needle` and `NEEDLE` are what most cases search.
const WORDS: [&str; 16] = [
    "alpha", "beta", "gamma", "delta", "needle", "haystack", "thread", "futex", "epoll", "signal",
    "NEEDLE", "kernel", "machine", "glass", "quantum", "digest",
];

/// Directories, and files in each, of the generated tree (data/gen/dNN/fMM.EXT).
const GEN_DIRS: usize = 12;
const GEN_FILES: usize = 24;

/// File name extensions of the generated files, by index (fd's `-e` cases filter on them).
const EXTS: [&str; 4] = ["txt", "rs", "md", "log"];

impl Tree {
    fn new(test: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("glass-rust-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin")).expect("make the tree's bin");
        for tool in ["rg", "fd"] {
            let built = guest_root().join("bin").join(tool);
            assert!(
                built.exists(),
                "{} missing: run tools/scripts/setup.sh (guest-images/build-rust.sh)",
                built.display()
            );
            std::fs::copy(&built, root.join("bin").join(tool)).expect("copy a tool");
        }
        let data = root.join("data");
        copy_dir(
            &glass_tests::repo_root().join("guest-images").join("data"),
            &data,
        );
        generate(&data.join("gen"));
        Tree { root }
    }

    /// Run `prog ARGS` natively in the tree's root, with exactly the guest's environment.
    fn native(&self, prog: &str, args: &[&str]) -> Run {
        let o = oracle(self.root.join("bin").join(prog))
            .args(args)
            .current_dir(&self.root)
            .env_clear()
            .envs(guest_env())
            .output()
            .expect("native run");
        Run {
            stdout: o.stdout,
            stderr: o.stderr,
            code: status_code(o.status),
        }
    }

    /// Run `/bin/prog ARGS` under glass with the tree as its root, from `/`, with `opts`
    /// (glass options) before the `--`.
    fn glass(&self, opts: &[&str], prog: &str, args: &[&str]) -> Run {
        let root = self.root.to_str().expect("utf-8 temp dir");
        let guest_prog = format!("/bin/{prog}");
        let mut a = vec!["run", "--root", root, "--cwd", "/"];
        a.extend_from_slice(opts);
        a.push("--");
        a.push(&guest_prog);
        a.extend_from_slice(args);
        let o = run_glass(&a);
        Run {
            stdout: o.stdout,
            stderr: o.stderr,
            code: status_code(o.status),
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// One run's outputs and exit status.
struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: i32,
}

/// Copy a directory tree of plain files.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("make a directory");
    for e in std::fs::read_dir(from).expect("read a data directory") {
        let e = e.expect("directory entry");
        let t = e.file_type().expect("file type");
        if t.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy a data file");
        }
    }
}

/// The generated part of the tree: GEN_DIRS directories of GEN_FILES files of lines of
/// WORDS drawn from a fixed xorshift sequence (the same tree on every host), plus what the
/// walkers treat specially: a hidden directory and file, an `.ignore` file (honoured by rg
/// and fd outside git repositories too), a symlink, and a line with non-UTF-8 bytes.
fn generate(gen: &Path) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for d in 0..GEN_DIRS {
        let dir = gen.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).expect("make a generated directory");
        for f in 0..GEN_FILES {
            let lines = 8 + (next() % 40) as usize;
            let mut text = String::new();
            for l in 0..lines {
                let words = 1 + (next() % 9) as usize;
                let line: Vec<&str> = (0..words)
                    .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                    .collect();
                text.push_str(&format!("{l:03} {}\n", line.join(" ")));
            }
            let name = format!("f{f:02}.{}", EXTS[f % EXTS.len()]);
            std::fs::write(dir.join(name), text).expect("write a generated file");
        }
    }
    std::fs::create_dir_all(gen.join(".hidden")).expect("make the hidden directory");
    std::fs::write(gen.join(".hidden/secret.txt"), "a hidden needle\n").expect("hidden file");
    std::fs::write(gen.join(".dotfile"), "needle in a dotfile\n").expect("dotfile");
    std::fs::write(gen.join(".ignore"), "*.log\nd11/\n").expect(".ignore");
    std::fs::write(gen.join("latin1.txt"), b"caf\xe9 needle \xff\xfe end\n").expect("latin-1");
    std::os::unix::fs::symlink("d00/f00.txt", gen.join("link.txt")).expect("symlink");
}

/// The lines of `b`, sorted bytewise, each with its newline.
fn sorted_lines(b: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
    lines.sort_unstable();
    lines.concat()
}

/// How the two stdouts are compared.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// Byte for byte: the tool fixes the order.
    Exact,
    /// As sorted lines: the order is the host scheduler's (or the host directory's).
    Sorted,
}

/// What glass printed on stderr that is not its own (`glass: …`) message.
fn guest_stderr(b: &[u8]) -> Vec<u8> {
    b.split_inclusive(|&c| c == b'\n')
        .filter(|l| !l.starts_with(b"glass: "))
        .collect::<Vec<_>>()
        .concat()
}

/// Run `prog ARGS` natively and under glass (`opts` before the `--`) and check they agree:
/// stdout (per `order`), the guest's stderr, and the exit status; glass must not have met a
/// system call it does not implement. Returns the glass run.
fn check(tree: &Tree, opts: &[&str], prog: &str, args: &[&str], order: Order) -> Run {
    let n = tree.native(prog, args);
    let g = tree.glass(opts, prog, args);
    let what = format!("{prog} {}", args.join(" "));
    let all = || glass_tests::both_outputs(&n.stdout, &g.stdout, &n.stderr, &g.stderr);
    // A case that succeeds natively has found something: agreeing on nothing proves nothing.
    assert!(
        n.code != 0 || !n.stdout.is_empty(),
        "{what}: the native run printed nothing\n{}",
        all()
    );
    assert!(
        !show(&g.stderr).contains("unimplemented"),
        "{what}: glass met an unimplemented system call\n{}",
        all()
    );
    let (want, got) = match order {
        Order::Exact => (n.stdout.clone(), g.stdout.clone()),
        Order::Sorted => (sorted_lines(&n.stdout), sorted_lines(&g.stdout)),
    };
    if let Some(diff) = first_difference(&want, &got) {
        panic!("{what}: stdout differs ({diff})\n{}", all());
    }
    assert_eq!(
        sorted_lines(&guest_stderr(&g.stderr)),
        sorted_lines(&n.stderr),
        "{what}: stderr differs\n{}",
        all()
    );
    assert_eq!(g.code, n.code, "{what}: exit status differs\n{}", all());
    g
}

#[test]
fn rg_j1_sorted_matches_native_byte_for_byte() {
    let t = Tree::new("rg-j1");
    let g = check(
        &t,
        &[],
        "rg",
        &["-j1", "--sort", "path", "-n", "needle", "data"],
        Order::Exact,
    );
    // Not an empty agreement: the generated tree has hundreds of matching lines.
    assert!(g.stdout.len() > 10_000, "{}", show(&g.stdout));
    check(
        &t,
        &[],
        "rg",
        &["-j1", "-n", "needle", "data"],
        Order::Sorted,
    );
}

#[test]
fn rg_j4_parallel_search_matches_native_as_sorted_lines() {
    let t = Tree::new("rg-j4");
    let g = check(
        &t,
        &[],
        "rg",
        &["-j4", "-n", "needle", "data"],
        Order::Sorted,
    );
    assert!(g.stdout.len() > 10_000, "{}", show(&g.stdout));
    // The guest seeing four CPUs changes nothing in what it finds.
    check(
        &t,
        &["--cpus", "4"],
        "rg",
        &["-j4", "-n", "needle", "data"],
        Order::Sorted,
    );
    // Without -j rg starts a searcher per CPU it sees (4 under glass, the host's count
    // natively): the same lines.
    check(
        &t,
        &["--cpus", "4"],
        "rg",
        &["-n", "needle", "data"],
        Order::Sorted,
    );
    // Eight threads preempted every 100 blocks of guest work (param::QUANTUM_BLOCKS is
    // 200 000), so the walkers and searchers interleave inside their work, not only at system
    // calls.
    check(
        &t,
        &["--quantum", "100"],
        "rg",
        &["-j8", "-n", "needle", "data"],
        Order::Sorted,
    );
    // Sorting on a parallel walk: rg sorts by path and prints in that order.
    check(
        &t,
        &[],
        "rg",
        &["-j4", "--sort", "path", "needle", "data"],
        Order::Exact,
    );
}

#[test]
fn rg_j4_options_match_native() {
    let t = Tree::new("rg-opts");
    let cases: &[(&[&str], Order)] = &[
        (&["-j4", "-c", "needle", "data"], Order::Sorted),
        (&["-j4", "-l", "-i", "NEEDLE", "data"], Order::Sorted),
        (
            &["-j4", "-w", "-o", "alpha|futex", "data/gen/d03"],
            Order::Sorted,
        ),
        (
            &["-j4", "--hidden", "--no-ignore", "-c", "needle", "data"],
            Order::Sorted,
        ),
        (
            &[
                "-j4", "-g", "*.md", "--sort", "path", "-n", "thread", "data",
            ],
            Order::Exact,
        ),
        (&["-j4", "-v", "-c", "e", "data"], Order::Sorted),
        (
            &["-j4", "-C1", "--sort", "path", "epoll.*digest", "data/gen"],
            Order::Exact,
        ),
        (
            &["-j4", "--count-matches", "-i", "needle", "data"],
            Order::Sorted,
        ),
        (&["-j4", "--mmap", "-n", "needle", "data"], Order::Sorted),
        (&["-j4", "-uuu", "-c", "needle", "data"], Order::Sorted),
        (
            &["-j4", "-e", "needle", "-e", "futex", "-o", "-c", "data"],
            Order::Sorted,
        ),
        (&["-j4", "-t", "rust", "-l", "futex", "data"], Order::Sorted),
        (
            &["-j4", "-m1", "--sort", "path", "needle", "data"],
            Order::Exact,
        ),
        (
            &["-j4", "--sortr", "path", "-l", "needle", "data"],
            Order::Exact,
        ),
        (
            &[
                "-j4",
                "--sort",
                "path",
                "-o",
                "-r",
                "[$0]",
                "ne+dle [a-z]+",
                "data/gen/d01",
            ],
            Order::Exact,
        ),
        (
            &[
                "-j4",
                "-U",
                "--sort",
                "path",
                "-c",
                r"needle\n[0-9]+ futex",
                "data",
            ],
            Order::Exact,
        ),
        // No match anywhere: exit status 1 and no output.
        (&["-j4", "no-such-word-anywhere", "data"], Order::Exact),
        // A missing path: an error on stderr and exit status 2.
        (&["-j4", "needle", "data/missing"], Order::Exact),
    ];
    for (args, order) in cases {
        check(&t, &[], "rg", args, *order);
    }
}

#[test]
fn rg_files_listing_matches_native() {
    let t = Tree::new("rg-files");
    let g = check(
        &t,
        &[],
        "rg",
        &["--files", "--sort", "path", "data"],
        Order::Exact,
    );
    // About three hundred files (each path some 20 bytes), not an empty agreement.
    assert!(g.stdout.len() > 3_000, "{}", show(&g.stdout));
    check(&t, &[], "rg", &["-j4", "--files", "data"], Order::Sorted);
    check(
        &t,
        &[],
        "rg",
        &["-j4", "--files", "--hidden", "data"],
        Order::Sorted,
    );
}

#[test]
fn fd_walk_j1_j4_matches_native() {
    let t = Tree::new("fd");
    let cases: &[&[&str]] = &[
        &["-j1", ".", "data"],
        &["-j4", ".", "data"],
        &["-j4", "-e", "rs", ".", "data"],
        &["-j4", "-t", "d", ".", "data"],
        &["-j4", "-t", "l", ".", "data"],
        &["-j4", "-H", "-I", "secret|dotfile|latin1", "data"],
        &["-j4", "^f1[0-3]", "data/gen"],
        &["-j4", "-p", "gen/d0[0-2]/f0", "data"],
        // Commands run for each result (-x) and for all of them (-X) from the walker
        // threads: a threaded program spawning processes (std's Command through glibc's
        // posix_spawn, a clone3 with CLONE_VM|CLONE_VFORK from a walker thread, then execve
        // and wait4). bin/rg is the tree's own rg, in the native run's cwd and at the guest's /.
        &[
            "-j4", "-e", "md", ".", "data", "-x", "bin/rg", "-H", "-c", "needle",
        ],
        &[
            "-j2",
            "-e",
            "txt",
            ".",
            "data/tree",
            "-X",
            "bin/rg",
            "-c",
            "e",
        ],
        // Quiet: nothing printed, exit status 1 when nothing matches.
        &["-j4", "-q", "no-such-name", "data"],
    ];
    let mut total = 0;
    for args in cases {
        total += check(&t, &[], "fd", args, Order::Sorted).stdout.len();
    }
    assert!(total > 10_000, "fd found almost nothing ({total} bytes)");
}

#[test]
fn rg_j4_twice_same_digest_other_sched_seeds_same_lines() {
    let t = Tree::new("rg-digest");
    let args = ["-j4", "-n", "needle", "data"];
    let digest = |r: &Run| {
        show(&r.stderr)
            .lines()
            .find_map(|l| l.strip_prefix("glass: digest ").map(str::to_string))
            .unwrap_or_else(|| panic!("no digest line: {}", show(&r.stderr)))
    };
    let a = t.glass(&["--digest", "--cpus", "4"], "rg", &args);
    let b = t.glass(&["--digest", "--cpus", "4"], "rg", &args);
    assert_eq!(a.code, 0, "{}", show(&a.stderr));
    assert_eq!(digest(&a), digest(&b));
    // The same interleaving of the search threads, so the same unsorted output too.
    assert_eq!(a.stdout, b.stdout);
    // Other schedules may print in another order but find the same lines.
    for seed in ["1", "2", "3"] {
        let c = t.glass(&["--sched-seed", seed, "--cpus", "4"], "rg", &args);
        assert_eq!(c.code, 0, "seed {seed}: {}", show(&c.stderr));
        assert_eq!(
            sorted_lines(&c.stdout),
            sorted_lines(&a.stdout),
            "seed {seed}"
        );
    }
}
