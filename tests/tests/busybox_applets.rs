//! Busybox applets natively and under glass: each case runs `/bin/busybox APPLET ARGS…` on the
//! host with cwd = the guest root (`build/root`), and `glass run -- /bin/busybox APPLET ARGS…`
//! with the guest cwd `/`, over the bundled data (`guest-images/data`, relative paths such as
//! `data/words.txt`), and requires byte-identical stdout and the same exit status. Arguments
//! avoid anything that depends on time, owner, inode numbers, directory order or host paths
//! (`ls -1`, `stat -c '%s %F %n'`, `find … | sort`). One test per case, named after the applet.

use glass_tests::{
    both_outputs, first_difference, guest_env, guest_root, run_glass, show, status_code,
};
use std::process::Stdio;

/// Run one applet natively and under glass; panic with a readable report on any difference.
/// `want_exit` is the status the native run must give (it pins cases meant to fail, such as
/// grep without a match, to really exercise the failing path).
fn check(case: &str, args: &[&str], want_exit: i32) {
    let root = guest_root();
    assert!(
        root.join("bin/busybox").exists(),
        "{} missing: run tools/scripts/setup.sh (or guest-images/build.sh && \
         guest-images/populate-root.sh build/root) first",
        root.join("bin/busybox").display()
    );
    let cmdline = args
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\'', '"', '\\', '*', '|', '$']) {
                format!("'{a}'")
            } else {
                (*a).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");

    let native = glass_tests::oracle("/bin/busybox")
        .args(args)
        .current_dir(&root)
        .env_clear()
        .envs(guest_env())
        .stdin(Stdio::null())
        .output()
        .expect("spawn native /bin/busybox");
    let native_exit = status_code(native.status);
    assert_eq!(
        native_exit,
        want_exit,
        "[{case}] native `busybox {cmdline}` exited {native_exit}, the case expects {want_exit}\n\
         stdout:\n{}\nstderr:\n{}",
        show(&native.stdout),
        show(&native.stderr)
    );

    let root_s = root.display().to_string();
    let mut gargs = vec!["run", "--root", root_s.as_str(), "--", "/bin/busybox"];
    gargs.extend_from_slice(args);
    let glass = run_glass(&gargs);
    let glass_exit = status_code(glass.status);

    let mut problems = Vec::new();
    if let Some(d) = first_difference(&native.stdout, &glass.stdout) {
        problems.push(format!("stdout: {d}"));
    }
    if glass_exit != native_exit {
        problems.push(format!(
            "exit status differs: native {native_exit}, glass {glass_exit}"
        ));
    }
    assert!(
        problems.is_empty(),
        "[{case}] `busybox {cmdline}`: {}\n{}",
        problems.join("; "),
        both_outputs(&native.stdout, &glass.stdout, &native.stderr, &glass.stderr)
    );
}

/// `name: [args…] => native exit status;` becomes `#[test] fn name()`.
macro_rules! applet_cases {
    ($($name:ident: [$($arg:expr),+ $(,)?] => $exit:expr;)+) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), &[$($arg),+], $exit);
            }
        )+
    };
}

