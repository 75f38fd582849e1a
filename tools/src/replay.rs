//! `glass run --record FILE` and `glass replay FILE`: a run kept as a small file of what
//! came from outside, replayed bit for bit with digest checkpoints compared on the way
//! (issue 11; the format is docs/recording.md, the machinery emulator/src/record.rs).

use glass_emulator::record::{self, Header, Outcome, Until};
use glass_emulator::{Config, ConsoleIo, Machine};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status of a replay that went another way than the recording, or was refused.
const EXIT_DIVERGED: u8 = 3;
/// Exit status of a recording that cannot be read or a root that is refused.
const EXIT_BAD_INPUT: u8 = 2;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The recording (`glass run --record FILE`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The guest root to replay against (default: the root embedded with --record-root,
    /// else the recorded run's root directory, else the default root). Every root file the
    /// recorded run opened must have the same content here.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Print the run digest as the last line on stderr.
    #[arg(long)]
    digest: bool,
    /// Write one JSON line per system call to FILE (as `glass run --trace`).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write the run's timeline to FILE (as `glass run --timeline`: the same bytes).
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Stop at a moment: a virtual time (`12.5ms`, `300us`, `2s`), the machine's Nth system
    /// call (`syscall:1200`), a process's Nth (`3:syscall:40`), or a process's exit or
    /// exec (`3:exit`, `3:exec`).
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// With --until: serve /proc over 9P2000 at ADDR (as `glass run --serve`) with the whole
    /// machine held at that moment, until interrupted.
    #[arg(long, value_name = "ADDR", requires = "until")]
    serve: Option<String>,
}

/// The header of a recording of `config` (the served flag is filled in when recording starts).
pub fn header(config: &Config) -> Header {
    Header {
        format: record::FORMAT.into(),
        version: record::VERSION,
        glass: env!("CARGO_PKG_VERSION").into(),
        unicorn: record::unicorn_identity(),
        program: config.program.clone(),
        args: config.args.clone(),
        env: config.env.clone(),
        cwd: config.cwd.clone(),
        seed: config.seed,
        sched_seed: config.sched_seed,
        quantum: config.quantum,
        cpus: config.cpus,
        hang: config.hang,
        eve: config.eve.clone(),
        served: false,
        root: config.root.display().to_string(),
        check_ns: record::CHECK_INTERVAL_NS,
        epoch_ns: config.epoch_ns,
        root_times_host: config.root_times_host,
        max_memory: config.limits.max_memory,
        max_procs: config.limits.max_procs,
        max_time_ns: config.limits.max_time_ns,
    }
}

/// The machine configuration a recording was made with, over `root`.
fn config_of(h: &Header, root: PathBuf, trace: Option<PathBuf>) -> Config {
    let mut c = Config::new(root, &h.program, h.args.clone());
    c.env = h.env.clone();
    c.cwd = h.cwd.clone();
    c.seed = h.seed;
    c.sched_seed = h.sched_seed;
    c.quantum = h.quantum;
    c.cpus = h.cpus;
    c.hang = h.hang;
    c.eve = h.eve.clone();
    c.trace = trace;
    c.epoch_ns = h.epoch_ns;
    c.root_times_host = h.root_times_host;
    if h.max_memory != 0 {
        c.limits.max_memory = h.max_memory;
    }
    if h.max_procs != 0 {
        c.limits.max_procs = h.max_procs;
    }
    c.limits.max_time_ns = h.max_time_ns;
    c
}

/// A directory for an embedded root, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_root() -> std::io::Result<TempDir> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let d = base.join(format!("glass-replay-{}-{i}", std::process::id()));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(TempDir(d)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary directory name"))
}

