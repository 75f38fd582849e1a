//! Shared helpers for Glass's end-to-end tests in `tests/tests/`: where the workspace, the
//! `glass` binary, the default guest root and the built guest images are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The `glass` binary built beside this test executable (`cargo test --workspace` builds it),
/// or `$GLASS_BIN` when set.
pub fn glass_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GLASS_BIN") {
        return PathBuf::from(p);
    }
    // current_exe is target/<profile>/deps/<test>-<hash>; the binary is target/<profile>/glass.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("glass");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build -p glass-tools` or `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// The default guest root made by the setup script: `build/root` (busybox with its applet
/// links in /bin, the x86_64 guest images in /bin, bundled data in /data).
pub fn guest_root() -> PathBuf {
    repo_root().join("build").join("root")
}

/// Built guest images for one arch: `build/guest/<arch>/<name>`.
pub fn guest_image(arch: &str, name: &str) -> PathBuf {
    repo_root()
        .join("build")
        .join("guest")
        .join(arch)
        .join(name)
}

/// A command for a native or qemu-user oracle run. It starts with every signal at its
/// default disposition and an empty signal mask, whatever the test runner inherited (a
/// shell's background job ignores SIGINT), as every guest under glass does, and with stdin
/// empty.
pub fn oracle(program: impl AsRef<std::ffi::OsStr>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(program);
    c.stdin(std::process::Stdio::null());
    // SAFETY: between fork and exec the closure only calls signal(2) and sigprocmask(2),
    // which are async-signal-safe, on the child's own state.
    unsafe {
        c.pre_exec(|| {
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    c
}

/// qemu-aarch64 found through the test's own `PATH` (the oracle runs get another `PATH`, in
/// which a bare name would not be found).
pub fn qemu_aarch64() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("qemu-aarch64"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/qemu-aarch64"))
}

/// Run `glass` with the given arguments (stdin empty) and return its output.
pub fn run_glass(args: &[&str]) -> Output {
    Command::new(glass_bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn glass")
}

/// A `glass run --serve 127.0.0.1:0 …` machine in the background: the /proc address it
/// printed, and its stdout collected as it runs. Dropping it kills the machine.
pub struct ServedMachine {
    child: std::process::Child,
    /// Where /proc is served (`127.0.0.1:PORT`).
    pub addr: String,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// The guest console's input, for machines started with [`ServedMachine::start_piped`].
    pub stdin: Option<std::process::ChildStdin>,
}

impl ServedMachine {
    /// Like [`ServedMachine::start`], with the console's input a pipe the test writes to
    /// (and closes, by taking and dropping `stdin`).
    pub fn start_piped(args: &[&str]) -> ServedMachine {
        Self::start_with(args, true)
    }

    /// Start `glass run --root ROOT --serve 127.0.0.1:0 ARGS…` (ARGS holds any other options,
    /// then `--` and the program) and wait for its "serving /proc on" line.
    pub fn start(args: &[&str]) -> ServedMachine {
        Self::start_with(args, false)
    }

    fn start_with(args: &[&str], piped: bool) -> ServedMachine {
        use std::io::{BufRead, BufReader, Read};
        let root = guest_root();
        let mut child = Command::new(glass_bin())
            .arg("run")
            .arg("--root")
            .arg(&root)
            .args(["--serve", "127.0.0.1:0"])
            .args(args)
            .stdin(if piped {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn glass run --serve");
        let mut err = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        err.read_line(&mut line).expect("read glass stderr");
        let addr = line
            .strip_prefix("glass: serving /proc on ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no serving line from glass: {line:?}"))
            .to_string();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let e2 = stderr.clone();
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                let mut s = e2.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&l);
                s.push('\n');
            }
        });
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let o2 = stdout.clone();
        let mut out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o2.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        });
        let stdin = child.stdin.take();
        ServedMachine {
            child,
            addr,
            stdout,
            stderr,
            stdin,
        }
    }

    /// What the guests printed on stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// What glass printed on stderr after the serving line, so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Wait up to `secs` seconds for the machine to end; its exit code (128+signal when glass
    /// itself was killed), or None if it is still running.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(std::time::Duration::from_millis(50));
                return Some(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)));
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// A 9P client attached as the machine's owner (eve).
    pub fn client(&self) -> proc_model::ninep::client::Client {
        proc_model::ninep::client::Client::connect(
            &self.addr,
            &glass_emulator::machine::host_user(),
        )
        .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr))
    }
}

impl Drop for ServedMachine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address and size of a symbol in a built guest image.
pub fn symbol(arch: &str, image: &str, name: &str) -> (u64, u64) {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(guest_image(arch, image)).expect("guest image");
    let f = object::File::parse(&*bytes).expect("ELF");
    f.symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| (s.address(), s.size()))
        .unwrap_or_else(|| panic!("no symbol {name} in {image}"))
}

/// The environment glass gives its guests by default (`param::DEFAULT_ENV`) as name/value
/// pairs, for the native run of the same program, which must see exactly the same.
pub fn guest_env() -> impl Iterator<Item = (&'static str, &'static str)> {
    glass_emulator::param::DEFAULT_ENV
        .iter()
        .filter_map(|kv| kv.split_once('='))
}

/// An exit status as a number: the code, or 128+signal as a shell (and glass) reports it.
pub fn status_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code()
        .or_else(|| s.signal().map(|sig| 128 + sig))
        .unwrap_or(-1)
}

/// Bytes for a failure message: lossy UTF-8, cut after 4000 bytes.
pub fn show(b: &[u8]) -> String {
    const MAX: usize = 4000;
    let s = String::from_utf8_lossy(&b[..b.len().min(MAX)]).into_owned();
    if b.len() > MAX {
        format!("{s}… ({} bytes in all)", b.len())
    } else {
        s
    }
}

/// Both runs' outputs for a failure report: native stdout, glass stdout, native stderr,
/// glass stderr, each under its own `--- ` heading.
pub fn both_outputs(
    native_out: &[u8],
    glass_out: &[u8],
    native_err: &[u8],
    glass_err: &[u8],
) -> String {
    format!(
        "--- native stdout:\n{}\n--- glass stdout:\n{}\n--- native stderr:\n{}\n\
         --- glass stderr:\n{}",
        show(native_out),
        show(glass_out),
        show(native_err),
        show(glass_err)
    )
}

/// Where two outputs first differ: byte offset, line number, and that line from each side.
pub fn first_difference(native: &[u8], glass: &[u8]) -> Option<String> {
    if native == glass {
        return None;
    }
    let at = native
        .iter()
        .zip(glass)
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| native.len().min(glass.len()));
    let line_no = native[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let line_of = |b: &[u8]| {
        let start = b[..at.min(b.len())]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let end = b[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |i| start + i);
        format!("{:?}", String::from_utf8_lossy(&b[start..end]))
    };
    Some(format!(
        "first difference at byte {at} (line {line_no}; native {} bytes, glass {} bytes)\n  \
         native line: {}\n  glass line:  {}",
        native.len(),
        glass.len(),
        line_of(native),
        line_of(glass)
    ))
}
