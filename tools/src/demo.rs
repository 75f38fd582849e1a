//! `glass demo`: the main job. One deterministic machine runs a short workload from the
//! default root — a busybox shell script of pipelines over the bundled data files, then the
//! guest test programs, on x86_64 and on the other arches — while its /proc is served over
//! 9P on a loopback port. The demo reads that /proc the way any 9P client would: a `ps`-like
//! table from every process's `status`, and the `segment` and `fd` files of a pipeline stage.
//! It ends with the workload's output and the run digest, the same on every host.

use crate::p9client::Client;
use crate::MachineArgs;
use glass_emulator::{ConsoleIo, Machine, RunReport};
use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;

/// A writer that appends to a shared buffer (the guest's console, shown at the end).
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

/// The workload: pipelines over the data files, a CPU-heavy pipeline (long enough for /proc
/// to catch it in flight), then the test programs on three arches.
pub const WORKLOAD: &str = r#"
echo "== words, sorted, counted"
sort /data/words.txt | uniq -c | sort -rn | head -5
echo "== a heavier pipeline (watched through /proc)"
seq 1 60000 | sed 's/$/ glass/' | sort -r | head -3
echo "== sha256 of the data"
sha256sum /data/words.txt
echo "== the guest test programs"
/bin/usertests | tail -1
/bin/proctests | tail -1
/aarch64/bin/proctests | tail -1
/riscv64/bin/proctests | tail -1
echo "== one machine, three arches"
/aarch64/bin/busybox echo "from aarch64 busybox, upper-cased by a riscv64 program" | /riscv64/bin/upcase 2>/dev/null
date -u
"#;

fn field(status: &str, i: usize) -> String {
    status.split_whitespace().nth(i).unwrap_or("").to_string()
}

/// A ps table's lines, and each listed process's (pid, name).
type Ps = (Vec<String>, Vec<(String, String)>);

/// Read every process's status through 9P: a ps table, and each process's pid and name.
fn ps(c: &mut Client) -> Option<Ps> {
    let entries = c.ls("/").ok()?;
    let mut lines = vec![format!(
        "{:>5}  {:<10} {:<9} {:>8} {:>8}  {:>7}",
        "PID", "NAME", "STATE", "USER ms", "REAL ms", "MEM KiB"
    )];
    let mut procs = Vec::new();
    for e in entries.iter().filter(|e| e.name != "trace") {
        let Ok(st) = c.read_file(&format!("/{}/status", e.name)) else {
            continue;
        };
        let st = String::from_utf8_lossy(&st).into_owned();
        lines.push(format!(
            "{:>5}  {:<10} {:<9} {:>8} {:>8}  {:>7}",
            e.name,
            field(&st, 0),
            field(&st, 2),
            field(&st, 3),
            field(&st, 5),
            field(&st, 9)
        ));
        procs.push((e.name.clone(), field(&st, 0)));
    }
    Some((lines, procs))
}

/// The pipeline stage the demo shows: the heavier pipeline's `sed`, between two pipes.
const WATCHED: &str = "sed";

pub fn demo(args: &MachineArgs) -> ExitCode {
    let argv: Vec<String> = ["/bin/busybox", "sh", "-c", WORKLOAD]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let config = match args.config(&argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("glass: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "Glass demo: one deterministic machine (seed {}), its /proc served over 9P.\n",
        config.seed
    );
    // The machine runs on its own thread; this thread is a 9P client of its /proc.
    let served = crate::serve::spawn_served(move || {
        let out = Capture::default();
        let console = ConsoleIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(out.clone()),
            stderr: Box::new(out.clone()),
        };
        let m = Machine::new(&config, console).map_err(|e| e.to_string())?;
        let finish: Box<dyn FnOnce(RunReport) -> (RunReport, String)> = Box::new(move |report| {
            let text = String::from_utf8_lossy(&out.0.borrow()).into_owned();
            (report, text)
        });
        Ok((m, finish))
    });
    let (addr, machine) = match served {
        Ok(x) => x,
        Err(e) => {
            eprintln!("glass: {e}");
            return ExitCode::from(2);
        }
    };
    println!("$ glass 9p -a {addr} ls /   (while the workload runs)");
    let user = glass_emulator::machine::host_user();
    let mut shown = false;
    if let Ok(mut c) = Client::connect(&addr, &user) {
        // Watch until the heavier pipeline's middle stage is in flight, and show a sample
        // in which its table, segments and fds (pipe ends `|`) were all read while it lived.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !shown && std::time::Instant::now() < deadline {
            let Some((table, procs)) = ps(&mut c) else {
                break;
            };
            if let Some((pid, _)) = procs.iter().find(|(_, name)| name == WATCHED) {
                // `segment` in one read: like 9front's, each read renders the table afresh,
                // so a second read at the first one's length, after the table grew, would
                // repeat its tail. `fd` gives one line per read and resumes by line.
                let files: Option<Vec<(&str, Vec<u8>)>> = ["segment", "fd"]
                    .into_iter()
                    .map(|f| {
                        let path = format!("/{pid}/{f}");
                        let b = if f == "segment" {
                            c.read_once(&path, 0, 1 << 16)
                        } else {
                            c.read_file(&path)
                        };
                        Some((f, b.ok()?))
                    })
                    .collect();
                if let Some(files) = files.filter(|v| v.iter().all(|(_, b)| !b.is_empty())) {
                    for l in &table {
                        println!("  {l}");
                    }
                    for (file, b) in files {
                        println!("\n$ glass 9p -a {addr} read /{pid}/{file}");
                        for l in String::from_utf8_lossy(&b).lines() {
                            println!("  {l}");
                        }
                    }
                    shown = true;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    if !shown {
        println!("  (the workload finished before a pipeline could be watched)");
    }
    let Ok(Some((report, text))) = machine.join() else {
        return ExitCode::from(1);
    };
    println!("\n$ glass run -- /bin/busybox sh -c WORKLOAD   (the same run: its output)");
    for l in text.lines() {
        println!("  {l}");
    }
    let code = report.status.shell_code();
    println!(
        "\nexit {code}; {:.3} ms of virtual time; run digest {}",
        report.vtime_ns as f64 / 1e6,
        report.digest
    );
    if code == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
