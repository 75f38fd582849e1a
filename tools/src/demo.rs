//! `glass demo`: the main job. Runs a short workload from the default root — busybox applets
//! over the bundled data files and the guest test program — showing each command, its output
//! and exit status, and ends with one digest over all runs (same on every host).

use crate::MachineArgs;
use glass_emulator::{ConsoleIo, Machine};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;

/// A writer that appends to a shared buffer, so the demo can show a guest's output indented.
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

const WORKLOAD: &[&[&str]] = &[
    &["/bin/busybox", "echo", "hello from a deterministic machine"],
    &["/bin/busybox", "uname", "-a"],
    &["/bin/busybox", "ls", "-1", "/data"],
    &["/bin/busybox", "wc", "-l", "/data/words.txt"],
    &["/bin/busybox", "sort", "-r", "/data/words.txt"],
    &["/bin/busybox", "sha256sum", "/data/words.txt"],
    &["/bin/busybox", "date", "-u"],
    &[
        "/bin/busybox",
        "od",
        "-A",
        "x",
        "-t",
        "x1z",
        "-N",
        "32",
        "/dev/urandom",
    ],
    &["/bin/usertests"],
];

pub fn demo(args: &MachineArgs) -> ExitCode {
    let mut all = Sha256::new();
    let mut failures = 0;
    println!(
        "Glass demo: each command runs in a fresh deterministic machine (seed {}).\n",
        args.seed
    );
    for cmd in WORKLOAD {
        let argv: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        println!("$ {}", argv.join(" "));
        let config = match args.config(&argv) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("glass: {e}");
                return ExitCode::from(2);
            }
        };
        let (out, err) = (Capture::default(), Capture::default());
        let console = ConsoleIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(out.clone()),
            stderr: Box::new(err.clone()),
        };
        let mut m = match Machine::new(&config, console) {
            Ok(m) => m,
            Err(e) => {
                println!("  glass: {e}\n");
                failures += 1;
                continue;
            }
        };
        let report = m.run();
        let text = String::from_utf8_lossy(&out.0.borrow()).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        // Long outputs are shown by their head and tail.
        let show: Vec<String> = if lines.len() > 14 {
            let mut v: Vec<String> = lines[..6].iter().map(|l| l.to_string()).collect();
            v.push(format!("… {} more lines …", lines.len() - 12));
            v.extend(lines[lines.len() - 6..].iter().map(|l| l.to_string()));
            v
        } else {
            lines.iter().map(|l| l.to_string()).collect()
        };
        for l in show {
            println!("  {l}");
        }
        for l in String::from_utf8_lossy(&err.0.borrow()).lines() {
            println!("  (stderr) {l}");
        }
        let code = report.status.shell_code();
        if code != 0 {
            failures += 1;
        }
        println!(
            "  [exit {code}; {:.3} ms of virtual time; digest {}]\n",
            report.vtime_ns as f64 / 1e6,
            &report.digest[..16]
        );
        all.update(report.digest.as_bytes());
    }
    let d: String = all.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("{} commands, {failures} failed", WORKLOAD.len());
    println!("run digest: {d}");
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
