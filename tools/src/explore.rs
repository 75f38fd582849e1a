//! `glass explore`: deterministic chaos scheduling over many seeds. Runs the same program
//! with schedule seeds S, S+1, … (each an exact, replayable interleaving) on the host's
//! cores, one machine per seed, groups the runs by what they printed and how they ended,
//! and names the seeds whose result differs from the first, in seed order whatever order
//! the runs finished in.

use crate::MachineArgs;
use glass_emulator::{ConsoleIo, Machine};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(clap::Args)]
pub struct ExploreArgs {
    #[command(flatten)]
    machine: MachineArgs,
    /// How many schedule seeds to try.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// The first schedule seed.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Seeds run at once, one machine each (default: the host's cores). The outcomes do not
    /// depend on it.
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// The program (a path inside the guest root) and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    command: Vec<String>,
}

#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one seed's run printed on stdout and how it ended.
struct Outcome {
    stdout: Vec<u8>,
    code: i32,
}

impl Outcome {
    /// Runs with the same key printed the same and ended the same.
    fn key(&self) -> String {
        let mut h = Sha256::new();
        h.update(&self.stdout);
        h.update(self.code.to_le_bytes());
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Run the program under schedule seed `seed`, on this thread.
fn run_seed(args: &ExploreArgs, seed: u64) -> Result<Outcome, (String, u8)> {
    let mut margs = args.machine.clone();
    margs.sched_seed = Some(seed);
    let config = margs.config(&args.command).map_err(|e| (e, 2))?;
    let out = Capture::default();
    let console = ConsoleIo {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(out.clone()),
        stderr: Box::new(std::io::sink()),
    };
    let mut m = Machine::new(&config, console).map_err(|e| (e.to_string(), 126))?;
    let report = m.run();
    let stdout = out.0.borrow().clone();
    Ok(Outcome {
        stdout,
        code: report.status.shell_code(),
    })
}

/// Progress on stderr: a bar redrawn in place on a terminal, a line per tenth otherwise.
struct Progress {
    total: usize,
    done: AtomicUsize,
    tty: bool,
    lock: Mutex<()>,
}

impl Progress {
    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.tty {
            const WIDTH: usize = 30;
            let filled = done * WIDTH / self.total.max(1);
            eprint!(
                "\rglass explore: [{}{}] {done}/{} seeds",
                "#".repeat(filled),
                " ".repeat(WIDTH - filled),
                self.total
            );
            if done == self.total {
                eprintln!();
            }
        } else if done == self.total || done.is_multiple_of((self.total / 10).max(1)) {
            eprintln!("glass explore: {done}/{} seeds done", self.total);
        }
    }
}

/// `a` as a POSIX shell word: as it is when it is plain, else in single quotes.
fn shell_quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

pub fn explore(args: &ExploreArgs) -> ExitCode {
    let seeds: Vec<u64> = (args.from..args.from.saturating_add(args.seeds)).collect();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    eprintln!(
        "glass explore: {} seeds from {}, {jobs} at a time",
        seeds.len(),
        args.from
    );
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("glass-explore-{i}"))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("glass: explore: cannot start {jobs} worker threads: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = Progress {
        total: seeds.len(),
        done: AtomicUsize::new(0),
        tty: std::io::stderr().is_terminal(),
        lock: Mutex::new(()),
    };
    let results: Vec<Result<Outcome, (String, u8)>> = pool.install(|| {
        seeds
            .par_iter()
            .map(|&seed| {
                let r = run_seed(args, seed);
                progress.tick();
                r
            })
            .collect()
    });
    // outcome key → (first stdout, exit code, seeds), in order of first appearance by seed.
    let mut groups: BTreeMap<String, (Vec<u8>, i32, Vec<u64>)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (seed, r) in seeds.iter().zip(results) {
        let o = match r {
            Ok(o) => o,
            Err((e, code)) => {
                eprintln!("glass: {e}");
                return ExitCode::from(code);
            }
        };
        let key = o.key();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups
            .entry(key)
            .or_insert_with(|| (o.stdout, o.code, Vec::new()))
            .2
            .push(*seed);
    }
    println!(
        "{} seeds, {} distinct outcome(s)",
        seeds.len(),
        groups.len()
    );
    for (n, key) in order.iter().enumerate() {
        let (stdout, code, seeds) = &groups[key];
        let first = String::from_utf8_lossy(stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        println!(
            "outcome {} [{key}] exit {code}, {} seed(s): {:?}  first line: {first:?}",
            n + 1,
            seeds.len(),
            seeds
        );
    }
    if groups.len() > 1 {
        let mut replay = args.machine.clone();
        replay.sched_seed = Some(groups[&order[1]].2[0]);
        println!(
            "the result depends on the schedule; replay one with: glass run {} -- {}",
            replay
                .to_cli()
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" "),
            args.command
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
