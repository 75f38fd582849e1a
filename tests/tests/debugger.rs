//! Process control through /proc against real guests over loopback TCP: `glass debug`
//! scripted (break by name, backtrace, memory change, continue), the same breakpoint driven
//! by an outside client (python-9p) on the files alone, a NULL dereference that leaves a
//! Broken process to inspect (and, under startstop, stops before its note is delivered),
//! and `startsyscall` stepping through busybox `cat` compared with strace of the same
//! binary run natively.
//!
//! Oracles: the ELF symbol table (breakpoint pc, the global's initial value), binutils'
//! addr2line (file:line of each frame), strace (the system calls of the native run), the
//! native run of the faulting guest (the signal its parent sees), and the reference's
//! formats and strings (docs/plan9-proc-9p.md).

use glass_tests::{guest_env, guest_image, guest_root, repo_root, symbol, ServedMachine};
use proc_model::ninep::client::{Client, ClientError};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn status_field(c: &mut Client, pid: u32, i: usize) -> String {
    let st = c
        .read_file(&format!("/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /{pid}/status: {e}"));
    String::from_utf8_lossy(&st)
        .split_whitespace()
        .nth(i)
        .unwrap_or("")
        .to_string()
}

fn write(c: &mut Client, path: &str, data: &[u8]) -> Result<u32, ClientError> {
    c.write_file(path, 0, data)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

/// addr2line's `file:line` (base name) for an address of a built guest image of `arch`
/// (binutils' own, or the cross binutils that come with the cross compilers).
fn addr2line(arch: &str, image: &str, addr: u64) -> String {
    let tool = match arch {
        "x86_64" => "addr2line".to_string(),
        a => format!("{a}-linux-gnu-addr2line"),
    };
    let o = Command::new(tool)
        .arg("-e")
        .arg(guest_image(arch, image))
        .arg(format!("{addr:#x}"))
        .output()
        .expect("addr2line (binutils) runs");
    let s = String::from_utf8_lossy(&o.stdout);
    let line = s.lines().next().unwrap_or("").trim();
    // "/path/to/debugme.c:18" or "…:18 (discriminator 1)"
    let line = line.split(' ').next().unwrap_or(line);
    line.rsplit('/').next().unwrap_or(line).to_string()
}

/// The initial value of a 32-bit global, from the ELF file's section data.
fn initial_i32(arch: &str, image: &str, name: &str) -> i32 {
    use object::{Object, ObjectSection, ObjectSymbol};
    let bytes = std::fs::read(guest_image(arch, image)).expect("image");
    let f = object::File::parse(&*bytes).expect("ELF");
    let s = f.symbols().find(|s| s.name() == Ok(name)).expect("symbol");
    let sec = f
        .section_by_index(s.section_index().expect("section"))
        .expect("section");
    let data = sec.data().expect("data");
    let off = (s.address() - sec.address()) as usize;
    i32::from_le_bytes(data[off..off + 4].try_into().expect("4 bytes"))
}

#[test]
fn debug_break_by_name_backtrace_set_global_and_continue_over_tcp() {
    // Ureg type after a breakpoint: 3 (int3) on amd64.
    debug_flow("x86_64", "/bin/debugme", "0x0000000000000003");
}

#[test]
fn debug_flow_aarch64() {
    // arm64 Ureg type is the exception class: 0x3c for BRK.
    debug_flow("aarch64", "/aarch64/bin/debugme", "0x000000000000003c");
}

#[test]
fn debug_flow_riscv64() {
    // riscv64 cause 3: breakpoint.
    debug_flow("riscv64", "/riscv64/bin/debugme", "0x0000000000000003");
}

/// Run `glass debug -f SCRIPT 1` against the server at `addr` with `commands` as the script;
/// its stdout, a context text for assertion messages (stdout and stderr), and success.
fn run_debug_script(addr: &str, name: &str, commands: &str) -> (String, String, bool) {
    let script =
        std::env::temp_dir().join(format!("glass-debug-{name}-{}.txt", std::process::id()));
    std::fs::write(&script, commands).expect("script");
    let out = Command::new(glass_tests::glass_bin())
        .args(["debug", "-a", addr, "-f"])
        .arg(&script)
        .arg("1")
        .env("USER", glass_emulator::machine::host_user())
        .stdin(Stdio::null())
        .output()
        .expect("glass debug");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let ctx = format!(
        "glass debug output:\n{text}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (text, ctx, out.status.success())
}

/// glass debug, scripted, over TCP against a hung `debugme` of `arch`.
fn debug_flow(arch: &str, program: &str, trap_type: &str) {
    let mut m = ServedMachine::start(&["--hang", "--", program]);
    let (compute, _) = symbol(arch, "debugme", "compute");
    let (counter, _) = symbol(arch, "debugme", "counter");
    let (text, ctx, ok) = run_debug_script(
        &m.addr,
        &format!("test-{arch}"),
        "break compute\ncont\nregs\nbt\nx/4 counter\nset counter = 100\ndelete 1\nstep\ncont\n",
    );

    // The stop: note `sys: breakpoint`, pc at the symbol's address (int3 rewound, §3.2).
    assert!(
        text.lines()
            .any(|l| l.starts_with("sys: breakpoint")
                && l.contains(&format!("at {compute:#x} compute"))),
        "{ctx}"
    );
    // `regs` prints one `name value` line per Ureg field.
    let reg = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no {name} in regs: {ctx}"))
    };
    assert_eq!(reg("pc"), format!("{compute:#018x}"), "{ctx}");
    assert_eq!(reg("type"), trap_type, "Ureg type: {ctx}");

    // The backtrace: compute then main, each at addr2line's file:line (a caller frame's pc is
    // a return address; its line is the call's, at pc-1).
    let frames: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert!(frames.len() >= 2, "{ctx}");
    let f0: Vec<&str> = frames[0].split_whitespace().collect();
    assert_eq!(f0[2], "compute", "{ctx}");
    assert_eq!(f0[3], addr2line(arch, "debugme", compute), "{ctx}");
    let f1: Vec<&str> = frames[1].split_whitespace().collect();
    assert!(f1[2].starts_with("main+"), "{ctx}");
    let ret = u64::from_str_radix(f1[1].trim_start_matches("0x"), 16).expect("frame pc");
    assert_eq!(f1[3], addr2line(arch, "debugme", ret - 1), "{ctx}");
    // The stack ends at _start (its CFI marks the return address undefined).
    let last: Vec<&str> = frames[frames.len() - 1].split_whitespace().collect();
    assert!(last[2].starts_with("_start"), "{ctx}");

    // One instruction (ctl `step`) leaves compute's first instruction: a new pc, in the text.
    let after_step = text
        .lines()
        .skip_while(|l| *l != "(glass) step")
        .nth(1)
        .unwrap_or_else(|| panic!("{ctx}"));
    let stepped = u64::from_str_radix(
        after_step
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_start_matches("0x"),
        16,
    )
    .unwrap_or_else(|_| panic!("step printed no pc: {ctx}"));
    assert_ne!(stepped, compute, "{ctx}");
    assert!(
        after_step.contains("debugme.c:"),
        "the new pc is in the program's own code: {ctx}"
    );

    // The global through mem: its initial value from the ELF, then the new one.
    let init = initial_i32(arch, "debugme", "counter");
    let x = text
        .lines()
        .find(|l| l.starts_with(&format!("{counter:#x}:")))
        .unwrap_or_else(|| panic!("{ctx}"));
    let want: Vec<String> = init
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        x.split_whitespace().skip(1).collect::<Vec<_>>(),
        want,
        "{ctx}"
    );
    assert!(ok, "{ctx}");

    // The guest ran on with the changed global: compute had already been called with the old
    // value (we stopped at its entry), so r = (init+1)*2 and counter prints as 100.
    assert_eq!(m.wait_exit(60), Some(0), "{ctx}");
    assert_eq!(
        m.stdout(),
        format!("counter=100 r={}\n", (init + 1) * 2),
        "{ctx}"
    );
}

