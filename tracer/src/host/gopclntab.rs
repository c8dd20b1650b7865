//! Go's own symbol table, `.gopclntab`: function names, files and lines of a Go binary built
//! with `-ldflags "-s -w"` (no symbol table, no DWARF). The runtime needs it for its tracebacks,
//! so every Go binary keeps it. The layout is the one `runtime/symtab.go` and `debug/gosym`
//! describe, for Go 1.16 and later (its header's magic says which: 1.16, 1.18, 1.20).
//!
//! The table comes from a traced process's binary: every offset is checked, and a table that
//! does not hold together names nothing rather than something wrong.
use object::{Object, ObjectSection, ObjectSegment};

/// Binaries larger than this are not read for a Go symbol table (the largest Go services are a
/// few hundred MB), nor is a table larger than this.
pub const MAX_BINARY_BYTES: u64 = 1 << 30;

const GO116_MAGIC: u32 = 0xffff_fffa;
const GO118_MAGIC: u32 = 0xffff_fff0;
const GO120_MAGIC: u32 = 0xffff_fff1;

/// A function found for an address, with its file and line where the table has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoFrame {
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// A parsed `.gopclntab`, and where the binary's segments lie, to turn a file offset into the
/// address the table speaks of.
pub struct GoTable {
    data: Vec<u8>,
    /// Layout version: 116, 118 or 120.
    version: u32,
    ptr_size: usize,
    /// Bytes of an instruction step in the pc tables (1 on amd64, 4 on arm64).
    min_lc: u64,
    nfunc: usize,
    text_start: u64,
    funcname: usize,
    cu: usize,
    filetab: usize,
    pctab: usize,
    /// `functab` and the `_func` records after it.
    pcln: usize,
    /// (file offset, size in file, address) of each loadable segment.
    segments: Vec<(u64, u64, u64)>,
}

/// Why a binary gives no table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTable {
    /// Not a Go binary (or not an ELF file at all: that is for the ELF symbolizer to say).
    NotGo,
    /// A `.gopclntab` that does not hold together, or of a layout this reader does not know.
    Unreadable,
}

impl GoTable {
    /// The table of an ELF file: its bytes, or the file itself through `object::ReadCache`
    /// (then only its headers and the table are read).
    pub fn parse<'data, R: object::ReadRef<'data>>(file: R) -> Result<Self, NoTable> {
        let elf = object::File::parse(file).map_err(|_| NoTable::NotGo)?;
        // A position-independent build keeps it among its relocated read-only data.
        let section = elf.section_by_name(".gopclntab").or_else(|| elf.section_by_name(".data.rel.ro.gopclntab")).ok_or(NoTable::NotGo)?;
        // A file read through ReadCache may have grown since its size was checked.
        if section.size() > MAX_BINARY_BYTES {
            return Err(NoTable::Unreadable);
        }
        let data = section.data().map_err(|_| NoTable::Unreadable)?.to_vec();
        // PIE binaries hold the text start as a relocation; the text section's address is it.
        let text_section = elf.section_by_name(".text").map(|s| s.address());
        let segments = elf.segments().map(|s| (s.file_range().0, s.file_range().1, s.address())).collect();
        Self::from_table(data, text_section, segments).ok_or(NoTable::Unreadable)
    }

