//! The `watchpt` file (9front port/devproc.c readwatchpt, writewatchpt; docs/plan9-proc-9p.md
//! §1.4 watchpt): one `"%c%c%c %#.16p %#.16p\n"` line per watchpoint; writes are
//! newline-terminated `type address length` lines, validated whole before anything changes.

use crate::machine::Arch;

/// 10 + 4*sizeof(uintptr) (devproc lenwatchpt): the length of one line on 64-bit.
pub const LINE_LEN: usize = 42;
/// writewatchpt's line buffer: a line of 256 bytes or more is refused.
const LINE_MAX: usize = 255;

/// One watchpoint: which accesses it catches and the range [addr, addr+len).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watchpt {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub addr: u64,
    pub len: u64,
}

/// The top of user space (9front USTKTOP): a watchpoint must end at or below it. Glass uses
/// the Linux user address limit of each arch (x86_64 TASK_SIZE 0x7ffffffff000, arm64 48-bit,
/// riscv64 Sv39).
pub fn user_top(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 0x7fff_ffff_f000,
        Arch::Aarch64 => 1 << 48,
        Arch::Riscv64 => 1 << 38,
    }
}

/// Debug registers an amd64 process has (9front pc/devarch.c setupwatchpts: DR0–DR3).
pub const MAX_WATCHPTS: usize = 4;

/// 9front's amd64 setupwatchpts checks (pc/devarch.c), in its order: at most four; each
/// `rw-`, `-w-` or `--x` (x86 debug registers cannot watch reads alone); an execute watch
/// is 1 byte; a length of 1, 2, 4 or 8 (the CPU has 8-byte watchpoints, as every amd64
/// since the Pentium 4 does); the address aligned to it. The first violation is the
/// error. Glass applies these on every arch (9front arm64's setupwatchpts accepts any list
/// and never fires).
pub fn check_setup(list: &[Watchpt]) -> Result<(), &'static str> {
    if list.len() > MAX_WATCHPTS {
        return Err("there are four watchpoints.");
    }
    for w in list {
        match (w.read, w.write, w.exec) {
            (true, true, false) | (false, true, false) => {}
            (false, false, true) => {
                if w.len != 1 {
                    return Err("length must be 1 on breakpoints");
                }
            }
            _ => return Err("type must be rw-, -w- or --x"),
        }
        if !matches!(w.len, 1 | 2 | 4 | 8) {
            return Err("length must be 1,2,4,8");
        }
        if w.addr & (w.len - 1) != 0 {
            return Err("address must be aligned according to length");
        }
    }
    Ok(())
}

/// The note a watched access posts (9front pc64/trap.c debugexc): `sys: watchpoint ` and
/// the indices of the triggered entries, comma-separated, from the bit mask `hits`.
pub fn note(hits: u32) -> String {
    let idx: Vec<String> = (0..32)
        .filter(|i| hits & (1 << i) != 0)
        .map(|i| i.to_string())
        .collect();
    format!("sys: watchpoint {}", idx.join(","))
}

/// readwatchpt's line.
pub fn line(w: &Watchpt) -> String {
    format!(
        "{}{}{} {:#018x} {:#018x}\n",
        if w.read { 'r' } else { '-' },
        if w.write { 'w' } else { '-' },
        if w.exec { 'x' } else { '-' },
        w.addr,
        w.len
    )
}

