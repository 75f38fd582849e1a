//! Busybox sh scripts natively and under glass: each `tests/scripts/NAME.sh` is copied into the
//! guest root as `scripts/NAME.sh`, then run as `/bin/busybox sh scripts/NAME.sh` on the host
//! (cwd = the guest root `build/root`, the environment glass gives its guests) and as
//! `glass run -- /bin/busybox sh scripts/NAME.sh` (guest cwd `/`). Stdout, stderr and the exit
//! status must be byte-identical, and the native exit status must be the one the case pins, so a
//! script that breaks natively is noticed too. The same scripts then run under Debian's arm64
//! busybox (`/aarch64/bin/busybox`) and must give the native amd64 output.
//!
//! The scripts read the bundled data through relative paths (`data/…`) and write scratch files
//! only under `tmp/NAME` (or `tmp/NAME.*`), removing them before they end: the native run shares
//! `build/root/tmp`, so the harness clears leftovers of a broken run first and fails a script
//! that leaves any behind. One native run per script serves both arches.

use glass_tests::{
    both_outputs, first_difference, glass_bin, guest_env, guest_root, repo_root, show, status_code,
};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The arm64 run's environment: the same, but `PATH` names the arm64 applet links, so any
/// command the shell finds through `PATH` rather than as its own applet stays arm64 too.
const ARM64_ENV: &[&str] = &["PATH=/aarch64/bin", "HOME=/", "TERM=dumb"];

/// A run that takes longer than this is killed and reported (a hang must not stall the suite).
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of a script gave.
#[derive(Debug)]
struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: i32,
    timed_out: bool,
}

/// Which busybox runs the script under glass.
#[derive(Clone, Copy)]
enum Guest {
    X86_64,
    Aarch64,
}

/// Run a command with stdin empty, collecting stdout and stderr; kill it after `TIMEOUT`.
fn run(mut cmd: Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(s) => break s,
            None if start.elapsed() > TIMEOUT => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Run {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        exit: status_code(status),
        timed_out,
    }
}

/// Copy `tests/scripts/*.sh` into `<root>/scripts/` once per test process. Each file is written
/// under a temporary name and renamed into place, so parallel tests (and parallel test
/// processes) never see a half-written script; an up-to-date copy is left alone.
fn install_scripts() -> &'static Path {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let root = guest_root();
        assert!(
            root.join("bin/busybox").exists() && root.join("aarch64/bin/busybox").exists(),
            "{} is incomplete: run tools/scripts/setup.sh (or guest-images/build.sh && \
             guest-images/populate-root.sh build/root) first",
            root.display()
        );
        let dest = root.join("scripts");
        std::fs::create_dir_all(&dest).expect("create the guest root's scripts/");
        for name in script_files() {
            let src = std::fs::read(scripts_dir().join(&name)).expect("read a script");
            let to = dest.join(&name);
            if std::fs::read(&to).is_ok_and(|old| old == src) {
                continue;
            }
            let tmp = dest.join(format!(".{name}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, &src).expect("write a script copy");
            std::fs::rename(&tmp, &to).expect("rename a script copy into place");
        }
        root
    })
}

fn scripts_dir() -> PathBuf {
    repo_root().join("tests").join("scripts")
}

/// The `*.sh` file names in `tests/scripts`, sorted.
fn script_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(scripts_dir())
        .expect("read tests/scripts")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    v.sort();
    v
}

/// Entries of the native `tmp/` that belong to script `name` (`name` or `name.*`).
fn scratch_of(root: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(root.join("tmp")) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = dir
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().into_string().ok()?;
            (n == name || n.starts_with(&format!("{name}."))).then(|| e.path())
        })
        .collect();
    v.sort();
    v
}

/// One script's native run, filled in by whichever test gets there first.
type NativeCell = Arc<OnceLock<Arc<Run>>>;

/// The native run of script `name`, made once and shared by the x86_64 and arm64 tests.
fn native(name: &'static str) -> Arc<Run> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, NativeCell>>> = OnceLock::new();
    let cell = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name)
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let root = install_scripts();
        for p in scratch_of(root, name) {
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
        let mut cmd = glass_tests::oracle("/bin/busybox");
        cmd.args(["sh", &format!("scripts/{name}.sh")])
            .current_dir(root)
            .env_clear()
            .envs(guest_env());
        let r = run(cmd);
        let left = scratch_of(root, name);
        for p in &left {
            let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
        }
        assert!(
            left.is_empty(),
            "[{name}] the native run left scratch files behind: {left:?}"
        );
        Arc::new(r)
    })
    .clone()
}

