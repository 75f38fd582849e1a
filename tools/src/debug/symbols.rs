//! Symbols for `glass debug`, read from the program's ELF file: the symbol table (`object`),
//! DWARF line tables (address ↔ file:line, DWARF 5 §6.2) and call-frame information from
//! `.eh_frame`, then `.debug_frame`, for unwinding (DWARF 5 §6.4, read with `gimli`). riscv64
//! gcc puts the CFI of C code only in `.debug_frame` unless asked for unwind tables.

use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EndianSlice, LittleEndian, RegisterRule,
    UnwindContext, UnwindSection,
};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::borrow::Cow;

/// A function symbol.
#[derive(Clone, Debug)]
pub struct Func {
    pub name: String,
    pub addr: u64,
    pub size: u64,
}

/// One row of a line table.
#[derive(Clone, Debug)]
pub struct Line {
    pub addr: u64,
    pub file: String,
    pub line: u32,
    pub stmt: bool,
}

/// The guest arch as the debugger knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbgArch {
    X86_64,
    Aarch64,
    Riscv64,
}

impl DbgArch {
    /// DWARF register numbers of pc (return-address column), sp and fp.
    pub fn dwarf_ra(self) -> u16 {
        match self {
            DbgArch::X86_64 => 16,
            DbgArch::Aarch64 => 30,
            DbgArch::Riscv64 => 1,
        }
    }
    pub fn dwarf_sp(self) -> u16 {
        match self {
            DbgArch::X86_64 => 7,
            DbgArch::Aarch64 => 31,
            DbgArch::Riscv64 => 2,
        }
    }
}

pub struct Symbols {
    pub arch: DbgArch,
    funcs: Vec<Func>,
    objects: Vec<Func>,
    lines: Vec<Line>,
    eh_frame: Vec<u8>,
    eh_frame_addr: u64,
    debug_frame: Vec<u8>,
    text_addr: u64,
}

/// One frame of a backtrace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub pc: u64,
    pub cfa: u64,
}

impl Symbols {
    pub fn load(bytes: &[u8]) -> Result<Symbols, String> {
        let file = object::File::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
        let arch = match file.architecture() {
            object::Architecture::X86_64 => DbgArch::X86_64,
            object::Architecture::Aarch64 => DbgArch::Aarch64,
            object::Architecture::Riscv64 => DbgArch::Riscv64,
            a => return Err(format!("unsupported architecture {a:?}")),
        };
        let mut funcs = Vec::new();
        let mut objects = Vec::new();
        for s in file.symbols() {
            let Ok(name) = s.name() else { continue };
            if name.is_empty() || s.address() == 0 {
                continue;
            }
            let f = Func {
                name: name.to_string(),
                addr: s.address(),
                size: s.size(),
            };
            match s.kind() {
                SymbolKind::Text => funcs.push(f),
                SymbolKind::Data | SymbolKind::Tls => objects.push(f),
                _ => {}
            }
        }
        funcs.sort_by_key(|f| (f.addr, std::cmp::Reverse(f.size)));
        let lines = read_lines(&file).unwrap_or_default();
        let (eh_frame, eh_frame_addr) = file
            .section_by_name(".eh_frame")
            .and_then(|s| Some((s.uncompressed_data().ok()?.into_owned(), s.address())))
            .unwrap_or_default();
        let debug_frame = file
            .section_by_name(".debug_frame")
            .and_then(|s| Some(s.uncompressed_data().ok()?.into_owned()))
            .unwrap_or_default();
        let text_addr = file
            .section_by_name(".text")
            .map(|s| s.address())
            .unwrap_or(0);
        Ok(Symbols {
            arch,
            funcs,
            objects,
            lines,
            eh_frame,
            eh_frame_addr,
            debug_frame,
            text_addr,
        })
    }

