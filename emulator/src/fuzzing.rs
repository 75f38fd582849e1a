//! Fuzzing entry points for the ELF loader and the system-call layer, shared by the AFL++
//! targets in `fuzz/` (`elf`, `syscalls`) and the bounded, seeded in-suite run
//! (tests/tests/fuzz_guest.rs). Each takes arbitrary bytes and panics only when an
//! invariant breaks:
//!
//! - elf: whatever `loader::parse` accepts, `loader::load` maps or refuses with an error;
//!   a program it maps starts with a stack whose first word is argc (psABI §3.4.1).
//! - syscalls: any sequence of system-call numbers and arguments a guest can issue is
//!   answered (a result, a wait, an exit) without a panic, whatever the arguments point at.

use crate::cpu::{Arch, Cpu};
use crate::loader;
use crate::machine::{Config, ConsoleIo, Machine, Pid};
use crate::syscalls::{self, Outcome};
use crate::vm::AddressSpace;
use std::cell::RefCell;
use std::path::Path;

thread_local! {
    /// One engine per arch, stripped after each input: a new engine per input would cost
    /// more than the parse and load it serves.
    static ENGINES: RefCell<Vec<(Arch, Cpu)>> = const { RefCell::new(Vec::new()) };
}

/// Parse `data` as a program and, if that succeeds, load it into an engine of its arch.
/// Whether it was loaded (a bounded run checks that it reaches the loader at all).
pub fn elf(data: &[u8]) -> bool {
    let Ok(parsed) = loader::parse(data) else {
        return false;
    };
    ENGINES.with(|e| {
        let mut engines = e.borrow_mut();
        let i = match engines.iter().position(|(a, _)| *a == parsed.arch) {
            Some(i) => i,
            None => match Cpu::new(parsed.arch) {
                Ok(c) => {
                    engines.push((parsed.arch, c));
                    engines.len() - 1
                }
                Err(_) => return false,
            },
        };
        let cpu = &mut engines[i].1;
        let mut vm = AddressSpace::default();
        let argv = vec!["fuzz".to_string(), "arg".to_string()];
        let envp = vec!["A=b".to_string()];
        let loaded = loader::load(
            cpu,
            &mut vm,
            &parsed,
            data,
            &argv,
            &envp,
            "/bin/fuzz",
            &[7; 16],
            &[],
        );
        if let Ok(start) = &loaded {
            let mut argc = [0u8; 8];
            assert!(
                cpu.read_into(start.sp, &mut argc).is_ok(),
                "loaded program's stack pointer {:#x} is not mapped",
                start.sp
            );
            assert_eq!(
                u64::from_le_bytes(argc),
                argv.len() as u64,
                "argc on the stack"
            );
        }
        // Everything goes, ready for the next input.
        if cpu.strip_to(&[]).is_err() {
            engines.remove(i);
        }
        loaded.is_ok()
    })
}

/// Where the syscall fuzzer's scratch memory is mapped in the guest: arguments that point
/// into it find the input's bytes there (paths, structs, fd sets, iovecs).
pub const SCRATCH: u64 = 0x5000_0000;
pub const SCRATCH_SIZE: u64 = 0x10000;

/// Most calls one input issues.
const MAX_CALLS: usize = 48;

/// Bytes one call takes from the input: the number (2), then per argument a kind byte and
/// eight value bytes.
const CALL_BYTES: usize = 2 + 6 * 9;

/// Run the calls `data` describes from the first process of a machine on `root` running
/// `program`: first the scratch page (the input's first SCRATCH_SIZE bytes at most), then
/// each call's number and arguments. An argument's kind byte makes it a small integer, a
/// pointer into the scratch page, or the raw value. The sequence ends at a call that
/// exits, execs, blocks (nothing would run it again here) or when the input runs out.
/// Returns how many calls were dispatched.
pub fn syscalls(root: &Path, program: &str, data: &[u8]) -> usize {
    let Some((&split, rest)) = data.split_first() else {
        return 0;
    };
    let scratch_len = (usize::from(split) * 64).min(rest.len());
    let (scratch, calls) = rest.split_at(scratch_len);
    let mut config = Config::new(root.to_path_buf(), program, vec![program.to_string()]);
    config.quiet_syscalls = true;
    let console = ConsoleIo {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::sink()),
    };
    let Ok(mut m) = Machine::new(&config, console) else {
        return 0;
    };
    let tid = Pid(crate::param::INIT_PID);
    let Some(arch) = m.arch_of(tid) else { return 0 };
    // The scratch page: an anonymous read-write mapping at SCRATCH with the input in it.
    let mmap = [SCRATCH, SCRATCH_SIZE, 3, 0x32, u64::MAX, 0];
    if !matches!(
        syscalls::dispatch(&mut m, tid, syscalls::Sys::Mmap, mmap),
        Outcome::Ret(SCRATCH)
    ) {
        return 0;
    }
    if let Some(cpu) = m.cpu_of(tid) {
        if cpu.write(SCRATCH, scratch).is_err() {
            return 0;
        }
    }
    let mut dispatched = 0;
    for call in calls.chunks_exact(CALL_BYTES).take(MAX_CALLS) {
        let nr = u64::from(u16::from_le_bytes([call[0], call[1]]) % 512);
        let mut args = [0u64; 6];
        for (a, b) in args.iter_mut().zip(call[2..].chunks_exact(9)) {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[1..]);
            let v = u64::from_le_bytes(v);
            *a = match b[0] % 4 {
                0 => v % 8,
                1 => v % 4096,
                2 => SCRATCH + v % SCRATCH_SIZE,
                _ => v,
            };
        }
        let Some(sys) = crate::cpu::sys_of(arch, nr) else {
            continue;
        };
        dispatched += 1;
        match syscalls::dispatch(&mut m, tid, sys, args) {
            Outcome::Ret(_) | Outcome::NoSys => {}
            Outcome::Exit(_) | Outcome::ThreadExit(_) | Outcome::Block(_) | Outcome::NoReturn => {
                break
            }
        }
        if !m.tasks.contains_key(&tid) {
            break;
        }
    }
    dispatched
}
