//! Interoperability of the 9P2000 server with real outside clients from PyPI: `python-9p`
//! (plan9port's C codec) and `p9fs` (which asks for 9P2000.L and falls back to 9P2000).
//! The clients live in venvs made by `tests/interop/setup-venvs.sh`; without them this
//! test prints why and passes.

use proc_model::ninep::memtree::MemTree;
use proc_model::ninep::{serve_tcp, serve_unix, ListenAddr, ServerHandle};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's python, or None (with the reason printed) when it has not been set up.
fn venv_python(name: &str) -> Option<PathBuf> {
    let py = repo_root().join("build/venv").join(name).join("bin/python");
    if py.exists() {
        Some(py)
    } else {
        println!(
            "skipping {name} interop: {} missing; run tests/interop/setup-venvs.sh",
            py.display()
        );
        None
    }
}

fn tree() -> Arc<MemTree> {
    let mut t = MemTree::new("glenda");
    t.add_file(
        "README",
        0o444,
        "A static tree served by Glass's 9P2000 server.\n",
    )
    .add_file("dir/hello", 0o444, "hello, world\n")
    .add_file("dir/sub/deep", 0o444, "deep\n")
    .add_file("rw", 0o666, "")
    .add_file(
        "big",
        0o444,
        (0..100_000u32)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    );
    Arc::new(t)
}

fn tcp_server() -> ServerHandle {
    serve_tcp(tree(), TcpListener::bind("127.0.0.1:0").expect("bind")).expect("serve")
}

/// Run a client script; returns (exit status, stdout).
fn run(python: &Path, script: &str, addr: &ListenAddr, args: &[&str]) -> (i32, String) {
    let out = Command::new(python)
        .arg(repo_root().join("tests/interop").join(script))
        .arg(addr.to_string())
        .args(args)
        .output()
        .expect("run python client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "{script} {args:?} -> {:?}\n{stdout}{stderr}",
        out.status.code()
    );
    (out.status.code().unwrap_or(-1), stdout)
}

fn check_client(python: &Path, script: &str, addr: &ListenAddr) {
    let ok = |args: &[&str]| {
        let (code, out) = run(python, script, addr, args);
        assert_eq!(code, 0, "{script} {args:?} failed: {out}");
        out
    };
    assert_eq!(
        ok(&["ls", "/"]),
        "README\tf\t47\ndir\td\t0\nrw\tf\t0\nbig\tf\t100000\n"
    );
    assert_eq!(ok(&["ls", "dir"]), "hello\tf\t13\nsub\td\t0\n");
    assert_eq!(ok(&["read", "dir/hello"]), "hello, world\n");
    assert_eq!(ok(&["read", "big", "99990", "100"]), "uvwxyzabcd");
    assert_eq!(
        ok(&["read", "big"]).len(),
        100_000,
        "a read spanning many messages"
    );
    assert!(ok(&["stat", "dir/hello"]).starts_with("hello\tf\t13\n"));
    let (code, out) = run(python, script, addr, &["stat", "nope"]);
    assert_eq!((code, out.as_str()), (1, "error: file does not exist\n"));
    let (code, out) = run(python, script, addr, &["write", "README", "x"]);
    assert_eq!((code, out.as_str()), (1, "error: permission denied\n"));
}

#[test]
fn interop_python9p_ls_read_stat_and_errors_match() {
    let Some(py) = venv_python("python-9p") else {
        return;
    };
    let server = tcp_server();
    check_client(&py, "python9p_client.py", server.local_addr());
    let (code, out) = run(
        &py,
        "python9p_client.py",
        server.local_addr(),
        &["write", "rw", "written"],
    );
    assert_eq!((code, out.as_str()), (0, "wrote 7\n"));
    let stat = run(
        &py,
        "python9p_client.py",
        server.local_addr(),
        &["stat", "dir/hello"],
    )
    .1;
    assert!(
        stat.ends_with(
            "mode=00000124 uid=glenda gid=glenda muid=glenda qid=(0000000000000003 0 00)\n"
        ),
        "{stat}"
    );
}

#[test]
fn interop_python9p_over_unix_socket_lists() {
    let Some(py) = venv_python("python-9p") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("glass-9p-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("9p.sock");
    let _ = std::fs::remove_file(&path);
    let server = serve_unix(tree(), UnixListener::bind(&path).expect("bind")).expect("serve");
    let (code, out) = run(
        &py,
        "python9p_client.py",
        server.local_addr(),
        &["ls", "dir/sub"],
    );
    assert_eq!((code, out.as_str()), (0, "deep\tf\t5\n"));
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn interop_p9fs_falls_back_to_9p2000_and_matches() {
    let Some(py) = venv_python("p9fs") else {
        return;
    };
    let server = tcp_server();
    check_client(&py, "p9fs_client.py", server.local_addr());
    let (code, out) = run(
        &py,
        "p9fs_client.py",
        server.local_addr(),
        &["write", "rw", "p9fs"],
    );
    assert_eq!((code, out.as_str()), (0, "wrote 4\n"));
    assert_eq!(
        run(&py, "p9fs_client.py", server.local_addr(), &["read", "rw"]).1,
        "p9fs"
    );
}
