//! `glass`: the command line of the Glass machine — run a static Linux program in a
//! deterministic emulated machine, or show the demo workload.

mod bench;
mod bench9p;
mod debug;
mod demo;
mod explore;
mod ninep_cmd;
mod replay;
/// The 9P client lives in proc-model beside the codec, so tests can use it too.
use proc_model::ninep::client as p9client;
mod serve;

use clap::{Parser, Subcommand};
use glass_emulator::{Config, ConsoleIo, Machine};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "glass",
    version,
    about = "A deterministic machine emulator whose processes you can read like files"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a static Linux program inside the emulated machine.
    ///
    /// PROGRAM is a path inside the guest root (absolute, or looked up in the guest's PATH).
    /// glass prints nothing of its own on stdout, passes stdin/stdout/stderr through, and
    /// exits with the guest's exit status (128+signal if it was killed).
    Run(RunArgs),
    /// Run a short demonstration workload from the default root and print its digest.
    Demo(DemoArgs),
    /// Run a program under many schedule seeds and report which ones change its output.
    ///
    /// Each seed gives one deterministic interleaving (see `run --sched-seed`); a seed whose
    /// output differs from the first one's is a race found, and replays with that seed.
    Explore(explore::ExploreArgs),
    /// A small 9P client (plan9port's 9p): ls, read, write, stat files of a /proc server.
    #[command(name = "9p")]
    Ninep(ninep_cmd::NinepArgs),
    /// Debug a process through /proc over 9P: breakpoints, stepping, backtraces, memory.
    Debug(debug::DebugArgs),
    /// Benchmark emulation speed against qemu-user and native runs (medians and ratios).
    Bench(bench::BenchArgs),
    /// Replay a recording (`run --record`): the same outputs, trace and digest, its
    /// checkpoints compared on the way; a divergence is reported with where it happened.
    Replay(replay::ReplayArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    machine: MachineArgs,
    /// Print the run digest as the last line on stderr.
    #[arg(long)]
    digest: bool,
    /// Serve the machine's /proc over 9P2000 while it runs, at host:port (TCP) or unix:PATH;
    /// without a value, 127.0.0.1:5640. Where to connect is printed on stderr. A unix socket
    /// is made mode 0600 and removed when glass exits. TCP must be a loopback address unless
    /// --auth is given; loopback TCP without --auth prints a warning (any local user can
    /// connect and control the machine).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = serve::DEFAULT_ADDR)]
    serve: Option<String>,
    /// With --serve: how many 9P connections are served at once; further ones are accepted
    /// and closed at once (the server goes on).
    #[arg(long, value_name = "N", requires = "serve",
          default_value_t = proc_model::ninep::server::DEFAULT_MAX_CONNS)]
    max_conns: usize,
    /// With --serve: require 9P authentication with the shared key in KEYFILE (at least 16
    /// bytes, trailing whitespace ignored, not readable by group or others): a client must
    /// answer an HMAC-SHA256 challenge through Tauth before it may attach (README
    /// "Authentication"). Needed to serve on a non-loopback address. The stream itself is
    /// not encrypted.
    #[arg(long, value_name = "KEYFILE", requires = "serve")]
    auth: Option<PathBuf>,
    /// With --serve: keep the machine and its /proc after the last process exits or breaks,
    /// until interrupted, so a crash can be examined after the fact.
    #[arg(long, requires = "serve")]
    keep: bool,
    /// Record the run into FILE (docs/recording.md): its parameters, the identity of every
    /// root file it opened, console input and /proc writes with the virtual time they took
    /// effect, and digest checkpoints. `glass replay FILE` reproduces the run.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// With --record: keep the root files the run opened in the recording too, so it replays
    /// without the root.
    #[arg(long, requires = "record")]
    record_root: bool,
    /// The program (a path inside the guest root) and its arguments: any bytes, passed to
    /// the guest unchanged.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]...",
        value_parser = clap::value_parser!(OsString)
    )]
    command: Vec<OsString>,
}

#[derive(clap::Args)]
struct DemoArgs {
    #[command(flatten)]
    machine: MachineArgs,
}