/// The script `name` under glass with the given busybox.
fn under_glass(name: &str, guest: Guest) -> Run {
    let root = install_scripts().display().to_string();
    let script = format!("scripts/{name}.sh");
    let mut cmd = Command::new(glass_bin());
    cmd.args(["run", "--root", &root]);
    let busybox = match guest {
        Guest::X86_64 => "/bin/busybox",
        Guest::Aarch64 => {
            for e in ARM64_ENV {
                cmd.args(["--env", e]);
            }
            "/aarch64/bin/busybox"
        }
    };
    cmd.args(["--", busybox, "sh", &script]);
    run(cmd)
}

/// Run script `name` natively and under glass with `guest`; panic with a readable report on
/// any difference. `want_exit` pins the native exit status.
fn check(name: &'static str, guest: Guest, want_exit: i32) {
    let native = native(name);
    assert!(
        !native.timed_out && native.exit == want_exit,
        "[{name}] native `busybox sh scripts/{name}.sh` exited {}{}, the case expects \
         {want_exit}\n--- stdout:\n{}\n--- stderr:\n{}",
        native.exit,
        if native.timed_out { " (timed out)" } else { "" },
        show(&native.stdout),
        show(&native.stderr)
    );
    let glass = under_glass(name, guest);
    let arch = match guest {
        Guest::X86_64 => "x86_64",
        Guest::Aarch64 => "arm64",
    };
    let mut problems = Vec::new();
    if glass.timed_out {
        problems.push(format!("glass timed out after {TIMEOUT:?}"));
    }
    if let Some(d) = first_difference(&native.stdout, &glass.stdout) {
        problems.push(format!("stdout: {d}"));
    }
    if let Some(d) = first_difference(&native.stderr, &glass.stderr) {
        problems.push(format!("stderr: {d}"));
    }
    if glass.exit != native.exit {
        problems.push(format!(
            "exit status: native {}, glass {}",
            native.exit, glass.exit
        ));
    }
    assert!(
        problems.is_empty(),
        "[{name}, {arch} busybox under glass] differs from native:\n{}\n{}",
        problems.join("\n"),
        both_outputs(&native.stdout, &glass.stdout, &native.stderr, &glass.stderr)
    );
}

/// `name => native exit status;` becomes `x86_64::name` and `aarch64::name`, each running
/// `tests/scripts/name.sh`. Attributes before a case (`#[ignore = "why"]`) apply to both.
macro_rules! scripts {
    ($($(#[$attr:meta])* $name:ident => $exit:expr;)+) => {
        /// Every script with a case, for the check that none is forgotten.
        const CASES: &[&str] = &[$(stringify!($name)),+];

        /// Each script under the x86_64 busybox.
        mod x86_64 {
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    super::check(stringify!($name), super::Guest::X86_64, $exit);
                }
            )+
        }

        /// Each script under the arm64 busybox, against the native amd64 run.
        mod aarch64 {
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    super::check(stringify!($name), super::Guest::Aarch64, $exit);
                }
            )+
        }
    };
}

scripts! {
    arithmetic => 0;
    background_jobs => 0;
    big_data_pipes => 0;
    case_dispatch => 0;
    command_substitution => 0;
    config_parser => 0;
    csv_summary => 0;
    errors_and_messages => 2;
    eval_and_positional => 0;
    exec_arg_limits => 0;
    exec_redirections => 0;
    exit_status => 17;
    exit_trap_status => 1;
    file_operations => 0;
    file_times => 0;
    find_uniq_count => 0;
    functions => 0;
    heredoc_expansion => 0;
    heredoc_functions => 0;
    job_pool => 0;
    log_report => 0;
    loops => 0;
    map_reduce => 0;
    nested_substitution => 0;
    numeric_report => 0;
    parameter_expansion => 0;
    pipe_signals => 0;
    pipelines => 0;
    read_pipe_loop => 0;
    retry_loop => 0;
    scripts_and_exec => 9;
    set_e_abort => 7;
    set_e_variants => 1;
    shell_options => 0;
    signals_and_jobs => 0;
    stack_use => 0;
    stderr_ordering => 0;
    string_processing => 0;
    subshells => 0;
    tmp_files => 0;
    trap_exit_usr1 => 3;
    trap_signals => 143;
    tree_walk => 0;
    word_frequency => 0;
    word_index => 0;
    xargs_usage => 0;
}

#[test]
fn every_script_has_a_case_and_a_comment() {
    let files = script_files();
    let names: Vec<&str> = files.iter().map(|f| f.trim_end_matches(".sh")).collect();
    let mut cases = CASES.to_vec();
    cases.sort_unstable();
    assert_eq!(
        names, cases,
        "tests/scripts/*.sh and the cases here must match"
    );
    assert!(names.len() >= 30, "the suite needs at least 30 scripts");
    for f in &files {
        let text = std::fs::read_to_string(scripts_dir().join(f)).expect("read a script");
        assert!(
            text.starts_with("# ") && text.lines().next().is_some_and(|l| l.len() > 10),
            "{f}: the first line must be a `# ` comment saying what the script exercises"
        );
    }
}