    /// Address of a function or data symbol by name.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.funcs
            .iter()
            .chain(self.objects.iter())
            .find(|f| f.name == name)
            .map(|f| f.addr)
    }

    /// Size of a data symbol.
    pub fn object_size(&self, name: &str) -> Option<u64> {
        self.objects.iter().find(|f| f.name == name).map(|f| f.size)
    }

    /// The data symbol that starts at `addr`.
    pub fn object_at(&self, addr: u64) -> Option<String> {
        self.objects
            .iter()
            .find(|f| f.addr == addr)
            .map(|f| f.name.clone())
    }

    /// The function containing `addr`, and the offset into it.
    pub fn func_at(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self.funcs.partition_point(|f| f.addr <= addr);
        let f = self.funcs[..i]
            .iter()
            .rev()
            .find(|f| addr < f.addr + f.size.max(1))?;
        Some((&f.name, addr - f.addr))
    }

    /// The source line of `addr` (the last row at or before it in its sequence).
    pub fn line_at(&self, addr: u64) -> Option<(&str, u32)> {
        let i = self.lines.partition_point(|l| l.addr <= addr);
        let l = self.lines[..i].last()?;
        // Rows past the end of the function do not describe it.
        match (self.func_at(addr), self.func_at(l.addr)) {
            (Some((a, _)), Some((b, _))) if a != b => None,
            _ => Some((&l.file, l.line)),
        }
    }

    /// The lowest statement address of `file:line` (file matched by its base name too).
    pub fn addr_of_line(&self, file: &str, line: u32) -> Option<u64> {
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
        self.lines
            .iter()
            .filter(|l| l.line == line && l.stmt && (l.file == file || base(&l.file) == base(file)))
            .map(|l| l.addr)
            .min()
    }

    /// Unwind from the innermost frame. `regs` holds DWARF-numbered registers (0..32), `mem`
    /// reads a u64 of guest memory. Stops at the first frame without CFI or a zero pc.
    pub fn backtrace(
        &self,
        regs: &[u64; 33],
        mem: &mut dyn FnMut(u64) -> Option<u64>,
        max: usize,
    ) -> Vec<Frame> {
        let eh = EhFrame::new(&self.eh_frame, LittleEndian);
        let mut df = DebugFrame::new(&self.debug_frame, LittleEndian);
        df.set_address_size(8);
        let bases = BaseAddresses::default()
            .set_eh_frame(self.eh_frame_addr)
            .set_text(self.text_addr);
        let mut ctx = UnwindContext::new();
        let mut regs = *regs;
        let ra = usize::from(self.arch.dwarf_ra());
        let sp = usize::from(self.arch.dwarf_sp());
        let mut pc = regs[32];
        let mut frames = Vec::new();
        for depth in 0..max {
            if pc == 0 {
                break;
            }
            // Past the innermost frame pc is a return address: look up the call itself.
            let lookup = if depth == 0 { pc } else { pc - 1 };
            let row = eh
                .unwind_info_for_address(&bases, &mut ctx, lookup, EhFrame::cie_from_offset)
                .cloned()
                .or_else(|_| {
                    df.unwind_info_for_address(
                        &bases,
                        &mut ctx,
                        lookup,
                        DebugFrame::cie_from_offset,
                    )
                    .cloned()
                });
            let Ok(row) = row else {
                frames.push(Frame { pc, cfa: 0 });
                break;
            };
            let cfa = match row.cfa() {
                CfaRule::RegisterAndOffset { register, offset } => regs
                    .get(usize::from(register.0))
                    .copied()
                    .unwrap_or(0)
                    .wrapping_add(*offset as u64),
                CfaRule::Expression(_) => {
                    frames.push(Frame { pc, cfa: 0 });
                    break;
                }
            };
            frames.push(Frame { pc, cfa });
            let mut next = regs;
            for (reg, rule) in row.registers() {
                let r = usize::from(reg.0);
                if r >= 32 {
                    continue;
                }
                match rule {
                    RegisterRule::Offset(o) => match mem(cfa.wrapping_add(*o as u64)) {
                        Some(v) => next[r] = v,
                        None => return frames,
                    },
                    RegisterRule::ValOffset(o) => next[r] = cfa.wrapping_add(*o as u64),
                    RegisterRule::Register(other) => next[r] = regs[usize::from(other.0).min(32)],
                    _ => {}
                }
            }
            // No rule for the return-address column: on x86_64 every FDE gives it one, so
            // Undefined is `.cfi_undefined rip` in _start, the end of the stack. On aarch64
            // and riscv64 it is a register (x30, ra) whose default is "same value": a leaf at
            // its entry still holds the return address there (and _start zeroes it).
            let ra_reg = gimli::Register(ra as u16);
            let new_pc = match row.register(ra_reg) {
                RegisterRule::Offset(_)
                | RegisterRule::ValOffset(_)
                | RegisterRule::Register(_) => next[ra],
                RegisterRule::Undefined if self.arch == DbgArch::X86_64 => 0,
                // On x86_64 the return address sits just below the CFA even without a rule.
                _ if self.arch == DbgArch::X86_64 => mem(cfa.wrapping_sub(8)).unwrap_or(0),
                _ => next[ra],
            };
            next[sp] = cfa;
            if new_pc == pc && next[sp] == regs[sp] {
                break;
            }
            regs = next;
            pc = new_pc;
            regs[32] = pc;
        }
        frames
    }
}