#[derive(clap::Args, Clone)]
pub struct MachineArgs {
    /// Host directory exposed read-only as the guest's `/` (writes go to memory).
    /// Default: $GLASS_ROOT, else the root the setup script builds (build/root).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Working directory of the first process, inside the guest.
    #[arg(long, default_value = "/", value_name = "DIR")]
    cwd: String,
    /// Seed for getrandom, /dev/urandom and AT_RANDOM.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write one JSON line per system call to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write a Chrome trace-event JSON timeline of the run to FILE (opens in Perfetto):
    /// a track per process, system calls and blocked spans as slices, fork/exec/exit as
    /// instants, fork and pipe transfers as flow arrows.
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Set an environment variable for the guest (repeatable); replaces the default
    /// environment (PATH=/bin:/usr/bin HOME=/ TERM=dumb) once given.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = clap::value_parser!(OsString))]
    env: Vec<OsString>,
    /// The virtual wall clock's start: RFC 3339 (2026-03-01T12:00:00Z) or Unix seconds.
    /// Default 2025-01-01T00:00:00Z.
    #[arg(long, value_name = "TIME", value_parser = parse_epoch)]
    epoch: Option<u64>,
    /// Times of the root's files: `fixed` (2025-01-01, the same on every host) or `host`
    /// (each host file's modification time).
    #[arg(long, value_name = "fixed|host", default_value = "fixed",
          value_parser = ["fixed", "host"])]
    root_times: String,
    /// Start the first process stopped, before its first instruction (Plan 9 ctl `hang`), so
    /// a /proc client can set breakpoints before anything runs.
    #[arg(long)]
    hang: bool,
    /// Perturb the schedule with this seed (chaos scheduling): which runnable process runs
    /// next and how long its quantum is are drawn from it. Same seed, same interleaving.
    #[arg(long, value_name = "N")]
    sched_seed: Option<u64>,
    /// Scheduler quantum, in blocks of guest work.
    #[arg(long, default_value_t = glass_emulator::param::QUANTUM_BLOCKS, value_name = "BLOCKS")]
    quantum: u64,
    /// CPUs the guest sees (sched_getaffinity, nproc, Go's GOMAXPROCS default). Threads still
    /// run one at a time on the machine's deterministic scheduler; the count is the same on
    /// every host.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    cpus: u32,
    /// Ceiling over all guest memory (every process's mappings plus a fixed charge per
    /// process) and the in-memory overlay's files: past it mmap/brk/fork/exec answer ENOMEM
    /// and file writes ENOSPC; growth no call can refuse (the stack) kills the largest
    /// process. SIZE takes K, M, G, T suffixes. Default: 4G, or 3/4 of the host's RAM if
    /// less.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Processes and threads alive at once; fork/clone past it answer EAGAIN.
    #[arg(long, value_name = "N", default_value_t = glass_emulator::limits::DEFAULT_MAX_PROCS,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_procs: u32,
    /// End the run (every process killed, glass exits 124) when virtual time passes
    /// VIRTUAL (units ms, s, m, h; default seconds). Default: no limit.
    #[arg(long, value_name = "VIRTUAL", value_parser = parse_duration)]
    max_time: Option<std::time::Duration>,
    /// End the run (every process killed, glass exits 124) after WALL of host time (units
    /// ms, s, m, h; default seconds). Default: no limit.
    #[arg(long, value_name = "WALL", value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Do not print the note on stderr about each system call glass does not implement (it
    /// still answers ENOSYS).
    #[arg(long)]
    quiet_syscalls: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    glass_emulator::budget::parse_size(s)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{s}' is not a size (a number with an optional K, M, G or T)"))
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    glass_emulator::limits::parse_duration(s)
        .ok_or_else(|| format!("'{s}' is not a duration (a number with an optional ms, s, m or h)"))
}

