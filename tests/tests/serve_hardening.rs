//! `glass run --serve` and the 9P clients (`glass 9p`, `glass debug`) as a careless or
//! hostile user meets them: where serving is refused, the warning for keyless loopback TCP,
//! a private Unix socket gone when glass exits, `--auth KEYFILE` on both ends, and the
//! clients' `--timeout` against a server that never answers. Only loopback and Unix sockets
//! are ever connected to.

use glass_tests::{glass_bin, guest_root, run_glass};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glass-sh-{}-{name}", std::process::id()))
}

/// `glass run --root ROOT --hang --serve ADDR EXTRA… -- /bin/true`: the first process waits
/// stopped, so the machine lives until a client starts it. Returns the child, the address
/// printed on its serving line, and the stderr lines after it (read on a thread).
struct Hung {
    child: Child,
    addr: String,
    rest: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Hung {
    fn start(addr: &str, extra: &[&str]) -> Hung {
        let mut child = Command::new(glass_bin())
            .arg("run")
            .arg("--root")
            .arg(guest_root())
            .arg("--hang")
            .args(["--serve", addr])
            .args(extra)
            .args(["--", "/bin/true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn glass run");
        let mut err = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        err.read_line(&mut line).expect("stderr line");
        let addr = line
            .strip_prefix("glass: serving /proc on ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no serving line: {line:?}"))
            .to_string();
        let rest = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let r2 = rest.clone();
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                r2.lock().unwrap_or_else(|p| p.into_inner()).push(l);
            }
        });
        Hung { child, addr, rest }
    }

    fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_rest(&self) -> Vec<String> {
        self.rest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Hung {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_key(name: &str, contents: &[u8], mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = tmp(name);
    std::fs::write(&p, contents).expect("write key");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

fn glass9p(args: &[&str]) -> (i32, String, String) {
    let out = run_glass(&[&["9p"], args].concat());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_any_address_without_auth_refused_with_message() {
    let out = run_glass(&[
        "run",
        "--root",
        guest_root().to_str().expect("utf-8 root"),
        "--serve",
        "0.0.0.0:0",
        "--",
        "/bin/true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refusing to serve /proc on 0.0.0.0:0 without --auth"),
        "{err}"
    );
    assert!(!err.contains("serving /proc on"), "{err}");
}

#[test]
fn serve_loopback_tcp_without_auth_warns_once() {
    let mut m = Hung::start("127.0.0.1:0", &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.stderr_rest().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let rest = m.stderr_rest();
    let warnings: Vec<_> = rest.iter().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{rest:?}");
    assert!(
        warnings[0].contains(&format!(
            "/proc on {} has no authentication: anyone who can connect to that loopback port on this host",
            m.addr
        )),
        "{}",
        warnings[0]
    );
    // Start the hung process: the machine ends.
    let (code, _, err) = glass9p(&["-a", &m.addr, "write", "/1/ctl", "start"]);
    assert_eq!(code, 0, "{err}");
    assert!(m.wait_exit(30).is_some());
}

#[test]
fn serve_unix_socket_0600_and_removed_when_machine_ends() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let sock = tmp("serve.sock");
    let mut m = Hung::start(&format!("unix:{}", sock.display()), &[]);
    let md = std::fs::symlink_metadata(&sock).expect("socket");
    assert!(md.file_type().is_socket());
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    let (code, out, err) = glass9p(&["-a", &m.addr, "ls", "/"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == "1"), "{out}");
    assert!(m.stderr_rest().iter().all(|l| !l.contains("warning")));
    let (code, _, err) = glass9p(&["-a", &m.addr, "write", "/1/ctl", "start"]);
    assert_eq!(code, 0, "{err}");
    let st = m.wait_exit(30).expect("machine ended");
    assert!(st.success(), "{st:?}");
    assert!(!sock.exists(), "socket file left behind after exit");
}

#[test]
fn serve_max_conns_refuses_extra_connection_then_serves_again() {
    use proc_model::ninep::client::Client;
    let sock = tmp("max.sock");
    let m = Hung::start(&format!("unix:{}", sock.display()), &["--max-conns", "2"]);
    let user = glass_emulator::machine::host_user();
    let a = Client::connect(&m.addr, &user).expect("first");
    let b = Client::connect(&m.addr, &user).expect("second");
    // The third is accepted and closed at once: the handshake finds the stream ended.
    assert!(
        Client::connect(&m.addr, &user).is_err(),
        "a third connection was served"
    );
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        match Client::connect(&m.addr, &user) {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "no slot freed: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert!(c.ls("/").expect("ls").iter().any(|s| s.name == "1"));
    drop(b);
}

#[test]
fn serve_unix_socket_removed_when_glass_terminated() {
    let sock = tmp("term.sock");
    let mut m = Hung::start(&format!("unix:{}", sock.display()), &[]);
    assert!(sock.exists());
    let killed = Command::new("kill")
        .args(["-TERM", &m.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let st = m.wait_exit(30).expect("glass ended");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(15), "still dies of SIGTERM: {st:?}");
    assert!(!sock.exists(), "socket file left behind after SIGTERM");
}

#[test]
fn auth_keyfile_keyless_and_wrong_key_refused_right_key_works() {
    let key = write_key("key", b"0123456789abcdef0123456789abcdef\n", 0o600);
    let wrong = write_key("wrong", b"fedcba9876543210fedcba9876543210\n", 0o600);
    let key_s = key.to_str().expect("utf-8");
    let m = Hung::start("127.0.0.1:0", &["--auth", key_s]);
    let (code, _, err) = glass9p(&["-a", &m.addr, "ls", "/"]);
    assert_ne!(code, 0);
    assert!(err.contains("not authenticated"), "{err}");
    let (code, _, err) = glass9p(&[
        "-a",
        &m.addr,
        "--auth",
        wrong.to_str().expect("utf-8"),
        "ls",
        "/",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("authentication failed"), "{err}");
    let (code, out, err) = glass9p(&["-a", &m.addr, "--auth", key_s, "ls", "/"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == "1"), "{out}");
    // With a key, TCP needs no warning (it is printed, if at all, right after the serving
    // line, long before these clients ran).
    assert!(
        m.stderr_rest().iter().all(|l| !l.contains("warning")),
        "{:?}",
        m.stderr_rest()
    );
    for f in [key, wrong] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn auth_keyfile_readable_by_others_refused() {
    let key = write_key("open-key", b"0123456789abcdef0123456789abcdef", 0o644);
    let out = run_glass(&[
        "run",
        "--root",
        guest_root().to_str().expect("utf-8 root"),
        "--serve",
        "127.0.0.1:0",
        "--auth",
        key.to_str().expect("utf-8"),
        "--",
        "/bin/true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("readable by group or others"), "{err}");
    let _ = std::fs::remove_file(key);
}

/// A loopback listener that accepts connections and never says a word.
fn silent_server() -> (String, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().take(1).map_while(Result::ok) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(8));
    });
    (addr, h)
}

fn assert_times_out(cmd: &[&str], code: i32) {
    let t0 = Instant::now();
    let out = run_glass(cmd);
    let took = t0.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(
        err.contains("timed out: no answer from the server within 1 s"),
        "{err}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn ninep_client_silent_server_times_out_with_message() {
    let (addr, h) = silent_server();
    assert_times_out(&["9p", "-a", &addr, "--timeout", "1", "ls", "/"], 2);
    drop(h);
}

#[test]
fn debug_silent_server_times_out_with_message() {
    let (addr, h) = silent_server();
    assert_times_out(&["debug", "-a", &addr, "--timeout", "1", "1"], 1);
    drop(h);
}
