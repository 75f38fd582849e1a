//! The Linux /proc and /dev/fd inside the guest (proc(5)): busybox's ps, top, free, uptime
//! and pidof see the machine's processes; /proc/PID/maps lists the ranges of the 9P
//! `segment` file of the same process; /dev/stdin, /dev/fd/N and readlink of
//! /proc/self/exe behave as the same busybox commands run natively; stat, statm, status
//! and limits have Linux's fields (the host's own /proc is the oracle for the layout).

use glass_tests::{guest_env, guest_root, run_glass, show, ServedMachine};
use std::process::{Output, Stdio};

/// `sh -c SCRIPT` under glass (extra glass options first); stdout, asserting exit 0.
fn glass_sh(opts: &[&str], script: &str) -> String {
    let root = guest_root().display().to_string();
    let mut args = vec!["run", "--root", root.as_str()];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
    let out = run_glass(&args);
    assert!(
        out.status.success(),
        "glass sh -c {script:?}: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        show(&out.stdout),
        show(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `busybox sh -c SCRIPT` natively, in the guest root, with stdin `input`, every fd above 2
/// closed (so the listing of /dev/fd does not show what the test runner left open).
fn native_sh(script: &str, input: &[u8]) -> Output {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let mut c = glass_tests::oracle("/bin/busybox");
    c.args(["sh", "-c", script])
        .current_dir(guest_root())
        .env_clear()
        .envs(guest_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: close_range(2) between fork and exec touches only the child's fd table.
    unsafe {
        c.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    let mut child = c.spawn().expect("spawn native busybox");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("native stdin");
    drop(stdin);
    child.wait_with_output().expect("native busybox")
}

/// `sh -c SCRIPT` under glass with console input `input`.
fn glass_sh_input(script: &str, input: &[u8]) -> Output {
    use std::io::Write;
    let root = guest_root().display().to_string();
    let mut child = std::process::Command::new(glass_tests::glass_bin())
        .args(["run", "--root", &root, "--", "/bin/sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn glass");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("glass stdin");
    drop(stdin);
    child.wait_with_output().expect("glass")
}

/// The same script natively and under glass gives the same stdout.
fn same_as_native(script: &str, input: &[u8]) {
    let native = native_sh(script, input);
    let glass = glass_sh_input(script, input);
    assert!(
        native.status.success(),
        "native {script:?} failed: {}",
        show(&native.stderr)
    );
    assert_eq!(
        show(&glass.stdout),
        show(&native.stdout),
        "{script:?}: glass stderr:\n{}",
        show(&glass.stderr)
    );
    assert_eq!(glass.status.code(), native.status.code(), "{script:?}");
}

/// Pids the script printed on its first line (`echo $$ $! …`), then the rest.
fn pids_and_rest(out: &str) -> (Vec<u32>, Vec<String>) {
    let mut lines = out.lines();
    let pids = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|p| p.parse().expect("pid"))
        .collect();
    (pids, lines.map(str::to_string).collect())
}

#[test]
fn ps_lists_each_process_with_its_command() {
    let out = glass_sh(
        &[],
        "sleep 100 & a=$!; sleep 200 & b=$!; echo $$ $a $b; ps; kill $a $b",
    );
    let (pids, rows) = pids_and_rest(&out);
    let [sh, a, b] = pids[..] else {
        panic!("pids: {out}")
    };
    assert!(rows[0].starts_with("PID"), "{out}");
    let row = |pid: u32| {
        rows.iter()
            .find(|r| r.split_whitespace().next() == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("no row for pid {pid}:\n{out}"))
            .clone()
    };
    assert!(row(a).ends_with(" sleep 100"), "{out}");
    assert!(row(b).ends_with(" sleep 200"), "{out}");
    assert!(row(sh).contains("/bin/sh -c sleep 100"), "{out}");
    // Every row is a process the machine has: the shell, its two sleeps, and the
    // shell's children running ps.
    for r in &rows[1..] {
        let pid: u32 = r
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("pid");
        assert!(pid >= sh && pid <= b + 2, "unknown pid in {r:?}:\n{out}");
    }
}

#[test]
fn top_batch_shows_processes_memory_and_load() {
    let out = glass_sh(&[], "sleep 100 & echo $$ $!; top -b -n 1; kill $!");
    let (pids, rows) = pids_and_rest(&out);
    let [sh, a] = pids[..] else { panic!("{out}") };
    assert!(
        rows[0].starts_with("Mem: 524288K used, 524288K free"),
        "{out}"
    );
    assert!(rows[1].starts_with("CPU:"), "{out}");
    assert!(
        rows[2].starts_with("Load average: 0.00 0.00 0.00 "),
        "{out}"
    );
    let sleep = rows
        .iter()
        .find(|r| r.split_whitespace().next() == Some(&a.to_string()))
        .unwrap_or_else(|| panic!("no sleep row:\n{out}"));
    let f: Vec<&str> = sleep.split_whitespace().collect();
    // PID PPID USER STAT VSZ %VSZ %CPU COMMAND
    assert_eq!(f[1], sh.to_string(), "{out}");
    assert_eq!(f[3], "S", "a sleeping process: {out}");
    assert_eq!(&f[7..], ["sleep", "100"], "{out}");
}

#[test]
fn free_reports_the_memory_sysinfo_reports() {
    let out = glass_sh(&[], "free");
    let native = native_sh("free", b"");
    // The header is the same natively; the numbers are the machine's fixed 1 GiB, half free.
    assert_eq!(
        out.lines().next(),
        String::from_utf8_lossy(&native.stdout).lines().next(),
        "{out}"
    );
    let mem: Vec<&str> = out
        .lines()
        .nth(1)
        .expect("Mem line")
        .split_whitespace()
        .collect();
    assert_eq!(&mem[..4], ["Mem:", "1048576", "524288", "524288"], "{out}");
}

#[test]
fn uptime_and_proc_uptime_follow_virtual_time() {
    // A sleep takes no host time but moves the clock: 125 s after boot.
    let out = glass_sh(&[], "sleep 125; uptime; cat /proc/uptime");
    let mut lines = out.lines();
    let up = lines.next().expect("uptime");
    assert!(
        up.starts_with(" 00:02:05 up 2 min,") && up.ends_with("load average: 0.00, 0.00, 0.00"),
        "{out}"
    );
    let secs: f64 = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("seconds");
    assert!((125.0..126.0).contains(&secs), "{out}");
}

#[test]
fn pidof_finds_the_background_process() {
    let out = glass_sh(&[], "sleep 100 & echo $!; pidof sleep; kill $!");
    let mut lines = out.lines();
    assert_eq!(lines.next(), lines.next(), "{out}");
}

#[test]
fn cpuinfo_lists_one_processor_per_guest_cpu() {
    for cpus in ["1", "3"] {
        let out = glass_sh(&["--cpus", cpus], "grep -c ^processor /proc/cpuinfo; nproc");
        assert_eq!(out, format!("{cpus}\n{cpus}\n"));
    }
}

#[test]
fn maps_agrees_with_the_9p_segment_file() {
    maps_against_segment("/bin/busybox");
}

#[test]
fn maps_of_an_aarch64_process_agrees_with_the_9p_segment_file() {
    maps_against_segment("/aarch64/bin/busybox");
}

fn maps_against_segment(busybox: &str) {
    // cat (pid 1) prints its own maps, then waits on the console: its address space stays
    // as it was while the 9P segment file of the same process is read.
    let mut m = ServedMachine::start_piped(&["--", busybox, "cat", "/proc/self/maps", "-"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !m.stdout().contains("[stack]") {
        assert!(
            std::time::Instant::now() < deadline,
            "no maps: {}",
            m.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut c = m.client();
    let seg = String::from_utf8_lossy(&c.read_file("/1/segment").expect("segment")).into_owned();
    drop(m.stdin.take());
    let maps = m.stdout();
    let mut from_maps: Vec<(u64, u64, bool)> = maps
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (a, b) = f[0].split_once('-').expect("range");
            (
                u64::from_str_radix(a, 16).expect("hex"),
                u64::from_str_radix(b, 16).expect("hex"),
                f[1].as_bytes()[1] != b'w',
            )
        })
        .collect();
    let mut from_9p: Vec<(u64, u64, bool)> = seg
        .lines()
        .map(|l| {
            let f: Vec<&str> = l[8..].split_whitespace().collect();
            (
                u64::from_str_radix(f[0], 16).expect("hex"),
                u64::from_str_radix(f[1], 16).expect("hex"),
                l.as_bytes()[7] == b'R',
            )
        })
        .collect();
    from_maps.sort();
    from_9p.sort();
    assert!(from_maps.len() >= 3, "{maps}");
    assert_eq!(from_maps, from_9p, "maps:\n{maps}\nsegment:\n{seg}");
    // Linux's maps line layout (proc(5)): range, perms, offset, dev, inode, [name].
    for l in maps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert!(f.len() == 5 || f.len() == 6, "{l:?}");
        assert!(f[1].len() == 4 && f[1].ends_with('p'), "{l:?}");
        assert_eq!(f[2].len(), 8, "{l:?}");
        assert!(f[3].len() == 5 && f[3].as_bytes()[2] == b':', "{l:?}");
    }
    assert!(
        maps.lines().any(|l| l.ends_with(&format!(" {busybox}"))),
        "{maps}"
    );
}

#[test]
fn dev_stdin_reads_the_console_as_natively() {
    same_as_native("cat /dev/stdin", b"hello\nworld\n");
}

#[test]
fn dev_fd_0_of_a_pipe_reads_the_pipe_as_natively() {
    same_as_native("echo x | cat /dev/fd/0", b"");
}

#[test]
fn dev_fd_of_a_heredoc_pipe_reads_it_as_natively() {
    // What bash's <(…) hands a command: /dev/fd/N naming a pipe (busybox sh feeds a
    // here-document through one).
    same_as_native("cat /dev/fd/3 3<<EOF\nfrom a pipe\nEOF", b"");
}

#[test]
fn dev_stdout_and_stderr_write_where_fds_1_and_2_go_as_natively() {
    same_as_native("echo out > /dev/stdout; echo err > /dev/stderr 2>&1", b"");
}

#[test]
fn ls_dev_fd_lists_the_open_fds_as_natively() {
    same_as_native("ls /dev/fd/; ls /proc/self/fd/ 3</dev/null", b"");
}

#[test]
fn readlink_proc_self_exe_names_the_program_as_natively() {
    // Natively the root's own busybox names itself by its host path, which is the guest
    // path below the root.
    let script = "readlink /proc/self/exe; readlink /proc/thread-self/exe";
    let root = std::fs::canonicalize(guest_root()).expect("root");
    let native = std::process::Command::new(root.join("bin/busybox"))
        .args(["sh", "-c", script])
        .output()
        .expect("native readlink");
    let native = String::from_utf8_lossy(&native.stdout)
        .replace(&format!("{}/", root.to_str().expect("utf-8 root")), "/");
    assert_eq!(native.lines().count(), 2, "{native}");
    assert_eq!(glass_sh(&[], script), native);
}

/// The host's own /proc/self/FILE, read by the host's busybox: the oracle for layouts.
fn host_proc(file: &str) -> String {
    let out = native_sh(&format!("cat /proc/self/{file}"), b"");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn stat_and_statm_have_linux_field_counts() {
    let out = glass_sh(&[], "cat /proc/self/stat /proc/self/statm; echo $$");
    let lines: Vec<&str> = out.lines().collect();
    let stat: Vec<&str> = lines[0].split(' ').collect();
    let host = host_proc("stat");
    assert_eq!(
        stat.len(),
        host.trim_end().split(' ').count(),
        "{out}\nhost: {host}"
    );
    assert_eq!(stat.len(), 52, "proc(5) lists 52 fields: {out}");
    assert_eq!(stat[1], "(cat)");
    assert_eq!(stat[2], "R");
    // cat is a child of the shell.
    assert_eq!(stat[3], lines[2], "{out}");
    assert_eq!(lines[1].split(' ').count(), 7, "statm: {out}");
    assert_eq!(
        lines[1].split(' ').count(),
        host_proc("statm").split(' ').count()
    );
}

#[test]
fn status_keys_are_linux_keys_in_linux_order() {
    let out = glass_sh(&[], "cat /proc/self/status");
    let host = host_proc("status");
    let keys = |s: &str| -> Vec<String> {
        s.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .collect()
    };
    let (ours, theirs) = (keys(&out), keys(&host));
    let mut at = 0;
    for k in &ours {
        let i = theirs[at..]
            .iter()
            .position(|t| t == k)
            .unwrap_or_else(|| panic!("{k} not in the host's status (in order):\n{host}"));
        at += i + 1;
    }
    for k in [
        "Name", "State", "Tgid", "Pid", "PPid", "Uid", "VmSize", "VmRSS", "Threads",
    ] {
        assert!(ours.iter().any(|o| o == k), "{k} missing:\n{out}");
    }
    assert!(out.contains("Name:\tcat\n") && out.contains("State:\tR (running)\n"));
}

#[test]
fn limits_rows_match_the_host_layout() {
    let out = glass_sh(&[], "cat /proc/self/limits");
    let host = host_proc("limits");
    // Names and column layout are Linux's; the values are the guest's.
    let names = |s: &str| -> Vec<String> { s.lines().map(|l| l[..26].to_string()).collect() };
    assert_eq!(names(&out), names(&host));
    assert_eq!(out.lines().next(), host.lines().next());
    assert!(out.contains(
        "\nMax open files            1024                 4096                 files     \n"
    ));
}

#[test]
fn environ_and_cmdline_are_nul_separated_as_natively() {
    // The environment the shell hands cat (the guest's default one natively too, less
    // PWD, which names the host directory natively), and cat's argv.
    same_as_native(
        "unset PWD; export X='a b'; cat /proc/self/environ; echo; cat /proc/self/cmdline",
        b"",
    );
}

#[test]
fn proc_reads_same_run_twice_same_digest() {
    // Everything /proc shows is a function of the run: two runs print the same and end
    // with the same digest.
    let root = guest_root().display().to_string();
    let script = "sleep 3 & cat /proc/self/stat /proc/$!/status /proc/uptime /proc/stat; \
                  ps; ls -l /proc/self/fd/; kill $!";
    let run = || {
        let out = run_glass(&[
            "run", "--digest", "--root", &root, "--", "/bin/sh", "-c", script,
        ]);
        assert!(out.status.success(), "{}", show(&out.stderr));
        (out.stdout, out.stderr)
    };
    let (a, b) = (run(), run());
    let out = String::from_utf8_lossy(&a.0);
    assert!(
        out.contains(" (cat) R ") && out.contains("Name:\tsleep\nUmask:"),
        "{out}"
    );
    assert_eq!(show(&a.0), show(&b.0));
    assert!(String::from_utf8_lossy(&a.1).contains("glass: digest "));
    assert_eq!(show(&a.1), show(&b.1));
}