/// The root the setup script builds next to the workspace.
pub fn default_root() -> PathBuf {
    if let Some(r) = std::env::var_os("GLASS_ROOT") {
        return PathBuf::from(r);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("build")
        .join("root")
}

impl MachineArgs {
    /// The options as `glass run` takes them (only those that differ from the defaults),
    /// so a printed command line reproduces the run.
    pub fn to_cli(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(r) = &self.root {
            v.push(format!("--root={}", r.display()));
        }
        if self.cwd != "/" {
            v.push(format!("--cwd={}", self.cwd));
        }
        if self.seed != 0 {
            v.push(format!("--seed={}", self.seed));
        }
        for e in &self.env {
            v.push(format!("--env={}", e.to_string_lossy()));
        }
        if let Some(ns) = self.epoch {
            v.push(format!("--epoch={}", ns / 1_000_000_000));
        }
        if self.root_times != "fixed" {
            v.push(format!("--root-times={}", self.root_times));
        }
        if self.hang {
            v.push("--hang".into());
        }
        if let Some(s) = self.sched_seed {
            v.push(format!("--sched-seed={s}"));
        }
        if self.quantum != glass_emulator::param::QUANTUM_BLOCKS {
            v.push(format!("--quantum={}", self.quantum));
        }
        if self.cpus != 1 {
            v.push(format!("--cpus={}", self.cpus));
        }
        if let Some(m) = self.max_memory {
            v.push(format!("--max-memory={m}"));
        }
        if self.max_procs != glass_emulator::limits::DEFAULT_MAX_PROCS {
            v.push(format!("--max-procs={}", self.max_procs));
        }
        if let Some(t) = self.max_time {
            v.push(format!("--max-time={}ms", t.as_millis()));
        }
        if let Some(t) = self.timeout {
            v.push(format!("--timeout={}ms", t.as_millis()));
        }
        if self.quiet_syscalls {
            v.push("--quiet-syscalls".into());
        }
        v
    }

    pub fn config(&self, command: &[String]) -> Result<Config, String> {
        let root = self.root.clone().unwrap_or_else(default_root);
        if !root.is_dir() {
            return Err(format!(
                "guest root {} does not exist; give --root DIR or run tools/scripts/setup.sh to build the default root",
                root.display()
            ));
        }
        let program = command.first().ok_or("no program given")?;
        let mut c = Config::new(root, program, command.to_vec());
        c.cwd = self.cwd.clone();
        c.seed = self.seed;
        c.trace = self.trace.clone();
        c.timeline = self.timeline.clone();
        c.quantum = self.quantum;
        c.sched_seed = self.sched_seed;
        c.hang = self.hang;
        c.cpus = self.cpus;
        c.quiet_syscalls = self.quiet_syscalls;
        if let Some(m) = self.max_memory {
            c.limits.max_memory = m;
        }
        c.limits.max_procs = self.max_procs;
        c.limits.max_time_ns = self
            .max_time
            .map(|t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX));
        c.limits.timeout = self.timeout;
        if !self.env.is_empty() {
            c.env = self.env.iter().map(|e| guest_string(e)).collect();
        }
        if let Some(ns) = self.epoch {
            c.epoch_ns = ns;
        }
        c.root_times_host = self.root_times == "host";
        Ok(c)
    }
}

/// A host argument as the machine holds guest strings: its bytes, unchanged.
fn guest_string(s: &std::ffi::OsStr) -> String {
    glass_emulator::vfs::from_guest(s.as_bytes())
}

