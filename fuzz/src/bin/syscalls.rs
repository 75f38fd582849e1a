//! AFL++ target: arbitrary system calls (numbers and arguments from the input, pointers
//! into a scratch page holding the input) issued by the first process of a machine running
//! /bin/true from the guest root ($GLASS_ROOT, else ../build/root); panics on any panic in
//! the system-call layer.
fn main() {
    let root = std::env::var_os("GLASS_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("../build/root"));
    afl::fuzz!(|data: &[u8]| {
        let _ = glass_emulator::fuzzing::syscalls(&root, "/bin/true", data);
    });
}
