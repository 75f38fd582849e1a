//! The /proc adapter against a real guest: a 9P-less client thread drives a running machine
//! through `proc_model::machine::Machine` (list, status fields, segments, memory, registers,
//! stop/start/waitstop, notes, kill) while the machine thread runs busybox.

use glass_emulator::proc_adapter::{attach, ProcHandle};
use glass_emulator::{Config, ConsoleIo, Machine};
use proc_model::machine::{
    CtlMsg, GuestAddr, Machine as _, Pid, ProcError, ProcState, Regs, SegKind,
};
use proc_model::ninep::fs::Cancel;
use std::path::PathBuf;

fn root() -> PathBuf {
    let r = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/root");
    assert!(
        r.join("bin/busybox").exists(),
        "{} missing: run tools/scripts/setup.sh",
        r.display()
    );
    r
}

/// Run `argv` in a machine on this thread while `client` runs on another with a handle.
fn with_machine(
    argv: &[&str],
    hang: bool,
    client: impl FnOnce(ProcHandle) + Send + 'static,
) -> glass_emulator::RunReport {
    let mut c = Config::new(
        root(),
        argv[0],
        argv.iter().map(|s| s.to_string()).collect(),
    );
    c.hang = hang;
    let console = ConsoleIo {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::sink()),
    };
    let mut m = Machine::new(&c, console).expect("machine");
    let h = attach(&mut m);
    let t = std::thread::spawn(move || client(h));
    let report = m.run();
    t.join().expect("client thread");
    report
}

#[test]
fn adapter_spinning_guest_stop_inspect_start_kill() {
    let report = with_machine(
        &["/bin/busybox", "sh", "-c", "while :; do :; done"],
        false,
        |h| {
            let pid = Pid(1);
            let procs = h.processes();
            assert_eq!(procs.len(), 1);
            assert_eq!(procs[0].name, "busybox");
            assert_eq!(
                procs[0].args,
                ["/bin/busybox", "sh", "-c", "while :; do :; done"]
            );
            let c = Cancel::new();
            // Writes to memory need a Stopped process: stop it.
            h.ctl(pid, &CtlMsg::Stop, &c).expect("stop");
            assert_eq!(h.info(pid).expect("info").state, ProcState::Stopped);
            // Segments: Stack first, Text, Data, Bss present.
            let segs = h.segments(pid).expect("segments");
            assert_eq!(segs[0].kind, SegKind::Stack);
            assert!(segs.iter().any(|s| s.kind == SegKind::Text && s.readonly));
            // The ELF header is the first bytes of the first Text segment of a static busybox.
            let text = segs.iter().find(|s| s.kind == SegKind::Text).expect("text");
            let elf = h.read_mem(pid, text.base, 4).expect("read text");
            assert_eq!(elf, b"\x7fELF");
            // Registers: the pc lies in a text segment.
            let Regs::Amd64 { pc, .. } = h.regs(pid).expect("regs") else {
                panic!("amd64 expected")
            };
            assert!(
                segs.iter()
                    .any(|s| s.kind == SegKind::Text && (s.base.0..s.top.0).contains(&pc)),
                "pc {pc:#x}"
            );
            // Write and read back a stack word.
            let sp_seg = &segs[0];
            let a = GuestAddr(sp_seg.top.0 - 8);
            let old = h.read_mem(pid, a, 8).expect("read");
            h.write_mem(pid, a, b"GLASS!!!").expect("write");
            assert_eq!(h.read_mem(pid, a, 8).expect("read"), b"GLASS!!!");
            h.write_mem(pid, a, &old).expect("restore");
            // start resumes; a second start is refused as on Plan 9.
            h.ctl(pid, &CtlMsg::Start, &c).expect("start");
            assert_eq!(h.ctl(pid, &CtlMsg::Start, &c), Err(ProcError::BadCtl));
            // stop again from Running, then kill.
            h.ctl(pid, &CtlMsg::Stop, &c).expect("stop");
            h.ctl(pid, &CtlMsg::Kill, &c).expect("kill");
            assert_eq!(h.info(pid).err(), Some(ProcError::Exited));
        },
    );
    assert_eq!(report.status.shell_code(), 137);
}

#[test]
fn adapter_hang_starts_stopped_and_waitstop_returns() {
    with_machine(&["/bin/busybox", "true"], true, |h| {
        let pid = Pid(1);
        let c = Cancel::new();
        h.ctl(pid, &CtlMsg::WaitStop, &c)
            .expect("waitstop on a hung process returns at once");
        assert_eq!(h.info(pid).expect("info").state, ProcState::Stopped);
        h.ctl(pid, &CtlMsg::Start, &c).expect("start");
    });
}

#[test]
fn adapter_cancelled_wait_returns_interrupted() {
    with_machine(
        &["/bin/busybox", "sh", "-c", "while :; do :; done"],
        false,
        |h| {
            let pid = Pid(1);
            let c = Cancel::new();
            let c2 = c.clone();
            let t = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                c2.cancel();
            });
            // Nothing stops the spinning process: only the cancel ends this wait.
            let r = h.ctl(pid, &CtlMsg::WaitStop, &c);
            assert_eq!(r, Err(ProcError::Interrupted));
            t.join().expect("join");
            h.ctl(pid, &CtlMsg::Kill, &Cancel::new()).expect("kill");
        },
    );
}
