//! `glass bench --proc`: /proc over 9P against its yardsticks, in the same run. Reads 64 MiB
//! of a guest's memory through /proc/N/mem over loopback TCP with a 1 MiB msize, against
//! streaming the same bytes over a plain loopback TCP socket; and the round trip of reading
//! `status` against a raw TCP ping-pong of the same size. Prints medians and both ratios.

use crate::bench::median;
use crate::p9client::Client;
use glass_emulator::{Config, ConsoleIo, Machine};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

const TOTAL: usize = 64 << 20;
const CHUNK: usize = 1 << 20;

/// Raw loopback TCP: a thread writes TOTAL bytes in CHUNK writes; MiB/s at the reader.
fn raw_stream() -> std::io::Result<f64> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let a = l.local_addr()?;
    let t = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = l.accept()?;
        let buf = vec![7u8; CHUNK];
        for _ in 0..TOTAL / CHUNK {
            s.write_all(&buf)?;
        }
        Ok(())
    });
    let mut c = TcpStream::connect(a)?;
    let mut buf = vec![0u8; CHUNK];
    let start = Instant::now();
    let mut got = 0;
    while got < TOTAL {
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

pub fn bench_proc(root: &std::path::Path, runs: usize) -> Result<(), String> {
    let root = root.to_path_buf();
    let (addr, machine) = crate::serve::spawn_served(move || {
        let config = Config::new(root, "/bin/memhog", vec!["/bin/memhog".into(), "64".into()]);
        let console = ConsoleIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(std::io::sink()),
            stderr: Box::new(std::io::sink()),
        };
        let m = Machine::new(&config, console).map_err(|e| e.to_string())?;
        let finish: Box<dyn FnOnce(glass_emulator::RunReport)> = Box::new(|_| ());
        Ok((m, finish))
    })?;
    let user = glass_emulator::machine::host_user();
    let mut c = Client::connect(&addr, &user).map_err(|e| e.to_string())?;
    println!("/proc over 9P at {addr}, msize {} bytes", c.msize());
    // Wait until the guest has filled its memory and waits in pause.
    let mut base = 0u64;
    for _ in 0..2000 {
        let st = c.read_file("/1/status").map_err(|e| e.to_string())?;
        let state = String::from_utf8_lossy(&st)
            .split_whitespace()
            .nth(2)
            .unwrap_or("")
            .to_string();
        if state == "Rendez" {
            let seg =
                String::from_utf8_lossy(&c.read_file("/1/segment").map_err(|e| e.to_string())?)
                    .into_owned();
            for l in seg.lines() {
                let f: Vec<&str> = l.split_whitespace().collect();
                if f.first() == Some(&"Anon") && f.len() >= 3 {
                    let b = u64::from_str_radix(f[f.len() - 3], 16).unwrap_or(0);
                    let t = u64::from_str_radix(f[f.len() - 2], 16).unwrap_or(0);
                    if t - b >= TOTAL as u64 {
                        base = b;
                    }
                }
            }
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if base == 0 {
        return Err("the guest's 64 MiB segment never appeared".into());
    }
    let (fid, iounit) = c
        .open_path("/1/mem", proc_model::ninep::fs::OREAD)
        .map_err(|e| e.to_string())?;
    let mut proc_mibs = Vec::new();
    // One buffer for every read, as the raw stream below has.
    let mut buf = vec![0u8; iounit.min(CHUNK as u32) as usize];
    for _ in 0..runs {
        let start = Instant::now();
        let mut got = 0usize;
        while got < TOTAL {
            let n = c
                .read_into(fid, base + got as u64, &mut buf)
                .map_err(|e| e.to_string())?;
            let d = &buf[..n];
            if d.is_empty() {
                return Err("short mem read".into());
            }
            // Spot-check the pattern: each word holds its own offset.
            let w = u64::from_le_bytes(d[..8].try_into().map_err(|_| "short")?);
            if w != got as u64 {
                return Err(format!("mem pattern mismatch at {got:#x}: {w:#x}"));
            }
            got += d.len();
        }
        proc_mibs.push(TOTAL as f64 / (1 << 20) as f64 / start.elapsed().as_secs_f64());
    }
    let _ = c.clunk(fid);
    let mut raw_mibs = Vec::new();
    for _ in 0..runs {
        raw_mibs.push(raw_stream().map_err(|e| e.to_string())?);
    }
    let (p, r) = (median(proc_mibs), median(raw_mibs));
    let verdict = if p >= r / 2.0 { "meets" } else { "misses" };
    println!("64 MiB via /proc/1/mem: {p:.0} MiB/s; raw loopback TCP: {r:.0} MiB/s; ratio {:.2} ({verdict} the goal of 0.5)", p / r);
    // status round trips: one Tread of an open fid, against a raw ping-pong of the same size.
    let (sfid, _) = c
        .open_path("/1/status", proc_model::ninep::fs::OREAD)
        .map_err(|e| e.to_string())?;
    let mut rtts = Vec::new();
    let mut size = 0;
    for _ in 0..2000 {
        let s = Instant::now();
        size = c.read(sfid, 0, 4096).map_err(|e| e.to_string())?.len();
        rtts.push(s.elapsed().as_secs_f64() * 1e6);
    }
    let _ = c.clunk(sfid);
    // Tread is 23 bytes, Rread 11 + data.
    let raw = raw_pingpong(11 + size, 2000).map_err(|e| e.to_string())?;
    let st = median(rtts);
    println!("status read round trip: {st:.1} µs; raw TCP ping-pong of {} bytes: {raw:.1} µs; ratio {:.2}", 11 + size, st / raw);
    let _ = c.write_file("/1/ctl", 0, b"kill");
    drop(c);
    let _ = machine.join();
    Ok(())
}