applet_cases! {
    echo_hello: ["echo", "hello"] => 0;
    echo_no_newline: ["echo", "-n", "two", "words"] => 0;

    cat_two_files: ["cat", "data/usertests.txt", "data/settings.conf"] => 0;
    cat_numbered: ["cat", "-n", "data/repeats.txt"] => 0;
    cat_missing_file: ["cat", "data/usertests.txt", "data/no-such-file"] => 1;

    wc_several_files: ["wc", "data/words.txt", "data/records.csv", "data/journal.log"] => 0;
    wc_lines: ["wc", "-l", "data/journal.log"] => 0;
    wc_binary: ["wc", "-c", "data/blob.bin"] => 0;

    sort_words: ["sort", "data/words.txt"] => 0;
    sort_unique_reverse: ["sort", "-u", "-r", "data/words.txt"] => 0;
    sort_numeric: ["sort", "-n", "data/numbers.txt"] => 0;
    sort_csv_by_score: ["sort", "-t", ",", "-k4,4nr", "-k1,1n", "data/records.csv"] => 0;

    uniq_plain: ["uniq", "data/repeats.txt"] => 0;
    uniq_count: ["uniq", "-c", "data/repeats.txt"] => 0;
    uniq_duplicates: ["uniq", "-d", "data/repeats.txt"] => 0;

    head_lines: ["head", "-n", "5", "data/journal.log"] => 0;
    head_bytes: ["head", "-c", "40", "data/words.txt"] => 0;
    tail_lines: ["tail", "-n", "3", "data/records.csv"] => 0;
    tail_from_line: ["tail", "-n", "+15", "data/repeats.txt"] => 0;

    cut_fields: ["cut", "-d", ",", "-f", "2,3", "data/records.csv"] => 0;
    cut_chars: ["cut", "-c", "1-8", "data/journal.log"] => 0;

    tr_upcase_via_sh: ["sh", "-c", "tr a-z A-Z < data/words.txt"] => 0;
    tr_delete_squeeze_via_sh: ["sh", "-c", "tr -d aeiou < data/words.txt | tr -s a-z | head -n 20"] => 0;

    sed_sections: ["sed", "-n", "/^\\[/p", "data/settings.conf"] => 0;
    sed_substitute: ["sed", "-e", "s/ = /=/", "-e", "/^#/d", "-e", "/^$/d", "data/settings.conf"] => 0;
    sed_line_range: ["sed", "-n", "3,6p;12q", "data/words.txt"] => 0;

    awk_csv_average: ["awk", "-F,", "NR > 1 { s += $4; n++ } END { printf \"%d %d %.2f\\n\", n, s, s / n }", "data/records.csv"] => 0;
    awk_level_counts: ["awk", "{ c[$2]++ } END { print c[\"INFO\"], c[\"DEBUG\"], c[\"WARN\"], c[\"ERROR\"] }", "data/journal.log"] => 0;
    awk_fields_and_lengths: ["awk", "length($1) > 6 { print NR \": \" toupper($1) }", "data/words.txt"] => 0;

    grep_count: ["grep", "-c", "ERROR", "data/journal.log"] => 0;
    grep_line_numbers: ["grep", "-n", "lantern", "data/words.txt"] => 0;
    grep_inverted_extended: ["grep", "-v", "-E", "^(#|$)", "data/settings.conf"] => 0;
    grep_several_files: ["grep", "-i", "brackenford", "data/records.csv", "data/words.txt"] => 0;
    grep_no_match: ["grep", "zzzz", "data/words.txt"] => 1;
    grep_missing_file: ["grep", "lantern", "data/no-such-file"] => 2;

    od_hex_bytes: ["od", "-A", "x", "-t", "x1", "data/blob.bin"] => 0;
    od_chars: ["od", "-c", "data/usertests.txt"] => 0;

    md5sum_files: ["md5sum", "data/words.txt", "data/blob.bin", "data/records.csv"] => 0;
    sha256sum_files: ["sha256sum", "data/journal.log", "data/blob2.bin"] => 0;
    sha512sum_file: ["sha512sum", "data/settings.conf"] => 0;

    seq_step: ["seq", "1", "3", "20"] => 0;
    seq_separator: ["seq", "-s", ",", "10"] => 0;

    expr_multiply: ["expr", "6", "*", "7"] => 0;
    expr_length: ["expr", "length", "glass-emulator"] => 0;
    expr_false_exits_1: ["expr", "1", "=", "2"] => 1;

    printf_format: ["printf", "%s has %d items, %05.1f%%\\n", "list", "3", "42.25"] => 0;
    printf_hex: ["printf", "%x %o %c|%-6s|\\n", "255", "8", "z", "ab"] => 0;

    basename_suffix: ["basename", "/data/tree/top.txt", ".txt"] => 0;
    dirname_nested: ["dirname", "data/tree/alpha/list.txt"] => 0;

    ls_one_per_line: ["ls", "-1", "data"] => 0;
    ls_recursive: ["ls", "-1R", "data/tree"] => 0;
    ls_missing: ["ls", "-1", "data/no-such-dir"] => 1;

    stat_files: ["stat", "-c", "%s %F %n", "data/words.txt", "data/blob.bin", "data/tree/top.txt"] => 0;
    stat_dir_type: ["stat", "-c", "%F %n", "data/tree", "data/tree/alpha/beta"] => 0;

    find_files_sorted: ["sh", "-c", "find data -type f | sort"] => 0;
    find_dirs_by_name: ["sh", "-c", "find data/tree -type d -name '*a*' | sort"] => 0;

    xxd_dump: ["xxd", "data/blob.bin"] => 0;
    xxd_columns: ["xxd", "-l", "64", "-c", "8", "data/blob2.bin"] => 0;
    hexdump_canonical: ["hexdump", "-C", "data/blob.bin"] => 0;

    base64_encode: ["base64", "data/usertests.txt"] => 0;
    base64_round_trip: ["sh", "-c", "base64 data/blob.bin | base64 -d | cmp - data/blob.bin && echo same"] => 0;

    cmp_identical: ["cmp", "data/blob.bin", "data/blob.bin"] => 0;
    cmp_differ: ["cmp", "data/blob.bin", "data/blob2.bin"] => 1;
    cmp_list_bytes: ["cmp", "-l", "data/blob.bin", "data/blob2.bin"] => 1;

    nl_numbered: ["nl", "data/settings.conf"] => 0;
    rev_lines: ["rev", "data/usertests.txt"] => 0;
    tac_lines: ["tac", "data/repeats.txt"] => 0;
    fold_width: ["fold", "-w", "20", "data/usertests.txt"] => 0;
    crc32_file: ["crc32", "data/words.txt"] => 0;
    paste_columns: ["paste", "-d", ":", "data/repeats.txt", "data/usertests.txt"] => 0;
    dd_slice: ["dd", "if=data/blob.bin", "bs=16", "skip=4", "count=2"] => 0;
    strings_blob: ["strings", "-n", "6", "data/blob.bin"] => 0;
    date_fixed_epoch: ["date", "-u", "-d", "@1700000000", "+%Y-%m-%d %H:%M:%S"] => 0;
    factor_number: ["factor", "360", "9973"] => 0;
    test_dir_false: ["test", "-d", "data/words.txt"] => 1;
    false_exits_1: ["false"] => 1;
}
