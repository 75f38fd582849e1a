//! `glass bench --proc`: /proc over 9P against its yardsticks, each measured in the same run
//! (docs/DESIGN.md "Performance and its yardsticks"), medians of several runs:
//! - the round trip of reading `status` against a raw loopback TCP ping-pong of the same size;
//! - 64 MiB read through /proc/N/mem with a 1 MiB msize, of a guest waiting in `pause` and of
//!   a guest that keeps running (storing all over the segment being read), against streaming
//!   the same bytes over a plain loopback TCP socket;
//! - a CPU-bound guest's own run time with 64 clients reading its `status` in a loop against
//!   the same guest with none, and the slowest client's reply rate against the median one
//!   (the fair share of docs/DESIGN.md "Threads": no client starves).

use crate::bench::median;
use crate::p9client::Client;
use glass_emulator::{Config, ConsoleIo, Machine};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const CHUNK: usize = 1 << 20;
/// Connections a bench machine serves at once.
const CONNS: usize = 80;

/// The sizes one bench run uses (`--quick` makes them small).
#[derive(Clone, Copy)]
pub struct ProcBench {
    /// Runs per row (the median is reported).
    pub runs: usize,
    /// Bytes streamed per mem run and per raw stream.
    pub total: usize,
    /// Status round trips per run.
    pub trips: usize,
    /// Iterations of bench_int for the many-clients row.
    pub int_iters: u64,
    /// Clients reading status at once.
    pub clients: usize,
}

impl ProcBench {
    pub fn new(runs: usize, quick: bool) -> ProcBench {
        if quick {
            ProcBench {
                runs: 1,
                total: 16 << 20,
                trips: 500,
                int_iters: 20_000_000,
                clients: 64,
            }
        } else {
            ProcBench {
                runs,
                total: 64 << 20,
                trips: 2000,
                int_iters: 100_000_000,
                clients: 64,
            }
        }
    }
}

/// Raw loopback TCP: a thread writes `total` bytes in CHUNK writes; MiB/s at the reader.
fn raw_stream(total: usize) -> std::io::Result<f64> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let a = l.local_addr()?;
    let t = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = l.accept()?;
        let buf = vec![7u8; CHUNK];
        for _ in 0..total / CHUNK {
            s.write_all(&buf)?;
        }
        Ok(())
    });
    let mut c = TcpStream::connect(a)?;
    let mut buf = vec![0u8; CHUNK];
    let start = Instant::now();
    let mut got = 0;
    while got < total {
        let n = c.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let dt = start.elapsed().as_secs_f64();
    let _ = t.join();
    Ok(got as f64 / (1 << 20) as f64 / dt)
}

/// Raw loopback TCP ping-pong of `n` bytes each way: median round trip in microseconds.
fn raw_pingpong(n: usize, rounds: usize) -> std::io::Result<f64> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let a = l.local_addr()?;
    let t = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = l.accept()?;
        s.set_nodelay(true)?;
        let mut b = vec![0u8; n];
        for _ in 0..rounds {
            s.read_exact(&mut b)?;
            s.write_all(&b)?;
        }
        Ok(())
    });
    let mut c = TcpStream::connect(a)?;
    c.set_nodelay(true)?;
    let mut b = vec![1u8; n];
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let s = Instant::now();
        c.write_all(&b)?;
        c.read_exact(&mut b)?;
        times.push(s.elapsed().as_secs_f64() * 1e6);
    }
    let _ = t.join();
    Ok(median(times))
}

/// A guest from the root served on a loopback port on a machine thread of its own, its
/// console discarded; with `hang`, its first process waits stopped for a `start`.
fn serve_guest(
    root: &std::path::Path,
    argv: &[&str],
    hang: bool,
) -> Result<(String, std::thread::JoinHandle<Option<()>>), String> {
    let root = root.to_path_buf();
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    // Room for the 64 readers of the many-clients row and the client that starts the guest.
    crate::serve::spawn_served_conns(CONNS, move || {
        let mut config = Config::new(root, &argv[0], argv.clone());
        config.hang = hang;
        let console = ConsoleIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(std::io::sink()),
            stderr: Box::new(std::io::sink()),
        };
        let m = Machine::new(&config, console).map_err(|e| e.to_string())?;
        let finish: Box<dyn FnOnce(glass_emulator::RunReport)> = Box::new(|_| ());
        Ok((m, finish))
    })
}

fn connect(addr: &str) -> Result<Client, String> {
    let user = glass_emulator::machine::host_user();
    Client::connect(addr, &user).map_err(|e| format!("connect to {addr}: {e}"))
}

/// The state word of /1/status (its third field: `Rendez`, `Running`, `Ready`, …).
fn state_of(c: &mut Client) -> Result<String, String> {
    let st = c.read_file("/1/status").map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&st)
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .to_string())
}