#[test]
fn python9p_breakpoint_through_proc_files_alone() {
    let py = repo_root().join("build/venv/python-9p/bin/python");
    if !py.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing in CI",
            py.display()
        );
        eprintln!(
            "skipping: {} missing (run tests/interop/setup-venvs.sh)",
            py.display()
        );
        return;
    }
    let mut m = ServedMachine::start(&["--hang", "--", "/bin/debugme"]);
    let (compute, _) = symbol("x86_64", "debugme", "compute");
    let (counter, _) = symbol("x86_64", "debugme", "counter");
    let o = Command::new(py)
        .arg(repo_root().join("tests/interop/python9p_debug.py"))
        .args([
            &m.addr,
            "1",
            &format!("{compute:#x}"),
            &format!("{counter:#x}"),
            "7",
        ])
        .env("NINEP_UNAME", glass_emulator::machine::host_user())
        .output()
        .expect("python");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let ctx = format!(
        "client output:\n{text}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{ctx}");
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= line: {ctx}"))
            .to_string()
    };
    assert_eq!(get("state"), "Stopped", "{ctx}");
    assert_eq!(get("note"), "sys: breakpoint", "{ctx}");
    assert_eq!(get("pc"), format!("{compute:#x}"), "{ctx}");
    assert_eq!(get("type"), "3", "{ctx}");
    assert_eq!(get("state2"), "Stopped", "{ctx}");
    assert_eq!(get("wrote"), "4", "{ctx}");
    let init = initial_i32("x86_64", "debugme", "counter");
    assert_eq!(m.wait_exit(60), Some(0), "{ctx}");
    assert_eq!(
        m.stdout(),
        format!("counter=7 r={}\n", (init + 1) * 2),
        "{ctx}"
    );
}