pub fn replay(args: &ReplayArgs) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("glass: replay: {msg}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let rec = match record::load(&args.file) {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    let until = match args.until.as_deref().map(Until::parse).transpose() {
        Ok(u) => u,
        Err(e) => return bad(format!("--until: {e}")),
    };
    let h = &rec.header;
    if h.glass != env!("CARGO_PKG_VERSION") || h.unicorn != record::unicorn_identity() {
        eprintln!(
            "glass: replay: warning: recorded by glass {} with {}; this is glass {} with {}: a divergence may come from that",
            h.glass,
            h.unicorn,
            env!("CARGO_PKG_VERSION"),
            record::unicorn_identity()
        );
    }
    let mut _embedded = None;
    let root = match &args.root {
        Some(r) => r.clone(),
        None if record::has_embedded_root(&rec.recs) => {
            let d = match temp_root() {
                Ok(d) => d,
                Err(e) => return bad(format!("a directory for the embedded root: {e}")),
            };
            if let Err(e) = record::extract_root(&d.0, &rec.recs) {
                return bad(format!("the embedded root: {e}"));
            }
            let p = d.0.clone();
            _embedded = Some(d);
            p
        }
        None if Path::new(&h.root).is_dir() => PathBuf::from(&h.root),
        None => crate::default_root(),
    };
    if !root.is_dir() {
        return bad(format!("guest root {} is not a directory", root.display()));
    }
    if let Err(e) = record::check_root(&root, &rec.recs) {
        return bad(format!(
            "refused: the root {} is not the recorded one: {e}",
            root.display()
        ));
    }
    let mut config = config_of(h, root, args.trace.clone());
    config.timeline = args.timeline.clone();
    // A seek back through /proc/time replays again from the start to the moment: the same
    // server goes on with the new machine, and the output already shown is not shown again.
    let mut until = until;
    let mut carried: Option<(std::sync::mpsc::Receiver<_>, Option<record::SeekReply>)> = None;
    let mut server = None;
    let mut first = true;
    let (m, report) = loop {
        let console = if first {
            ConsoleIo {
                stdin: Box::new(std::io::empty()),
                stdout: Box::new(std::io::stdout()),
                stderr: Box::new(std::io::stderr()),
            }
        } else {
            ConsoleIo {
                stdin: Box::new(std::io::empty()),
                stdout: Box::new(std::io::sink()),
                stderr: Box::new(HeldOnly(std::io::stderr())),
            }
        };
        let mut m = match Machine::new(&config, console) {
            Ok(m) => m,
            Err(e) => return bad(format!("the recorded program does not start: {e}")),
        };
        let mut reply = None;
        if let Some((rx, r)) = carried.take() {
            m.requests = Some(rx);
            reply = r;
        } else if let Some(addr) = &args.serve {
            match crate::serve::serve_machine(&mut m, &crate::serve::ServeOptions::local(addr)) {
                Ok((s, warning)) => {
                    eprintln!("glass: serving /proc on {} (9P2000)", s.local_addr());
                    if let Some(w) = warning {
                        eprintln!("{w}");
                    }
                    server = Some(s);
                }
                Err(e) => return bad(format!("--serve {addr}: {e}")),
            }
        }
        m.replay_from(&rec, until);
        m.tape_set_seek_reply(reply);
        let report = m.run();
        first = false;
        if let Some(Outcome::Seek(u)) = m.tape_outcome() {
            if let Some(c) = m.tape_take_carry() {
                until = Some(u);
                carried = Some(c);
                continue;
            }
        }
        break (m, report);
    };
    if let Some(s) = server {
        s.shutdown();
    }
    let code = match m.tape_outcome() {
        Some(Outcome::Matched { checks }) => {
            eprintln!(
                "glass: replay matched the recording: {checks} checkpoints and the end, {} ns of virtual time",
                report.vtime_ns
            );
            ExitCode::from(report.status.shell_code().clamp(0, 255) as u8)
        }
        Some(Outcome::CutShort { checks, t }) => {
            eprintln!(
                "glass: the recording was cut short (its writer did not finish it): replayed up to its last complete record, {checks} checkpoints matched, the last at {t} ns of virtual time"
            );
            ExitCode::SUCCESS
        }
        Some(Outcome::Diverged {
            t,
            step,
            pid,
            sys,
            what,
        }) => {
            eprintln!(
                "glass: replay diverged at {t} ns of virtual time (step {step}), pid {pid}, system call {}: {what}",
                if sys.is_empty() { "(none yet)" } else { &sys }
            );
            ExitCode::from(EXIT_DIVERGED)
        }
        Some(Outcome::Reached { t, step }) => {
            eprintln!(
                "glass: replay stopped at {t} ns of virtual time (step {step}), as --until asked"
            );
            ExitCode::SUCCESS
        }
        Some(Outcome::Seek(_)) | None => {
            eprintln!("glass: replay ended without an outcome");
            ExitCode::from(EXIT_DIVERGED)
        }
    };
    if args.digest {
        eprintln!("glass: digest {}", report.digest);
    }
    code
}

/// The stderr of a machine replayed again for a seek: only glass's own `held at` lines, not
/// the guest's output a second time.
struct HeldOnly(std::io::Stderr);

impl std::io::Write for HeldOnly {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.starts_with(b"glass: held at") {
            self.0.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