/// Seconds since the Unix epoch of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil, http://howardhinnant.github.io/date_algorithms.html).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `--epoch`: Unix seconds, or an RFC 3339 date-time (`2026-03-01T12:00:00Z`, with an
/// optional fraction and a `Z` or `±HH:MM` offset); nanoseconds since the Unix epoch, which
/// must not be before it.
fn parse_epoch(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is neither Unix seconds nor RFC 3339 (2026-03-01T12:00:00Z)");
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = s.parse().map_err(|_| bad())?;
        return secs.checked_mul(1_000_000_000).ok_or_else(bad);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let t = s.get(r).ok_or_else(bad)?;
        if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            t.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > mdays[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let digits = &s[start..i.min(start + 9)];
        frac_ns = digits.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset = match &s[i..] {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if o.starts_with('-') {
                -off
            } else {
                off
            }
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    let ns = secs
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(frac_ns))
        .ok_or_else(bad)?;
    u64::try_from(ns).map_err(|_| format!("{s:?} is before 1970-01-01T00:00:00Z"))
}

fn run(args: RunArgs) -> ExitCode {
    let command: Vec<String> = args.command.iter().map(|a| guest_string(a)).collect();
    let config = match args.machine.config(&command) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("glass: {e}");
            return ExitCode::from(127);
        }
    };
    let mut m = match Machine::new(&config, ConsoleIo::host()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("glass: {e}");
            return ExitCode::from(e.exit_status());
        }
    };
    let key = match &args.auth {
        Some(f) => match proc_model::ninep::AuthKey::load(f) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("glass: --auth: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let server = match &args.serve {
        Some(addr) => {
            let opts = serve::ServeOptions {
                addr: addr.clone(),
                max_conns: args.max_conns,
                auth: key,
            };
            match serve::serve_machine(&mut m, &opts) {
                Ok((s, warning)) => {
                    // The serving line first: scripts and tests read the address from it.
                    eprintln!("glass: serving /proc on {} (9P2000)", s.local_addr());
                    if let Some(w) = warning {
                        eprintln!("{w}");
                    }
                    Some(s)
                }
                Err(e) => {
                    eprintln!("glass: --serve {addr}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        None => None,
    };
    m.keep = args.keep;
    if let Some(file) = &args.record {
        if let Err(e) = m.record_to(file, replay::header(&config), args.record_root) {
            eprintln!("glass: --record: {e}");
            return ExitCode::from(2);
        }
    }
    let report = m.run();
    if let Some(s) = server {
        // Replies already produced (a `start` that let the guest finish) are still sent.
        s.shutdown();
    }
    if let Some(e) = m.tape_error() {
        eprintln!("glass: --record: the recording is incomplete: {e}");
        return ExitCode::from(2);
    }
    if args.digest {
        eprintln!("glass: digest {}", report.digest);
    }
    if report.limit.is_some() {
        // timeout(1)'s status for a command it ended.
        return ExitCode::from(124);
    }
    ExitCode::from(report.status.shell_code().clamp(0, 255) as u8)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run(a) => run(a),
        Cmd::Demo(a) => demo::demo(&a.machine),
        Cmd::Bench(a) => bench::bench(&a),
        Cmd::Explore(a) => explore::explore(&a),
        Cmd::Ninep(a) => ninep_cmd::ninep(&a),
        Cmd::Debug(a) => debug::debug(&a),
        Cmd::Replay(a) => replay::replay(&a),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_epoch;

    /// Values checked against GNU date: `date -u -d 2026-03-01T12:00:00Z +%s` is 1772366400,
    /// `date -u -d 2025-01-01T00:00:00Z +%s` is 1735689600, `date -u -d
    /// 2000-02-29T23:59:59+05:30 +%s` is 951848999.
    #[test]
    fn parse_epoch_rfc3339_and_seconds_give_unix_nanoseconds() {
        let s = |x: &str| parse_epoch(x).map(|ns| ns / 1_000_000_000);
        assert_eq!(s("2026-03-01T12:00:00Z"), Ok(1_772_366_400));
        assert_eq!(s("2025-01-01T00:00:00Z"), Ok(1_735_689_600));
        assert_eq!(s("2000-02-29T23:59:59+05:30"), Ok(951_848_999));
        assert_eq!(s("1772366400"), Ok(1_772_366_400));
        assert_eq!(
            parse_epoch("2026-03-01T12:00:00.25Z"),
            Ok(1_772_366_400_250_000_000)
        );
    }

    #[test]
    fn parse_epoch_malformed_or_before_1970_is_an_error() {
        for bad in [
            "",
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-03-01T12:00:00",
            "2026-03-01T25:00:00Z",
            "1969-12-31T23:59:59Z",
            "-5",
        ] {
            assert!(parse_epoch(bad).is_err(), "{bad:?} accepted");
        }
    }
}