/// Base and top of process 1's first Anon segment of at least `len` bytes.
fn anon_segment(c: &mut Client, len: u64) -> Result<Option<(u64, u64)>, String> {
    let seg = String::from_utf8_lossy(&c.read_file("/1/segment").map_err(|e| e.to_string())?)
        .into_owned();
    for l in seg.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.first() == Some(&"Anon") && f.len() >= 3 {
            let b = u64::from_str_radix(f[f.len() - 3], 16).unwrap_or(0);
            let t = u64::from_str_radix(f[f.len() - 2], 16).unwrap_or(0);
            if t.saturating_sub(b) >= len {
                return Ok(Some((b, t)));
            }
        }
    }
    Ok(None)
}

/// Stream `total` bytes out of `[base, top)` through /1/mem in reads of at most 1 MiB,
/// wrapping around the segment; `check` verifies memhog's pattern. MiB/s.
fn stream_mem(
    c: &mut Client,
    fid: proc_model::ninep::Fid,
    (base, top): (u64, u64),
    total: usize,
    iounit: u32,
    check: bool,
) -> Result<f64, String> {
    let mut buf = vec![0u8; iounit.min(CHUNK as u32) as usize];
    let span = top - base;
    let start = Instant::now();
    let mut got = 0usize;
    while got < total {
        let off = got as u64 % span;
        let want = ((span - off) as usize).min(buf.len());
        let n = c
            .read_into(fid, base + off, &mut buf[..want])
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!("short mem read at {:#x}", base + off));
        }
        if check {
            // Each word of memhog's buffer holds its own offset.
            let w = u64::from_le_bytes(buf[..8].try_into().map_err(|_| "short")?);
            if w != off {
                return Err(format!("mem pattern mismatch at {off:#x}: {w:#x}"));
            }
        }
        got += n;
    }
    Ok(total as f64 / (1 << 20) as f64 / start.elapsed().as_secs_f64())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets"
    } else {
        "misses"
    }
}