/// strtoull(s, &end, 0) that must use the whole string: 0x hex, leading 0 octal, else
/// decimal; None if it is empty, has junk, or overflows (9front then fails the check).
fn strtoull0(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// writewatchpt: the watchpoints of every complete line of `data` (a last line without
/// its newline is ignored), or the first error string.
pub fn parse(data: &[u8], top: u64) -> Result<Vec<Watchpt>, &'static str> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let raw = &rest[..nl];
        rest = &rest[nl + 1..];
        if raw.len() > LINE_MAX {
            return Err("line too long");
        }
        let f = super::ctl::tokenize(&String::from_utf8_lossy(raw));
        if f.is_empty() {
            continue;
        }
        if f.len() != 3 {
            return Err("wrong number of fields");
        }
        let mut w = Watchpt {
            read: false,
            write: false,
            exec: false,
            addr: 0,
            len: 0,
        };
        for c in f[0].chars() {
            let flag = match c {
                'r' => &mut w.read,
                'w' => &mut w.write,
                'x' => &mut w.exec,
                '-' => continue,
                _ => return Err("invalid type"),
            };
            if *flag {
                return Err("invalid type");
            }
            *flag = true;
        }
        w.addr = strtoull0(&f[1]).ok_or("invalid address")?;
        w.len = strtoull0(&f[2]).ok_or("invalid length")?;
        if w.len > w.addr.wrapping_neg() && w.addr != 0 {
            return Err("invalid length");
        }
        if w.addr.checked_add(w.len).is_none_or(|end| end > top) {
            return Err("bad address");
        }
        out.push(w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u64 = 0x7fff_ffff_f000;

    #[test]
    fn line_is_42_bytes_in_9front_format() {
        let w = Watchpt {
            read: true,
            write: true,
            exec: false,
            addr: 0x40_1000,
            len: 4,
        };
        assert_eq!(line(&w), "rw- 0x0000000000401000 0x0000000000000004\n");
        assert_eq!(line(&w).len(), LINE_LEN);
    }

    fn wp(t: &str, addr: u64, len: u64) -> Watchpt {
        Watchpt {
            read: t.contains('r'),
            write: t.contains('w'),
            exec: t.contains('x'),
            addr,
            len,
        }
    }

    #[test]
    fn check_setup_errors_as_9front_amd64() {
        assert_eq!(check_setup(&[]), Ok(()));
        let five = vec![wp("w", 0x1000, 4); 5];
        assert_eq!(check_setup(&five), Err("there are four watchpoints."));
        assert_eq!(check_setup(&five[..4]), Ok(()));
        assert_eq!(
            check_setup(&[wp("r", 0x1000, 4)]),
            Err("type must be rw-, -w- or --x")
        );
        assert_eq!(
            check_setup(&[wp("wx", 0x1000, 1)]),
            Err("type must be rw-, -w- or --x")
        );
        assert_eq!(
            check_setup(&[wp("x", 0x1000, 4)]),
            Err("length must be 1 on breakpoints")
        );
        assert_eq!(
            check_setup(&[wp("w", 0x1000, 3)]),
            Err("length must be 1,2,4,8")
        );
        assert_eq!(
            check_setup(&[wp("rw", 0x1004, 8)]),
            Err("address must be aligned according to length")
        );
        assert_eq!(
            check_setup(&[wp("rw", 0x1008, 8), wp("x", 0x1003, 1)]),
            Ok(())
        );
    }

    #[test]
    fn note_lists_indices_as_debugexc() {
        assert_eq!(note(0b1), "sys: watchpoint 0");
        assert_eq!(note(0b101), "sys: watchpoint 0,2");
        assert_eq!(note(0b1000), "sys: watchpoint 3");
    }

    #[test]
    fn parse_errors_exact_strings() {
        assert_eq!(parse(b"r 0x1000\n", TOP), Err("wrong number of fields"));
        assert_eq!(parse(b"rr 0x1000 4\n", TOP), Err("invalid type"));
        assert_eq!(parse(b"q 0x1000 4\n", TOP), Err("invalid type"));
        assert_eq!(parse(b"r 0x10zz 4\n", TOP), Err("invalid address"));
        assert_eq!(parse(b"r 0x1000 four\n", TOP), Err("invalid length"));
        assert_eq!(
            parse(b"r 0xfffffffffffffff0 0x20\n", TOP),
            Err("invalid length")
        );
        assert_eq!(parse(b"w 0x7ffffffff000 1\n", TOP), Err("bad address"));
        let long = format!("r 0x1000 {}\n", "1".repeat(260));
        assert_eq!(parse(long.as_bytes(), TOP), Err("line too long"));
    }

    #[test]
    fn parse_bases_blank_lines_and_unterminated_tail() {
        let got = parse(b"\nr-x 4096 010\n-w- 0x2000 0x8\nr 0x3000 1", TOP).expect("valid");
        assert_eq!(
            got,
            [
                Watchpt {
                    read: true,
                    write: false,
                    exec: true,
                    addr: 4096,
                    len: 8
                },
                Watchpt {
                    read: false,
                    write: true,
                    exec: false,
                    addr: 0x2000,
                    len: 8
                }
            ]
        );
    }
}