/// Poll until `pid`'s status state is `want` (or fail after a while).
fn wait_state(c: &mut Client, pid: u32, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(st) = c.read_file(&format!("/{pid}/status")) {
            if String::from_utf8_lossy(&st).split_whitespace().nth(2) == Some(want) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "pid {pid} never became {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn null_dereference_leaves_broken_child_inspectable() {
    // The oracle for what the parent sees: the same guest natively.
    let mut native = glass_tests::oracle(guest_image("x86_64", "nullderef"))
        .arg("child")
        .stdout(Stdio::piped())
        .spawn()
        .expect("native nullderef");
    let mut first = String::new();
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(native.stdout.take().expect("stdout"));
        r.read_line(&mut first).expect("native line");
    }
    let _ = native.kill();
    let _ = native.wait();
    assert_eq!(first, "child killed by signal 11\n");

    let mut m = ServedMachine::start(&["--", "/bin/nullderef", "child"]);
    let mut c = m.client();
    wait_state(&mut c, 2, "Broken");
    let (deref, deref_size) = symbol("x86_64", "nullderef", "deref");

    // The parent's wait record names the fault with the pc of the faulting load.
    // One record per read; a second read would block until another child ends (proc(3)).
    let rec = String::from_utf8_lossy(&c.read_once("/1/wait", 0, 256).expect("wait")).into_owned();
    let f: Vec<&str> = rec.splitn(5, ' ').collect();
    assert_eq!(f[0], "2", "{rec}");
    assert!(f[1..4].iter().all(|n| n.parse::<u64>().is_ok()), "{rec}");
    let msg = f[4];
    let prefix = "'nullderef 2: sys: trap: fault read addr=0x0 pc=0x";
    assert!(msg.starts_with(prefix) && msg.ends_with('\''), "{rec}");
    let pc = u64::from_str_radix(&msg[prefix.len()..msg.len() - 1], 16).expect("pc");
    assert!(
        (deref..deref + deref_size).contains(&pc),
        "pc {pc:#x} outside deref: {rec}"
    );

    // Broken, yet memory, registers and segments still read.
    assert_eq!(status_field(&mut c, 2, 2), "Broken");
    let seg = String::from_utf8_lossy(&c.read_file("/2/segment").expect("segment")).into_owned();
    assert!(seg.starts_with("Stack "), "{seg}");
    assert!(seg.lines().any(|l| l.starts_with("Text   R")), "{seg}");
    let regs = c.read_file("/2/regs").expect("regs");
    assert_eq!(regs.len(), 184);
    assert_eq!(
        u64_at(&regs, 144),
        pc,
        "Ureg pc is the faulting instruction"
    );
    assert_eq!(u64_at(&regs, 128), 14, "Ureg type 14 (page fault)");
    let text = c
        .read_once("/2/mem", deref, 4)
        .expect("mem of a Broken process");
    let elf = std::fs::read(guest_image("x86_64", "nullderef")).expect("image");
    assert!(
        elf.windows(4).any(|w| w == text.as_slice()),
        "text bytes come from the image"
    );
    // fd of a Broken process reads as empty (no fd group), as on 9front.
    assert_eq!(c.read_file("/2/fd").expect("fd"), b"");

    // The parent saw SIGSEGV in its wait status, as natively.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !m.stdout().contains('\n') && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.stdout(), first);

    // ctl kill releases the Broken process; then the parent.
    write(&mut c, "/2/ctl", b"kill").expect("kill Broken");
    match c.walk("/2") {
        Err(ClientError::Remote(e)) => assert_eq!(e, "file does not exist"),
        other => panic!("walk to a released process: {other:?}"),
    }
    write(&mut c, "/1/ctl", b"kill").expect("kill parent");
    assert!(
        m.wait_exit(30).is_some(),
        "machine ends when pid 1 is killed"
    );
}

