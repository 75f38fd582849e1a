//! A bounded, seeded fuzz run of the ELF loader and the guest system-call layer, through the
//! same entry points as the AFL targets in fuzz/ (glass_emulator::fuzzing): mutated small
//! programs of each arch and the real guest images, and random call sequences from the first
//! process of a machine on the guest root. No AFL needed; the same seed gives the same
//! inputs. Any panic fails the test; each run also checks it reached what it fuzzes.

use glass_emulator::fuzzing;
use glass_tests::{guest_image, guest_root};

/// xorshift64* (Vigna 2016): small, fast, and deterministic for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// An ELF64 little-endian executable (gABI ch. 4–5): header, one PT_LOAD (R+X) over the
/// file, `code` after the program header; as fuzz/seeds/make.py writes them.
fn tiny_elf(machine: u16, code: &[u8]) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    let (ehdr, phdr) = (64u64, 56u64);
    let size = ehdr + phdr + code.len() as u64;
    let mut b = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b.extend_from_slice(&machine.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&(BASE + ehdr + phdr).to_le_bytes()); // entry
    b.extend_from_slice(&ehdr.to_le_bytes()); // phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // flags
    for v in [ehdr as u16, phdr as u16, 1, 64, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1u32, 5] {
        b.extend_from_slice(&v.to_le_bytes()); // PT_LOAD, R+X
    }
    for v in [0, BASE, BASE, size, size, 0x1000u64] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(code);
    b
}

/// `base` with a few random bytes changed, mostly in the headers, sometimes cut short.
fn mutate(r: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..=r.below(4) {
        let span = if r.below(4) == 0 {
            b.len()
        } else {
            200.min(b.len())
        };
        let i = r.below(span as u64) as usize;
        b[i] = match r.below(3) {
            0 => r.next() as u8,
            1 => b[i] ^ (1 << r.below(8)),
            _ => [0, 0xff, 0x7f, 0x80][r.below(4) as usize],
        };
    }
    if r.below(8) == 0 {
        b.truncate(r.below(b.len() as u64) as usize);
    }
    b
}

#[test]
fn fuzz_elf_loader_seeded_mutations_no_panic() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let tiny = [
        tiny_elf(62, &[0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05]),
        tiny_elf(
            183,
            &[0xa8, 0x0b, 0x80, 0xd2, 0, 0, 0x80, 0xd2, 1, 0, 0, 0xd4],
        ),
        tiny_elf(
            243,
            &[0x93, 0x08, 0xd0, 0x05, 0x13, 0x05, 0, 0, 0x73, 0, 0, 0],
        ),
    ];
    let mut loaded = 0;
    for t in &tiny {
        assert!(fuzzing::elf(t), "the unmutated program loads");
    }
    for _ in 0..3000 {
        let base = &tiny[r.below(tiny.len() as u64) as usize];
        if fuzzing::elf(&mutate(&mut r, base)) {
            loaded += 1;
        }
    }
    for _ in 0..200 {
        let n = r.below(300) as usize;
        let _ = fuzzing::elf(&r.bytes(n));
    }
    // The real static programs of each arch, headers mutated.
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let Ok(image) = std::fs::read(guest_image(arch, "exit42")) else {
            panic!("{arch} exit42 missing: run guest-images/build.sh");
        };
        assert!(fuzzing::elf(&image), "{arch} exit42 loads");
        for _ in 0..40 {
            if fuzzing::elf(&mutate(&mut r, &image)) {
                loaded += 1;
            }
        }
    }
    assert!(
        loaded > 100,
        "only {loaded} mutated programs got as far as loading"
    );
}

#[test]
fn fuzz_syscalls_seeded_sequences_no_panic() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    let root = guest_root();
    let mut dispatched = 0;
    for _ in 0..150 {
        let mut input = vec![r.below(8) as u8];
        input.extend(r.bytes(input[0] as usize * 64));
        for _ in 0..=r.below(24) {
            // Mostly the numbers glass knows (0..335 on x86_64), some beyond.
            let nr = if r.below(8) == 0 {
                r.below(512)
            } else {
                r.below(335)
            } as u16;
            input.extend_from_slice(&nr.to_le_bytes());
            input.extend(r.bytes(6 * 9));
        }
        dispatched += fuzzing::syscalls(&root, "/bin/true", &input);
    }
    assert!(dispatched > 500, "only {dispatched} calls dispatched");
}

/// The seed corpora of the AFL targets, with the inputs that once crashed them (regress-*:
/// for syscalls an overflowing mprotect range, a poll timeout with its upper half set; for
/// elf a PIE linked above the load base and an entry point near 2^64, which overflowed the
/// load bias), replayed as they are.
#[test]
fn fuzz_seed_corpora_and_past_crashes_replay_without_panic() {
    let seeds = glass_tests::repo_root().join("fuzz").join("seeds");
    let read_dir = |d: &str| -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(seeds.join(d))
            .expect("seed directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read(f).expect("seed"))
            .collect()
    };
    let elves = read_dir("elf");
    assert!(elves.len() >= 6);
    for e in &elves {
        assert!(fuzzing::elf(e), "a seed program loads");
    }
    let calls = read_dir("syscalls");
    assert!(calls.len() >= 6);
    for c in &calls {
        let _ = fuzzing::syscalls(&guest_root(), "/bin/true", c);
    }
}
