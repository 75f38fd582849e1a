//! `glass`: the command line of the Glass machine — run a static Linux program in a
//! deterministic emulated machine, or show the demo workload.

mod bench;
mod bench9p;
mod debug;
mod demo;
mod explore;
mod ninep_cmd;
/// The 9P client lives in proc-model beside the codec, so tests can use it too.
use proc_model::ninep::client as p9client;
mod serve;

use clap::{Parser, Subcommand};
use glass_emulator::{Config, ConsoleIo, Machine};
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
    /// The program (a path inside the guest root) and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    command: Vec<String>,
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
    /// Set an environment variable for the guest (repeatable); replaces the default
    /// environment (PATH=/bin:/usr/bin HOME=/ TERM=dumb) once given.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
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
    /// Do not print the note on stderr about each system call glass does not implement (it
    /// still answers ENOSYS).
    #[arg(long)]
    quiet_syscalls: bool,
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
            v.push(format!("--env={e}"));
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
        c.quantum = self.quantum;
        c.sched_seed = self.sched_seed;
        c.hang = self.hang;
        c.cpus = self.cpus;
        c.quiet_syscalls = self.quiet_syscalls;
        if !self.env.is_empty() {
            c.env = self.env.clone();
        }
        Ok(c)
    }
}

fn run(args: RunArgs) -> ExitCode {
    let config = match args.machine.config(&args.command) {
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
    let report = m.run();
    if let Some(s) = server {
        // Replies already produced (a `start` that let the guest finish) are still sent.
        s.shutdown();
    }
    if args.digest {
        eprintln!("glass: digest {}", report.digest);
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
    }
}