    fn from_table(data: Vec<u8>, text_section: Option<u64>, segments: Vec<(u64, u64, u64)>) -> Option<Self> {
        let magic = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?);
        let version = match magic {
            GO116_MAGIC => 116,
            GO118_MAGIC => 118,
            GO120_MAGIC => 120,
            _ => return None,
        };
        let (min_lc, ptr_size) = (u64::from(*data.get(6)?), usize::from(*data.get(7)?));
        if !matches!(min_lc, 1 | 2 | 4) || !matches!(ptr_size, 4 | 8) {
            return None;
        }
        let word_at = |i: usize| -> Option<u64> {
            let at = 8 + i * ptr_size;
            match ptr_size {
                8 => Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?)),
                _ => Some(u64::from(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))),
            }
        };
        let nfunc = usize::try_from(word_at(0)?).ok()?;
        // From 1.18 the header has the text start after nfiles; 1.16's has not.
        let (text_start, fields) = match version {
            116 => (0, 1),
            _ => (
                match word_at(2)? {
                    0 => text_section?,
                    start => start,
                },
                2,
            ),
        };
        let offset = |i: usize| word_at(fields + 1 + i).and_then(|v| usize::try_from(v).ok());
        let table = Self {
            version,
            ptr_size,
            min_lc,
            nfunc,
            text_start,
            funcname: offset(0)?,
            cu: offset(1)?,
            filetab: offset(2)?,
            pctab: offset(3)?,
            pcln: offset(4)?,
            segments,
            data,
        };
        let functab_bytes = table.nfunc.checked_add(1)?.checked_mul(table.functab_entry())?;
        if table.nfunc == 0 || table.pcln.checked_add(functab_bytes)? > table.data.len() {
            return None;
        }
        Some(table)
    }

    /// The function at file offset `offset` of the binary.
    pub fn frame_at_offset(&self, offset: u64) -> Option<GoFrame> {
        let &(file_start, _, address) = self.segments.iter().find(|&&(start, size, _)| (start..start.saturating_add(size)).contains(&offset))?;
        self.frame_at(address.checked_add(offset - file_start)?)
    }

    /// The function at address `pc` (as linked).
    pub fn frame_at(&self, pc: u64) -> Option<GoFrame> {
        let index = self.function_index(pc)?;
        let func = self.func_record(index)?;
        let name = self.string_at(self.funcname.checked_add(usize::try_from(self.i32_at(func + self.func_field(1))?).ok()?)?)?;
        let entry = self.entry(index)?;
        let line = self.pc_value(self.u32_at(func + self.func_field(6))?, entry, pc).and_then(|l| u32::try_from(l).ok());
        let file = self.pc_value(self.u32_at(func + self.func_field(5))?, entry, pc).and_then(|file_index| {
            let cu_offset = self.u32_at(func + self.func_field(8))?;
            let cu_entry = self.cu.checked_add((usize::try_from(cu_offset).ok()?.checked_add(usize::try_from(file_index).ok()?))?.checked_mul(4)?)?;
            let file_offset = self.u32_at(cu_entry)?;
            self.string_at(self.filetab.checked_add(usize::try_from(file_offset).ok()?)?)
        });
        Some(GoFrame { function: name, file, line })
    }

    fn functab_entry(&self) -> usize {
        if self.version >= 118 { 8 } else { 2 * self.ptr_size }
    }

    /// Function `i`'s entry address, from `functab` (`i` may be `nfunc`: the end of the text).
    fn entry(&self, i: usize) -> Option<u64> {
        let at = self.pcln.checked_add(i.checked_mul(self.functab_entry())?)?;
        if self.version >= 118 {
            self.text_start.checked_add(u64::from(self.u32_at(at)?))
        } else {
            self.word(at)
        }
    }

    /// The last function whose entry is at or below `pc`, if `pc` is in the text at all.
    fn function_index(&self, pc: u64) -> Option<usize> {
        if pc < self.entry(0)? || pc >= self.entry(self.nfunc)? {
            return None;
        }
        let (mut low, mut high) = (0, self.nfunc);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.entry(mid)? <= pc {
                low = mid;
            } else {
                high = mid;
            }
        }
        Some(low)
    }

    /// Where function `i`'s `_func` record starts.
    fn func_record(&self, i: usize) -> Option<usize> {
        let entry = self.pcln.checked_add(i.checked_mul(self.functab_entry())?)?;
        let funcoff = if self.version >= 118 { u64::from(self.u32_at(entry + 4)?) } else { self.word(entry + self.ptr_size)? };
        self.pcln.checked_add(usize::try_from(funcoff).ok()?)
    }

    /// Offset of field `n` of `_func` counted in 32-bit fields after the entry (nameoff is 1,
    /// pcfile 5, pcln 6, cuOffset 8): the entry is a uintptr before 1.18, a uint32 after.
    fn func_field(&self, n: usize) -> usize {
        let entry = if self.version >= 118 { 4 } else { self.ptr_size };
        entry + (n - 1) * 4
    }

    /// The value a pc-value table (at `offset` in `pctab`) gives at `pc`, for a function that
    /// starts at `entry`: pairs of a zig-zag value delta and a pc delta, as varints.
    fn pc_value(&self, offset: u32, entry: u64, pc: u64) -> Option<i64> {
        if offset == 0 {
            return None;
        }
        let mut at = self.pctab.checked_add(usize::try_from(offset).ok()?)?;
        let (mut value, mut current) = (-1i64, entry);
        // Bounded: a table ends where its function ends, and no function has more steps.
        for step in 0..1_000_000 {
            let (delta, next) = self.varint(at)?;
            if delta == 0 && step > 0 {
                return None;
            }
            let delta = if delta & 1 != 0 { !((delta >> 1) as i64) } else { (delta >> 1) as i64 };
            value = value.checked_add(delta)?;
            let (pc_delta, next) = self.varint(next)?;
            current = current.checked_add(pc_delta.checked_mul(self.min_lc)?)?;
            at = next;
            if pc < current {
                return Some(value);
            }
        }
        None
    }

    fn varint(&self, mut at: usize) -> Option<(u64, usize)> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.data.get(at)?;
            at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some((value, at));
            }
        }
        None
    }

    fn word(&self, at: usize) -> Option<u64> {
        match self.ptr_size {
            8 => Some(u64::from_le_bytes(self.data.get(at..at.checked_add(8)?)?.try_into().ok()?)),
            _ => self.u32_at(at).map(u64::from),
        }
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.data.get(at..at.checked_add(4)?)?.try_into().ok()?))
    }

    fn i32_at(&self, at: usize) -> Option<i32> {
        self.u32_at(at).map(|v| v as i32)
    }

    /// A NUL-terminated string at `at`, at most 4 KiB.
    fn string_at(&self, at: usize) -> Option<String> {
        let bytes = self.data.get(at..)?;
        let end = bytes.iter().take(4096).position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// A table of `version`'s layout (116, 118, 120) of two functions at 0x1000 and 0x1100
    /// (text ends at 0x1200), the first with lines 10 then 12 from 0x1010, both in `a.go`.
    pub(crate) fn table(version: u32) -> Vec<u8> {
        let magic = match version {
            116 => GO116_MAGIC,
            118 => GO118_MAGIC,
            _ => GO120_MAGIC,
        };
        let words = if version == 116 { 7 } else { 8 };
        let mut t = vec![0u8; 8 + words * 8];
        t[0..4].copy_from_slice(&magic.to_le_bytes());
        (t[6], t[7]) = (1, 8);
        let header = |t: &mut Vec<u8>, i: usize, v: u64| t[8 + i * 8..16 + i * 8].copy_from_slice(&v.to_le_bytes());
        header(&mut t, 0, 2); // nfunc
        header(&mut t, 1, 1); // nfiles
        if version != 116 {
            header(&mut t, 2, 0x1000); // text start
        }
        let funcname = t.len();
        t.extend_from_slice(b"main.first\0main.second\0");
        let cu = t.len();
        t.extend_from_slice(&0u32.to_le_bytes());
        let filetab = t.len();
        t.extend_from_slice(b"/src/a.go\0");
        let pctab = t.len();
        t.push(0); // offset 0 means "no table"
        let lines = t.len() - pctab;
        for (value_delta, pc_delta) in [(2 * 11, 0x10u64), (2 * 2, 0xf0), (0, 0)] {
            varint(value_delta, &mut t);
            varint(pc_delta, &mut t);
        }
        let files = t.len() - pctab;
        for (value_delta, pc_delta) in [(2, 0x100u64), (0, 0)] {
            varint(value_delta, &mut t);
            varint(pc_delta, &mut t);
        }
        let pcln = t.len();
        let offsets_from = words - 5;
        for (i, v) in [funcname, cu, filetab, pctab, pcln].into_iter().enumerate() {
            header(&mut t, offsets_from + i, v as u64);
        }
        // functab: (entry, funcoff) pairs, u32 each from 1.18, uintptr before (the entry then
        // absolute); then the _func records, whose entry is the same width.
        let (entry_bytes, record_bytes) = if version == 116 { (16, 48) } else { (8, 44) };
        let funcs = 3 * entry_bytes;
        for (entry, func) in [(0u64, funcs), (0x100, funcs + record_bytes), (0x200, 0)] {
            if version == 116 {
                t.extend_from_slice(&(0x1000 + entry).to_le_bytes());
                t.extend_from_slice(&(func as u64).to_le_bytes());
            } else {
                t.extend_from_slice(&(entry as u32).to_le_bytes());
                t.extend_from_slice(&(func as u32).to_le_bytes());
            }
        }
        for (entry, name, line_table) in [(0u64, 0u32, lines), (0x100, 11, 0)] {
            let mut record = Vec::new();
            if version == 116 {
                record.extend_from_slice(&(0x1000 + entry).to_le_bytes());
            } else {
                record.extend_from_slice(&(entry as u32).to_le_bytes());
            }
            // nameoff, args, deferreturn, pcsp, pcfile, pcln, npcdata, cuOffset, then the rest.
            for field in [name, 0, 0, 0, files as u32, line_table as u32, 0, 0, 0] {
                record.extend_from_slice(&field.to_le_bytes());
            }
            record.resize(record_bytes, 0);
            t.extend_from_slice(&record);
        }
        t
    }

    #[test]
    fn names_files_and_lines_of_each_layout() {
        for version in [116, 118, 120] {
            let t = GoTable::from_table(table(version), None, vec![(0, 0x10_0000, 0)]).unwrap();
            let frame = |pc| t.frame_at(pc);
            assert_eq!(frame(0x1004), Some(GoFrame { function: "main.first".into(), file: Some("/src/a.go".into()), line: Some(10) }), "{version}");
            assert_eq!(frame(0x1010).unwrap().line, Some(12));
            assert_eq!(frame(0x10ff).unwrap().line, Some(12));
            assert_eq!(frame(0x1100), Some(GoFrame { function: "main.second".into(), file: Some("/src/a.go".into()), line: None }));
            assert_eq!(frame(0x0fff), None);
            assert_eq!(frame(0x1200), None, "past the text's end");
            assert_eq!(t.frame_at_offset(0x1004).unwrap().function, "main.first", "a file offset, through the segments");
        }
    }

    /// Builds the tests' Go program (tests/go/slowsleep) to `binary` for `arch`, with `flags`,
    /// with this machine's Go (`cargo xtask setup` installs it).
    pub(crate) fn go_build(binary: &std::path::Path, arch: &str, flags: &[&str]) {
        let built = std::process::Command::new("go")
            .arg("build")
            .args(flags)
            .arg("-o")
            .arg(binary)
            .arg(".")
            .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/go/slowsleep"))
            .env("GOARCH", arch)
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", std::env::temp_dir().join("tracer-go-cache"))
            .env("GOFLAGS", "-mod=mod")
            .output()
            .expect("go (cargo xtask setup installs golang-go)");
        assert!(built.status.success(), "{arch} {flags:?}: {}", String::from_utf8_lossy(&built.stderr));
    }

    /// Real builds of the tests' Go program (this machine's Go: `cargo xtask setup` installs
    /// it), for amd64 and arm64, static and PIE: the table names each function the symbol
    /// table has at its address, with a line, as `debug/gosym` would.
    #[test]
    fn tables_of_real_builds_name_their_functions() {
        use object::{ObjectSymbol, SymbolKind};
        let dir = tempfile::tempdir().unwrap();
        for (arch, mode) in [("amd64", "exe"), ("amd64", "pie"), ("arm64", "exe"), ("arm64", "pie")] {
            let binary = dir.path().join(format!("{arch}-{mode}"));
            go_build(&binary, arch, &[&format!("-buildmode={mode}")]);
            let bytes = std::fs::read(&binary).unwrap();
            let table = GoTable::parse(&bytes[..]).unwrap_or_else(|e| panic!("{arch} {mode}: {e:?}"));
            let elf = object::File::parse(&*bytes).unwrap();
            let functions: Vec<_> = elf.symbols().filter(|s| s.kind() == SymbolKind::Text && s.size() > 0).collect();
            assert!(functions.len() > 500, "{arch} {mode}");
            // Go's own table writes type arguments as `[...]`, which the symbol table spells out.
            for symbol in functions.iter().filter(|s| !s.name().unwrap().contains('[')) {
                // The symbol table marks assembly functions' ABI; Go's own table does not.
                let name = symbol.name().unwrap().trim_end_matches(".abi0");
                let frame = table.frame_at(symbol.address() + symbol.size() / 2).unwrap_or_else(|| panic!("{arch} {mode}: nothing at {name}"));
                assert_eq!(frame.function, name, "{arch} {mode}");
            }
            let handler = functions.iter().find(|s| s.name() == Ok("main.handler")).unwrap();
            let frame = table.frame_at(handler.address() + 4).unwrap();
            assert!(frame.file.as_deref().is_some_and(|f| f.ends_with("slowsleep/main.go")) && frame.line.is_some(), "{arch} {mode}: {frame:?}");
        }
    }

    /// Writes the fuzz seeds (`tracer/tests/fuzz-corpus/gopclntab/`) again.
    #[test]
    #[ignore]
    fn write_gopclntab_seeds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/gopclntab");
        std::fs::create_dir_all(&dir).unwrap();
        for version in [116, 118, 120] {
            std::fs::write(dir.join(format!("go{version}.tab")), table(version)).unwrap();
        }
    }

    /// Fuzz target: a `.gopclntab` as a traced binary may hold it, looked up across its text.
    #[test]
    fn fuzz_gopclntab() {
        crate::fuzz::fuzz("gopclntab", |bytes| {
            if let Some(t) = GoTable::from_table(bytes.to_vec(), Some(0x1000), vec![(0, 0x10_0000, 0)]) {
                for pc in (0xff0..0x1210).step_by(4) {
                    let _ = t.frame_at(pc);
                }
            }
        });
    }

    #[test]
    fn tables_that_do_not_hold_together_name_nothing() {
        let good = table(118);
        assert!(GoTable::from_table(good[..40].to_vec(), None, vec![]).is_none(), "cut in the header");
        let mut bad = good.clone();
        bad[0] = 0xfb; // Go 1.2's magic: not a layout read here
        assert!(GoTable::from_table(bad, None, vec![]).is_none());
        // Every cut and every flipped byte: no panic, and never a name from past the end.
        for cut in 0..good.len() {
            if let Some(t) = GoTable::from_table(good[..cut].to_vec(), None, vec![]) {
                let _ = t.frame_at(0x1004);
            }
        }
        for i in 0..good.len() {
            let mut flipped = good.clone();
            flipped[i] ^= 0xff;
            if let Some(t) = GoTable::from_table(flipped, Some(0x1000), vec![]) {
                for pc in (0xff0..0x1210).step_by(4) {
                    let _ = t.frame_at(pc);
                }
            }
        }
    }
}