#[test]
fn null_dereference_under_startstop_stops_before_delivery() {
    let mut m = ServedMachine::start(&["--hang", "--", "/bin/nullderef"]);
    let mut c = m.client();
    assert_eq!(status_field(&mut c, 1, 2), "Stopped");
    // startstop returns once the fault has posted its note.
    write(&mut c, "/1/ctl", b"startstop").expect("startstop");
    assert_eq!(status_field(&mut c, 1, 2), "Stopped");
    let (deref, size) = symbol("x86_64", "nullderef", "deref");
    let regs = c.read_file("/1/regs").expect("regs");
    let pc = u64_at(&regs, 144);
    assert!((deref..deref + size).contains(&pc), "pc {pc:#x}");
    assert_eq!(u64_at(&regs, 128), 14);
    // The note is still queued, without a pc suffix; reading consumes it (§3.2).
    let note = c.read_once("/1/note", 0, 128).expect("note");
    assert_eq!(note, b"sys: trap: fault read addr=0x0\0");
    assert_eq!(c.read_once("/1/note", 0, 128).expect("note"), b"");
    // A write into memory works only now that it is Stopped; kill ends it.
    write(&mut c, "/1/ctl", b"kill").expect("kill");
    let code = m.wait_exit(30).expect("machine ends");
    assert_eq!(code, 128 + 9, "killed: {}", m.stderr());
}

#[test]
fn keep_serves_proc_after_the_last_process_breaks() {
    let mut m = ServedMachine::start(&["--keep", "--", "/bin/nullderef"]);
    let mut c = m.client();
    wait_state(&mut c, 1, "Broken");
    let seg = String::from_utf8_lossy(&c.read_file("/1/segment").expect("segment")).into_owned();
    assert!(seg.starts_with("Stack "), "{seg}");
    assert_eq!(c.read_file("/1/regs").expect("regs").len(), 184);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(m.wait_exit(0), None, "the machine is kept");
}

/// One system call as strace prints it natively: (name, the line).
fn strace_calls(root: &std::path::Path, args: &[&str]) -> Vec<(String, String)> {
    let log = std::env::temp_dir().join(format!("glass-strace-{}.txt", std::process::id()));
    let st = glass_tests::oracle("strace")
        .arg("-o")
        .arg(&log)
        .arg("/bin/busybox")
        .args(args)
        .current_dir(root)
        .env_clear()
        .envs(guest_env())
        .stdout(Stdio::null())
        .status()
        .expect("strace (Debian package strace) runs");
    assert!(st.success());
    let text = std::fs::read_to_string(&log).expect("strace log");
    let _ = std::fs::remove_file(&log);
    text.lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("execve("))
        .filter_map(|l| Some((l.split('(').next()?.to_string(), l.to_string())))
        .collect()
}