/// Rows 1 and 2: status round trip and mem streaming of a guest waiting in pause (memhog).
fn idle_guest(root: &std::path::Path, b: ProcBench) -> Result<(), String> {
    let mib = (b.total >> 20).to_string();
    let (addr, machine) = serve_guest(root, &["/bin/memhog", &mib], false)?;
    let mut c = connect(&addr)?;
    println!("/proc over 9P at {addr}, msize {} bytes", c.msize());
    // Wait until the guest has filled its memory and waits in pause.
    let mut seg = None;
    for _ in 0..2000 {
        if state_of(&mut c)? == "Rendez" {
            seg = anon_segment(&mut c, b.total as u64)?;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let Some(seg) = seg else {
        return Err("memhog's segment never appeared".into());
    };
    // status round trips: one Tread of an open fid, against a raw ping-pong of the same size.
    let (sfid, _) = c
        .open_path("/1/status", proc_model::ninep::fs::OREAD)
        .map_err(|e| e.to_string())?;
    let (mut st, mut raw) = (Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..b.runs {
        let mut rtts = Vec::with_capacity(b.trips);
        for _ in 0..b.trips {
            let s = Instant::now();
            size = c.read(sfid, 0, 4096).map_err(|e| e.to_string())?.len();
            rtts.push(s.elapsed().as_secs_f64() * 1e6);
        }
        st.push(median(rtts));
        // Tread is 23 bytes, Rread 11 + data: the ping-pong moves the larger both ways.
        raw.push(raw_pingpong(11 + size, b.trips).map_err(|e| e.to_string())?);
    }
    let _ = c.clunk(sfid);
    let (st, raw) = (median(st), median(raw));
    println!(
        "status round trip: {st:.1} µs; raw TCP ping-pong of {} bytes: {raw:.1} µs; ratio {:.2} ({} the goal of 2)",
        11 + size,
        st / raw,
        verdict(st <= 2.0 * raw)
    );
    let (fid, iounit) = c
        .open_path("/1/mem", proc_model::ninep::fs::OREAD)
        .map_err(|e| e.to_string())?;
    let (mut pm, mut rm) = (Vec::new(), Vec::new());
    for _ in 0..b.runs {
        pm.push(stream_mem(&mut c, fid, seg, b.total, iounit, true)?);
        rm.push(raw_stream(b.total).map_err(|e| e.to_string())?);
    }
    let _ = c.clunk(fid);
    let (p, r) = (median(pm), median(rm));
    println!(
        "{} MiB via /proc/1/mem, guest waiting: {p:.0} MiB/s; raw loopback TCP: {r:.0} MiB/s; ratio {:.2} ({} the goal of 0.8)",
        b.total >> 20,
        p / r,
        verdict(p >= 0.8 * r)
    );
    let _ = c.write_file("/1/ctl", 0, b"kill");
    drop(c);
    let _ = machine.join();
    Ok(())
}

/// Row 3: mem streaming of a guest that keeps running (bench_scatter storing all over its
/// 16 MiB heap buffer while it is read).
fn running_guest(root: &std::path::Path, b: ProcBench) -> Result<(), String> {
    let (addr, machine) = serve_guest(root, &["/bin/bench_scatter", "1000000"], false)?;
    let mut c = connect(&addr)?;
    let mut seg = None;
    for _ in 0..2000 {
        seg = anon_segment(&mut c, 16 << 20)?;
        if seg.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let Some(seg) = seg else {
        return Err("bench_scatter's buffer never appeared".into());
    };
    let (fid, iounit) = c
        .open_path("/1/mem", proc_model::ninep::fs::OREAD)
        .map_err(|e| e.to_string())?;
    let (mut pm, mut rm) = (Vec::new(), Vec::new());
    for _ in 0..b.runs {
        pm.push(stream_mem(&mut c, fid, seg, b.total, iounit, false)?);
        rm.push(raw_stream(b.total).map_err(|e| e.to_string())?);
    }
    let state = state_of(&mut c)?;
    let _ = c.clunk(fid);
    let (p, r) = (median(pm), median(rm));
    println!(
        "{} MiB via /proc/1/mem, guest running ({state}): {p:.0} MiB/s; raw loopback TCP: {r:.0} MiB/s; ratio {:.2} ({} the goal of 0.8)",
        b.total >> 20,
        p / r,
        verdict(p >= 0.8 * r)
    );
    let _ = c.write_file("/1/ctl", 0, b"kill");
    drop(c);
    let _ = machine.join();
    Ok(())
}

/// What one reader saw: replies and the longest wait for one.
struct ReaderStats {
    replies: u64,
    max_gap: Duration,
}

/// One run of bench_int with `readers` clients reading /1/status in a loop from before its
/// first instruction to its exit: the guest's run time and each reader's statistics.
fn int_with_readers(
    root: &std::path::Path,
    b: ProcBench,
    readers: usize,
) -> Result<(f64, Vec<ReaderStats>), String> {
    let iters = b.int_iters.to_string();
    let (addr, machine) = serve_guest(root, &["/bin/bench_int", &iters], true)?;
    let mut ctl = connect(&addr)?;
    let go = std::sync::Arc::new(std::sync::Barrier::new(readers + 1));
    let mut threads = Vec::new();
    for _ in 0..readers {
        let mut c = connect(&addr)?;
        let (fid, _) = c
            .open_path("/1/status", proc_model::ninep::fs::OREAD)
            .map_err(|e| e.to_string())?;
        let go = go.clone();
        threads.push(std::thread::spawn(move || {
            go.wait();
            let mut s = ReaderStats {
                replies: 0,
                max_gap: Duration::ZERO,
            };
            let mut last = Instant::now();
            // Until the process is gone (the read fails).
            while c.read(fid, 0, 4096).is_ok() {
                let now = Instant::now();
                s.replies += 1;
                s.max_gap = s.max_gap.max(now - last);
                last = now;
            }
            s
        }));
    }
    go.wait();
    let start = Instant::now();
    ctl.write_file("/1/ctl", 0, b"start")
        .map_err(|e| e.to_string())?;
    drop(ctl);
    let _ = machine.join();
    let dt = start.elapsed().as_secs_f64();
    let stats = threads.into_iter().filter_map(|t| t.join().ok()).collect();
    Ok((dt, stats))
}

/// Row 4: a CPU-bound guest's speed under `clients` busy status readers, and their fairness.
fn many_clients(root: &std::path::Path, b: ProcBench) -> Result<(), String> {
    let (mut alone, mut loaded, mut rates, mut worst, mut gaps) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..b.runs {
        alone.push(int_with_readers(root, b, 0)?.0);
        let (dt, stats) = int_with_readers(root, b, b.clients)?;
        loaded.push(dt);
        let per: Vec<f64> = stats.iter().map(|s| s.replies as f64 / dt).collect();
        worst.push(per.iter().copied().fold(f64::INFINITY, f64::min));
        rates.push(median(per));
        gaps.push(
            stats
                .iter()
                .map(|s| s.max_gap.as_secs_f64() * 1e3)
                .fold(0.0, f64::max),
        );
    }
    let (a, l) = (median(alone), median(loaded));
    let (rate, worst, gap) = (median(rates), median(worst), median(gaps));
    println!(
        "bench_int {} under {} status readers: {l:.2} s; alone: {a:.2} s; ratio {:.2} ({} the goal of 2)",
        b.int_iters,
        b.clients,
        l / a,
        verdict(l <= 2.0 * a)
    );
    println!(
        "  readers: median {rate:.0} replies/s each, slowest {worst:.0} replies/s, longest wait {gap:.1} ms",
    );
    Ok(())
}

/// The rows, by name (`glass bench --proc --only NAME` runs those whose name contains it).
pub fn bench_proc(root: &std::path::Path, b: ProcBench, only: Option<&str>) -> Result<(), String> {
    type Row = fn(&std::path::Path, ProcBench) -> Result<(), String>;
    let rows: [(&str, Row); 3] = [
        ("status+mem-waiting", idle_guest),
        ("mem-running", running_guest),
        ("readers", many_clients),
    ];
    for (name, row) in rows {
        if only.is_none_or(|o| name.contains(o)) {
            row(root, b)?;
        }
    }
    Ok(())
}