fn read_lines(file: &object::File) -> Result<Vec<Line>, gimli::Error> {
    let load = |id: gimli::SectionId| -> Result<Cow<[u8]>, gimli::Error> {
        Ok(file
            .section_by_name(id.name())
            .and_then(|s| s.uncompressed_data().ok())
            .unwrap_or(Cow::Borrowed(&[])))
    };
    let sections = gimli::DwarfSections::load(load)?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, LittleEndian));
    let mut out = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let comp_dir = unit
            .comp_dir
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut rows = program.rows();
        while let Some((header, row)) = rows.next_row()? {
            if row.end_sequence() {
                continue;
            }
            let Some(line) = row.line() else { continue };
            let file = match row.file(header) {
                Some(f) => {
                    let name = dwarf
                        .attr_string(&unit, f.path_name())?
                        .to_string_lossy()
                        .into_owned();
                    if name.starts_with('/') {
                        name
                    } else {
                        let dir = f
                            .directory(header)
                            .and_then(|d| dwarf.attr_string(&unit, d).ok())
                            .map(|d| d.to_string_lossy().into_owned())
                            .unwrap_or_else(|| comp_dir.clone());
                        if dir.is_empty() {
                            name
                        } else {
                            format!("{dir}/{name}")
                        }
                    }
                }
                None => continue,
            };
            out.push(Line {
                addr: row.address(),
                file,
                line: line.get() as u32,
                stmt: row.is_stmt(),
            });
        }
    }
    out.sort_by_key(|l| l.addr);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debugme() -> Option<Vec<u8>> {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/guest/x86_64/debugme");
        std::fs::read(p).ok()
    }

    #[test]
    fn symbols_debugme_functions_lines_and_globals() {
        let Some(bytes) = debugme() else {
            panic!("build/guest/x86_64/debugme missing: run tools/scripts/setup.sh");
        };
        let s = Symbols::load(&bytes).expect("symbols");
        let compute = s.lookup("compute").expect("compute");
        assert_eq!(s.func_at(compute), Some(("compute", 0)));
        assert!(s.lookup("counter").is_some());
        assert_eq!(s.object_size("counter"), Some(4));
        let (file, line) = s.line_at(compute).expect("line of compute");
        assert!(file.ends_with("debugme.c"), "{file}");
        // compute's body opens on the line after its name (see guest-images/src/debugme.c).
        let src = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-images/src/debugme.c"),
        )
        .expect("source");
        let decl = src
            .lines()
            .position(|l| l.contains("int compute(int x)"))
            .expect("decl") as u32
            + 1;
        assert!(
            line == decl || line == decl + 2,
            "compute at line {line}, declared at {decl}"
        );
        assert_eq!(s.addr_of_line("debugme.c", line), Some(compute));
    }
}