#[test]
fn startsyscall_steps_busybox_cat_like_strace() {
    let root = guest_root();
    let native = strace_calls(&root, &["cat", "data/README"]);
    let mut m = ServedMachine::start(&["--hang", "--", "/bin/cat", "data/README"]);
    let mut c = m.client();
    let mut entries: Vec<String> = Vec::new();
    let mut exits: Vec<String> = Vec::new();
    for _ in 0..400 {
        if write(&mut c, "/1/ctl", b"startsyscall").is_err() {
            break;
        }
        let Ok(t) = c.read_file("/1/syscall") else {
            break;
        };
        let t = String::from_utf8_lossy(&t).into_owned();
        // ratrace's test: an exit line replaces the entry with " = …", so buf[1] is '='.
        if t.as_bytes().get(1) == Some(&b'=') {
            exits.push(t);
        } else {
            entries.push(t);
        }
    }
    assert!(m.wait_exit(30).is_some(), "cat ran to its end");
    // Entry lines: "<pid> <text> <Sysname> <pc> <args…>" (9front syscallfmt).
    let names: Vec<String> = entries
        .iter()
        .map(|e| e.split_whitespace().nth(2).unwrap_or("").to_lowercase())
        .collect();
    let want: Vec<String> = native.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        names, want,
        "system calls under glass vs strace natively:\n{native:#?}\n{entries:#?}"
    );
    assert!(
        entries.iter().all(|e| e.starts_with("1 cat ")),
        "{entries:#?}"
    );
    // Every call but the last (exit_group) also stopped at its exit with its result.
    assert_eq!(exits.len(), entries.len() - 1, "{exits:#?}");
    // 9front sysretfmt: " = <ret> <errstr> <start> <stop>\n", times in ns, start <= stop.
    for x in &exits {
        let f: Vec<&str> = x.trim_end_matches('\n').split(' ').collect();
        assert_eq!((f[0], f[1], f.len()), ("", "=", 6), "{x:?}");
        assert!(x.ends_with('\n'), "{x:?}");
        let (start, stop): (u64, u64) = (f[4].parse().expect("start"), f[5].parse().expect("stop"));
        assert!(start <= stop, "{x:?}");
    }
    // The file calls carry the same arguments and results as natively.
    // The first word after the last " = ": strace's result, or the `syscall` file's.
    let ret_of = |l: &str| -> String {
        l.rsplit(" = ")
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    };
    for (i, (name, line)) in native.iter().enumerate() {
        let result = ret_of(line);
        let ours = exits.get(i).map(String::as_str).unwrap_or("");
        let our_ret = ret_of(ours);
        match name.as_str() {
            "openat" => {
                assert!(entries[i].contains("/\"data/README\""), "{}", entries[i]);
                assert_eq!(our_ret, result, "openat: {ours} vs {line}");
            }
            "sendfile" | "read" | "write" | "close" => {
                assert_eq!(our_ret, result, "{name}: {ours} vs {line}");
            }
            _ => {}
        }
    }
    let readme = std::fs::read(root.join("data/README")).expect("README");
    assert_eq!(m.stdout().as_bytes(), readme.as_slice());
}

/// The fd lines of one process: (fd, mode, device letter, qid path) for each open fd.
fn fd_entries(c: &mut Client, pid: u32) -> Vec<(u32, String, String, String)> {
    let t = String::from_utf8_lossy(&c.read_file(&format!("/{pid}/fd")).expect("fd")).into_owned();
    t.lines()
        .skip(1)
        .map(|l| {
            // "%3d %.2s %C %4ld (%.16llux %lud %.2ux) …": mode is two characters.
            let fd = l[..3].trim().parse().expect("fd number");
            let mode = l[4..6].trim().to_string();
            let dev = l[7..8].to_string();
            let qid = l
                .split('(')
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or("")
                .to_string();
            (fd, mode, dev, qid)
        })
        .collect()
}

