//! /proc of a real running guest, served by `glass run --serve` on a loopback port, read by
//! outside 9P clients nobody here wrote: python-9p (plan9port's C codec, plain 9P2000) and
//! p9fs (asks for 9P2000.L first, then falls back). They list /proc, read `status` and
//! `segment`, read a global's bytes through `mem` at the address the ELF symbol table gives,
//! and get Plan 9's exact error strings for a gap read and a write while running.

use glass_tests::{repo_root, symbol, ServedMachine};
use std::process::Command;

/// `glass run --serve 127.0.0.1:0 -- /bin/target`, its port learnt from stderr.
fn start_target() -> ServedMachine {
    ServedMachine::start(&["--", "/bin/target"])
}

fn marker_addr() -> u64 {
    symbol("x86_64", "target", "marker").0
}

/// Run one of the interop clients; (stdout, success). Skips (None) when its venv is missing.
fn client(which: &str, args: &[&str]) -> Option<(String, bool)> {
    let (venv, script) = match which {
        "python-9p" => ("python-9p", "python9p_client.py"),
        _ => ("p9fs", "p9fs_client.py"),
    };
    let py = repo_root().join("build/venv").join(venv).join("bin/python");
    if !py.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing in CI: setup did not run",
            py.display()
        );
        eprintln!(
            "skipping {which}: {} missing (run tests/interop/setup-venvs.sh)",
            py.display()
        );
        return None;
    }
    let o = Command::new(py)
        .arg(repo_root().join("tests/interop").join(script))
        .args(args)
        .env(
            "NINEP_UNAME",
            std::env::var("USER").unwrap_or_else(|_| "glass".into()),
        )
        .output()
        .expect("run client");
    Some((
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.success(),
    ))
}

#[test]
fn outside_clients_read_proc_of_running_guest() {
    let m = start_target();
    let marker = marker_addr();
    for which in ["python-9p", "p9fs"] {
        let Some((ls, ok)) = client(which, &[&m.addr, "ls", "/"]) else {
            continue;
        };
        assert!(ok, "{which} ls: {ls}");
        let names: Vec<&str> = ls
            .lines()
            .map(|l| l.split('\t').next().unwrap_or(""))
            .collect();
        assert_eq!(names, ["trace", "1"], "{which}: {ls}");

        let (status, ok) = client(which, &[&m.addr, "read", "/1/status"]).expect("client");
        assert!(ok, "{which}: {status}");
        assert_eq!(
            status.len(),
            176,
            "{which}: status is 176 bytes: {status:?}"
        );
        let f: Vec<&str> = status.split_whitespace().collect();
        assert_eq!(f[0], "target", "{which}: {status:?}");
        assert!(
            ["Running", "Ready"].contains(&f[2]),
            "{which}: state {:?}",
            f[2]
        );

        let (seg, ok) = client(which, &[&m.addr, "read", "/1/segment"]).expect("client");
        assert!(ok && seg.starts_with("Stack "), "{which}: {seg}");
        assert!(
            seg.lines().any(|l| l.starts_with("Text   R")),
            "{which}: {seg}"
        );

        // The global's bytes at the address the symbol table gives.
        let (mem, ok) = client(
            which,
            &[&m.addr, "read", "/1/mem", &marker.to_string(), "34"],
        )
        .expect("client");
        assert!(ok, "{which}: {mem}");
        assert_eq!(mem, "glass: read me through /proc/N/mem", "{which}");

        // A read in a gap between segments, and a write while the process runs.
        let (gap, ok) = client(which, &[&m.addr, "read", "/1/mem", "4096", "16"]).expect("client");
        assert!(!ok);
        assert_eq!(gap.trim(), "error: bad arg in system call", "{which}");
        if which == "python-9p" {
            let (w, ok) = client(
                which,
                &[&m.addr, "write", "/1/mem", "X", &marker.to_string()],
            )
            .expect("client");
            assert!(!ok);
            assert_eq!(w.trim(), "error: bad process or channel control request");
        }
    }
}
