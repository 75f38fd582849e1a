//! AFL++ target: arbitrary bytes through the ELF loader (parse, then load into an engine of
//! the program's arch); panics when a loaded program's initial stack is wrong.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = glass_emulator::fuzzing::elf(data);
    });
}