#[test]
fn proc_shows_every_process_of_a_pipeline_and_its_pipe_ends() {
    // A writer that never ends, so every stage is alive while /proc is read; killing the
    // writer through ctl ends the pipeline. (Not `cat` on the console: a guest read of the
    // console blocks the machine thread until host input arrives.)
    let mut m = ServedMachine::start(&[
        "--",
        "/bin/sh",
        "-c",
        "while :; do echo x; done | tr x y | wc -c",
    ]);
    let mut c = m.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let names = loop {
        let ls = c.ls("/").expect("ls /");
        let mut names = Vec::new();
        for e in ls.iter().filter(|e| e.name != "trace") {
            let st = c
                .read_file(&format!("/{}/status", e.name))
                .unwrap_or_default();
            let st = String::from_utf8_lossy(&st).into_owned();
            let f: Vec<&str> = st.split_whitespace().collect();
            if f.len() > 2 {
                names.push((e.name.clone(), f[0].to_string(), f[2].to_string()));
            }
        }
        if names.len() == 4 && names.iter().any(|n| n.1 == "wc") {
            break names;
        }
        assert!(
            Instant::now() < deadline,
            "pipeline never started: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // sh, then its children in the order it forked them: the loop's subshell, tr, wc.
    let listed: Vec<(&str, &str)> = names.iter().map(|n| (n.0.as_str(), n.1.as_str())).collect();
    assert_eq!(
        listed,
        [("1", "sh"), ("2", "sh"), ("3", "tr"), ("4", "wc")],
        "{names:?}"
    );
    assert_eq!(
        names[0].2, "Await",
        "the shell waits for its children: {names:?}"
    );
    for p in 2..=4 {
        let ppid = String::from_utf8_lossy(&c.read_file(&format!("/{p}/ppid")).expect("ppid"))
            .into_owned();
        assert_eq!(ppid, "          1 ", "ppid of {p}");
    }
    let find = |v: &[(u32, String, String, String)], fd: u32| {
        v.iter()
            .find(|e| e.0 == fd)
            .cloned()
            .unwrap_or_else(|| panic!("fd {fd} in {v:?}"))
    };
    let loop_fd = fd_entries(&mut c, 2);
    let tr_fd = fd_entries(&mut c, 3);
    let wc_fd = fd_entries(&mut c, 4);
    // The loop writes pipe A; tr reads A and writes pipe B; wc reads B, writes the console.
    let a_w = find(&loop_fd, 1);
    let a_r = find(&tr_fd, 0);
    let b_w = find(&tr_fd, 1);
    let b_r = find(&wc_fd, 0);
    assert_eq!((a_w.1.as_str(), a_w.2.as_str()), ("w", "|"), "{loop_fd:?}");
    assert_eq!((a_r.1.as_str(), a_r.2.as_str()), ("r", "|"), "{tr_fd:?}");
    assert_eq!((b_w.1.as_str(), b_w.2.as_str()), ("w", "|"), "{tr_fd:?}");
    assert_eq!((b_r.1.as_str(), b_r.2.as_str()), ("r", "|"), "{wc_fd:?}");
    assert_eq!(find(&wc_fd, 1).2, "c", "{wc_fd:?}");
    assert_eq!(a_w.3, a_r.3, "both ends of pipe A share a qid");
    assert_eq!(b_w.3, b_r.3, "both ends of pipe B share a qid");
    assert_ne!(a_w.3, b_w.3, "two pipes, two qids");
    // The shell closed its copies of both pipes after forking.
    let sh_fd = fd_entries(&mut c, 1);
    assert!(sh_fd.iter().all(|e| e.2 != "|"), "{sh_fd:?}");

    // Kill the writer: tr sees EOF, wc prints its count, the shell exits with wc's status.
    write(&mut c, "/2/ctl", b"kill").expect("kill the loop");
    assert_eq!(m.wait_exit(30), Some(0), "{}", m.stderr());
    let n: u64 = m
        .stdout()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("count: {:?}", m.stdout()));
    assert!(
        n > 0 && n.is_multiple_of(2),
        "wc counted whole \"y\\n\" lines: {n}"
    );
}

/// While /proc is served, a guest waiting for console input holds up nothing: another
/// process runs to its end, /proc answers (the shell shows as waiting in a read or poll), and
/// the input, once it comes, reaches `read` and then `cat` (which reads with sendfile).
#[test]
fn console_wait_leaves_proc_and_other_processes_running() {
    use std::io::Write as _;
    let mut m = ServedMachine::start_piped(&[
        "--",
        "/bin/sh",
        "-c",
        "(i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo loop done) & read line; echo got $line; cat; wait",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !m.stdout().contains("loop done") {
        assert!(
            Instant::now() < deadline,
            "the other process never finished while the shell waited for input: {:?} {}",
            m.stdout(),
            m.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!m.stdout().contains("got"), "{}", m.stdout());
    // /proc answers while the shell waits (from a thread, so a hang fails instead of hanging).
    let addr = m.addr.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut c = Client::connect(&addr, &glass_emulator::machine::host_user()).expect("connect");
        let _ = tx.send(
            c.read_file("/1/status")
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        );
    });
    let status = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("/proc did not answer while the guest waited for the console")
        .expect("status");
    let state = status.split_whitespace().nth(2).unwrap_or("").to_string();
    assert!(state == "Pread" || state == "Poll", "{status}");
    let mut stdin = m.stdin.take().expect("stdin");
    stdin.write_all(b"hello\nworld\n").expect("write stdin");
    drop(stdin);
    assert_eq!(m.wait_exit(30), Some(0), "{}", m.stderr());
    assert_eq!(m.stdout(), "loop done\ngot hello\nworld\n");
}

/// The console reader starts at the first console read or poll: a served guest that never
/// reads leaves the host's input to whoever reads it next.
#[test]
fn console_input_not_read_by_a_guest_stays_with_the_host() {
    use std::io::Write as _;
    let root = guest_root();
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" run --root \"$1\" --serve 127.0.0.1:0 -- /bin/true 2>/dev/null; echo \"left: $(cat)\"")
        .arg(glass_tests::glass_bin())
        .arg(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh");
    sh.stdin
        .take()
        .expect("stdin")
        .write_all(b"typed ahead\n")
        .expect("write");
    let out = sh.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "left: typed ahead\n");
}

/// The objdump line of the instruction just before `pc` in `func` of guest `image`.
fn insn_before(arch: &str, image: &str, func: &str, pc: u64) -> String {
    let tool = match arch {
        "x86_64" => "objdump".to_string(),
        a => format!("{a}-linux-gnu-objdump"),
    };
    let o = Command::new(tool)
        .args(["-d", "--no-show-raw-insn"])
        .arg(format!("--disassemble={func}"))
        .arg(guest_image(arch, image))
        .output()
        .expect("objdump (binutils) runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let at = format!("{pc:x}:");
    let i = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&at))
        .unwrap_or_else(|| panic!("{pc:#x} is no instruction of {func}:\n{text}"));
    lines[i - 1].to_string()
}

