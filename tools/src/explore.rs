//! `glass explore`: deterministic chaos scheduling in a loop. Runs the same program with
//! schedule seeds S, S+1, … (each an exact, replayable interleaving), groups the runs by what
//! they printed and how they ended, and names the seeds whose result differs from the first.

use crate::MachineArgs;
use glass_emulator::{ConsoleIo, Machine};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;

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

pub fn explore(args: &ExploreArgs) -> ExitCode {
    // outcome key → (first stdout, seeds)
    let mut groups: BTreeMap<String, (Vec<u8>, i32, Vec<u64>)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    eprintln!("glass explore: {} seeds from {}", args.seeds, args.from);
    for seed in args.from..args.from.saturating_add(args.seeds) {
        let mut margs = args.machine.clone();
        margs.sched_seed = Some(seed);
        let config = match margs.config(&args.command) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("glass: {e}");
                return ExitCode::from(2);
            }
        };
        let out = Capture::default();
        let console = ConsoleIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(out.clone()),
            stderr: Box::new(std::io::sink()),
        };
        let mut m = match Machine::new(&config, console) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("glass: {e}");
                return ExitCode::from(126);
            }
        };
        let report = m.run();
        let stdout = out.0.borrow().clone();
        let code = report.status.shell_code();
        let mut h = Sha256::new();
        h.update(&stdout);
        h.update(code.to_le_bytes());
        let key: String = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups
            .entry(key.clone())
            .or_insert_with(|| (stdout, code, Vec::new()))
            .2
            .push(seed);
        eprint!(
            "\rglass explore: seed {seed} done, {} distinct outcome(s)",
            groups.len()
        );
    }
    eprintln!();
    println!("{} seeds, {} distinct outcome(s)", args.seeds, groups.len());
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
        let other = &groups[&order[1]].2;
        println!(
            "the result depends on the schedule; replay one with: glass run --sched-seed {} -- {}",
            other[0],
            args.command.join(" ")
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