#[test]
fn debug_watch_stops_at_the_writing_instruction() {
    debug_watch("x86_64", "/bin/watchme");
}

#[test]
fn debug_watch_aarch64() {
    debug_watch("aarch64", "/aarch64/bin/watchme");
}

/// glass debug `watch counter` on a hung `watchme`: the stop names the watchpoint and the
/// source line of the store (addr2line of the instruction before pc, which objdump shows
/// is the store to counter), the value is the first one stored; `unwatch` lets it finish.
fn debug_watch(arch: &str, program: &str) {
    let mut m = ServedMachine::start(&["--hang", "--", program]);
    let (text, ctx, ok) = run_debug_script(
        &m.addr,
        &format!("watch-{arch}"),
        "watch -w counter\ncont\nprint counter\nunwatch\ncont\n",
    );
    assert!(ok, "{ctx}");
    let (counter, _) = symbol(arch, "watchme", "counter");
    assert!(
        text.lines()
            .any(|l| l.starts_with("watchpoint 0: -w- ") && l.contains(&format!("{counter:#x}"))),
        "{ctx}"
    );
    // The stop: 9front's note, the entry, then pc (past the store: a trap) and the line
    // of the store itself.
    let stop = text
        .lines()
        .find(|l| l.starts_with("sys: watchpoint 0 (watchpoint 0: -w- counter 8) after 0x"))
        .unwrap_or_else(|| panic!("no watchpoint stop: {ctx}"));
    let pc = u64::from_str_radix(
        stop.split_whitespace()
            .nth(9)
            .unwrap_or("")
            .trim_start_matches("0x"),
        16,
    )
    .unwrap_or_else(|_| panic!("no pc in {stop:?}"));
    let store = insn_before(arch, "watchme", "main", pc);
    let insn = store.split('\t').nth(1).unwrap_or("");
    assert!(
        insn.starts_with("mov") || insn.starts_with("str"),
        "not a store before pc: {store}"
    );
    // The source line of the store, from the guest's source.
    let src = std::fs::read_to_string(glass_tests::repo_root().join("guest-images/src/watchme.c"))
        .expect("source");
    let line = src
        .lines()
        .position(|l| l.trim() == "counter = counter + 1;")
        .expect("store line")
        + 1;
    assert!(
        stop.ends_with(&format!("watchme.c:{line}")),
        "{stop:?} is not at watchme.c:{line}"
    );
    assert_eq!(
        addr2line(arch, "watchme", pc - 1),
        format!("watchme.c:{line}"),
        "addr2line agrees: {ctx}"
    );
    assert!(text.lines().any(|l| l == "counter = 1"), "{ctx}");
    assert!(text.lines().any(|l| l == "0 watchpoints left"), "{ctx}");
    assert!(text.lines().any(|l| l == "process exited"), "{ctx}");
    assert_eq!(m.wait_exit(60), Some(0), "{ctx}");
    assert_eq!(m.stdout(), "counter=1000 total=3000 ticks=1000\n");
}
