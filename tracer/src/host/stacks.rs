//! Symbolizing slow calls' stacks, in the reader, never in the kernel: user frames through the
//! process's memory map and the ELF files it maps (symbols, DWARF for file:line), kernel frames
//! through kallsyms. blazesym (the libbpf project's symbolizer) does the reading and caches each
//! file it opened; a Go binary is named from its own table instead (`gopclntab`: stripped ones
//! too, which blazesym cannot name). Names are cached here by (file, offset).
//!
//! A process's map is read the first time it is seen and again only when an address falls
//! outside it, so a process that exits before its stacks arrive is still symbolized from the
//! files it had mapped. A frame that cannot be named shows as `module+0xoffset`, never as an
//! error: a file blazesym cannot read (an error, or a panic inside it on a malformed file, which
//! fuzzing found, even in release builds: see `fuzz_symbolize`), or a Go table that does not hold
//! together, leaves its frames so and is counted in [`Stacks::unreadable_files`]; the trace goes
//! on.
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
};

use blazesym::symbolize::{
    source::{Elf, Kernel, Source},
    Input, Symbolized, Symbolizer,
};

use super::gopclntab::{GoFrame, GoTable, NoTable, MAX_BINARY_BYTES};
use crate::model::slow::Frame;

/// An executable mapping of a process.
#[derive(Clone, Debug)]
struct Mapping {
    start: u64,
    end: u64,
    file_offset: u64,
    /// The file as the process names it, or a pseudo-path (`[vdso]`, `[anon]`) for memory
    /// without one.
    path: Arc<PathBuf>,
    /// Where the file is read from: `path`, or for a process in another mount namespace, a
    /// file held open here (`/proc/self/fd/N`).
    source: Arc<PathBuf>,
    /// (device, inode) as the maps line gives them.
    file_id: (String, u64),
}

/// Unmapped addresses remembered, at most (then forgotten all at once).
const MAX_UNMAPPED: usize = 4096;

/// Files of processes in other mount namespaces held open, at most: past this, such a file is
/// read through `/proc/PID/root` while its process lives.
const MAX_HELD_FILES: usize = 256;

pub struct Stacks {
    symbolizer: Symbolizer,
    maps: HashMap<u32, Vec<Mapping>>,
    names: HashMap<(Arc<PathBuf>, u64), Frame>,
    kernel_names: HashMap<u64, Frame>,
    /// The file a process execs, where known before its map can be read (a spawned command):
    /// named from when its map cannot be read any more, if the file is not position-independent.
    exe_hints: HashMap<u32, Arc<PathBuf>>,
    /// Each file's Go symbol table, `None` for a file that has none (or is not readable).
    go_tables: HashMap<Arc<PathBuf>, Option<Arc<GoTable>>>,
    /// The same tables by Go build ID: one build at several paths (a service's replicas, one
    /// image in several containers) is parsed once.
    go_builds: HashMap<Vec<u8>, Arc<GoTable>>,
    /// Files whose symbols could not be read (an error, a panic, a Go table that does not hold
    /// together): counted in the summary's warning.
    unreadable: HashSet<PathBuf>,
    /// Files of processes in other mount namespaces (containers), by (device, inode), opened
    /// when their maps were read: their paths mean other files here, and `/proc/PID/root`
    /// goes with the process, often before its stacks are named.
    held: HashMap<(String, u64), std::fs::File>,
    /// Addresses found in no mapping even after the map was read again: not read again for.
    unmapped: HashSet<(u32, u64)>,
}

impl Default for Stacks {
    fn default() -> Self {
        Self {
            symbolizer: Symbolizer::builder().enable_code_info(true).enable_inlined_fns(false).build(),
            maps: HashMap::new(),
            names: HashMap::new(),
            kernel_names: HashMap::new(),
            go_tables: HashMap::new(),
            go_builds: HashMap::new(),
            exe_hints: HashMap::new(),
            unreadable: HashSet::new(),
            held: HashMap::new(),
            unmapped: HashSet::new(),
        }
    }
}

impl Stacks {
    /// Reads `tgid`'s memory map now, while it lives (no-op if already known; nothing is kept
    /// for a process already gone, so that a later look can still find it).
    pub fn watch(&mut self, tgid: u32) {
        if !self.maps.contains_key(&tgid) {
            let maps = self.read_maps(tgid);
            if !maps.is_empty() {
                self.maps.insert(tgid, maps);
            }
        }
    }

    /// Forgets a process (its pid may be reused by another program).
    pub fn forget(&mut self, tgid: u32) {
        self.maps.remove(&tgid);
        self.unmapped.retain(|&(of, _)| of != tgid);
    }

    /// Names the user frames of `tgid` (innermost first, as the kernel gives them).
    pub fn user_frames(&mut self, tgid: u32, ips: &[u64]) -> Vec<Frame> {
        self.watch(tgid);
        let mut frames = Vec::with_capacity(ips.len());
        for (depth, &ip) in ips.iter().enumerate() {
            // Past the first frame, each address is a return address: the call is just before.
            let pc = if depth == 0 { ip } else { ip.saturating_sub(1) };
            frames.push(self.user_frame(tgid, pc));
        }
        frames
    }

    fn user_frame(&mut self, tgid: u32, pc: u64) -> Frame {
        let unknown = || Frame { function: format!("[unknown] {pc:#x}"), location: None };
        let mapping = match self.mapping(tgid, pc) {
            Some(mapping) => mapping,
            // Not mapped, and looked for once already: a frame pointer chain that went through
            // something else than frames (Go's g0 stacks end so), seen at every such call.
            None if self.unmapped.contains(&(tgid, pc)) => return unknown(),
            None => {
                // Maybe mapped since (dlopen, a JIT): look again while it may still live.
                let fresh = self.read_maps(tgid);
                if !fresh.is_empty() {
                    self.maps.insert(tgid, fresh);
                }
                match self.mapping(tgid, pc) {
                    Some(mapping) => mapping,
                    None => {
                        if self.unmapped.len() >= MAX_UNMAPPED {
                            self.unmapped.clear();
                        }
                        self.unmapped.insert((tgid, pc));
                        return self.hinted_frame(tgid, pc).unwrap_or_else(unknown);
                    }
                }
            }
        };
        let offset = pc - mapping.start + mapping.file_offset;
        let key = (mapping.source.clone(), offset);
        if let Some(frame) = self.names.get(&key) {
            return frame.clone();
        }
        let frame = match self.go_frame(&mapping.source, offset) {
            Some(frame) => frame,
            None => self.name_in_file(&mapping.path, &mapping.source, offset),
        };
        self.names.insert(key, frame.clone());
        frame
    }

    /// A Go binary's frame, from its own table: stripped or not, Go's names and lines are
    /// there (a stripped binary linked with cgo would otherwise get the nearest of its few
    /// dynamic symbols). Parsed once a file.
    fn go_frame(&mut self, path: &Arc<PathBuf>, offset: u64) -> Option<Frame> {
        let GoFrame { function, file, line } = self.go_table(path)?.frame_at_offset(offset)?;
        Some(go_frame(function, file, line))
    }

    /// The Go symbol table of the file at `path`, read once a path and parsed once a build.
    fn go_table(&mut self, path: &Arc<PathBuf>) -> Option<&GoTable> {
        if !self.go_tables.contains_key(path) {
            let build_id = go_build_id(path);
            let known = build_id.as_ref().and_then(|id| self.go_builds.get(id)).cloned();
            let table = match known {
                Some(table) => Some(table),
                None => match read_go_table(path) {
                    Ok(table) => {
                        let table = Arc::new(table);
                        if let Some(id) = build_id {
                            self.go_builds.insert(id, table.clone());
                        }
                        Some(table)
                    }
                    Err(NoTable::Unreadable) => {
                        log::debug!("{}: its Go symbol table does not hold together", path.display());
                        self.unreadable.insert(path.to_path_buf());
                        None
                    }
                    Err(NoTable::NotGo) => None,
                },
            };
            self.go_tables.insert(path.clone(), table);
        }
        self.go_tables.get(path)?.as_deref()
    }

    /// Tables parsed (for the tests: one a build).
    #[cfg(test)]
    fn go_tables_parsed(&self) -> usize {
        let mut tables: Vec<*const GoTable> = self.go_tables.values().flatten().map(Arc::as_ptr).collect();
        tables.sort();
        tables.dedup();
        tables.len()
    }

    /// `tgid` will run the program at `path` (a spawned command, before its exec). Kept only
    /// if the file is linked at fixed addresses: the only case a hint can name frames.
    pub fn hint_exe(&mut self, tgid: u32, path: PathBuf) {
        if fixed_addresses(&path) {
            self.exe_hints.insert(tgid, Arc::new(path));
        }
    }

    /// A frame of a process gone before its map was read (a spawned command that exited right
    /// after its slow call, its exec's record read too late, as under emulation): named from
    /// the file it exec'd if that file is not position-independent (`ET_EXEC`, as Go builds
    /// by default), where an address is the file's own.
    fn hinted_frame(&mut self, tgid: u32, pc: u64) -> Option<Frame> {
        let path = self.exe_hints.get(&tgid)?.clone();
        if let Some(table) = self.go_table(&path) {
            let GoFrame { function, file, line } = table.frame_at(pc)?;
            return Some(go_frame(function, file, line));
        }
        let source = Source::Elf(Elf::new(path.as_path()));
        let symbolizer = &self.symbolizer;
        match super::contain::contained(|| symbolizer.symbolize_single(&source, Input::VirtOffset(pc))) {
            Ok(Ok(Symbolized::Sym(sym))) => Some(Frame { function: short_name(&sym.name), location: location(sym.code_info.as_deref()) }),
            _ => None,
        }
    }

    fn mapping(&self, tgid: u32, pc: u64) -> Option<Mapping> {
        self.maps.get(&tgid)?.iter().find(|m| (m.start..m.end).contains(&pc)).cloned()
    }

    /// Files whose symbols could not be read: an error, a panic in blazesym, a Go table that
    /// does not hold together.
    pub fn unreadable_files(&self) -> u64 {
        self.unreadable.len() as u64
    }

    /// The frame at `offset` of the file a process calls `shown`, read from `path`.
    fn name_in_file(&mut self, shown: &Path, path: &Path, offset: u64) -> Frame {
        let module = shown.file_name().map_or_else(|| shown.display().to_string(), |n| n.to_string_lossy().into_owned());
        let unnamed = || Frame { function: format!("{module}+{offset:#x}"), location: None };
        if !path.is_absolute() {
            return unnamed(); // [vdso], [anon], a deleted file: nothing to read symbols from
        }
        if !path.exists() {
            return unnamed(); // a container's process gone, and its root with it: not malformed
        }
        let source = Source::Elf(Elf::new(path));
        let symbolizer = &self.symbolizer;
        // A malformed file (the traced side's) must not end the trace, even if blazesym panics
        // on it (an overflow in its program header arithmetic, with overflow checks).
        let result = super::contain::contained(|| {
            symbolizer.symbolize_single(&source, Input::FileOffset(offset)).map(|found| match found {
                Symbolized::Sym(sym) => Some(Frame { function: short_name(&sym.name), location: location(sym.code_info.as_deref()) }),
                _ => None,
            })
        });
        match result {
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => unnamed(),
            Ok(Err(err)) => {
                self.unreadable.insert(path.to_path_buf());
                log::debug!("cannot symbolize {}+{offset:#x}: {err}", path.display());
                unnamed()
            }
            Err(_) => {
                self.unreadable.insert(path.to_path_buf());
                log::debug!("blazesym panicked on {}+{offset:#x}; its caches are dropped", path.display());
                // Whatever it had cached may be half-updated: start afresh.
                self.symbolizer = Self::default().symbolizer;
                unnamed()
            }
        }
    }

    /// Names kernel frames (innermost first), through kallsyms.
    pub fn kernel_frames(&mut self, ips: &[u64]) -> Vec<Frame> {
        ips.iter()
            .map(|&ip| {
                if let Some(frame) = self.kernel_names.get(&ip) {
                    return frame.clone();
                }
                let source = Source::Kernel(Kernel { debug_syms: false, ..Kernel::default() });
                let frame = match self.symbolizer.symbolize_single(&source, Input::AbsAddr(ip)) {
                    Ok(Symbolized::Sym(sym)) => Frame { function: sym.name.to_string(), location: None },
                    _ => Frame { function: format!("[kernel] {ip:#x}"), location: None },
                };
                self.kernel_names.insert(ip, frame.clone());
                frame
            })
            .collect()
    }

    /// The executable mappings of `tgid` (empty once it has exited). The kernel writes their
    /// paths as seen from the tracer's root; but those of a process in another mount namespace
    /// (a container) are its own, which here may be another file or none: those files are
    /// opened through `/proc/PID/root` now, while it lives, and held.
    fn read_maps(&mut self, tgid: u32) -> Vec<Mapping> {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{tgid}/maps")) else { return Vec::new() };
        let mut maps: Vec<Mapping> = text.lines().filter_map(parse_maps_line).collect();
        if shares_our_mounts(tgid) {
            return maps;
        }
        for mapping in maps.iter_mut().filter(|m| m.path.is_absolute()) {
            let inside = PathBuf::from(format!("/proc/{tgid}/root{}", mapping.path.display()));
            if !self.held.contains_key(&mapping.file_id) && self.held.len() < MAX_HELD_FILES {
                if let Some(file) = open_regular(&inside) {
                    self.held.insert(mapping.file_id.clone(), file);
                }
            }
            mapping.source = Arc::new(match self.held.get(&mapping.file_id) {
                Some(file) => PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file))),
                None => inside,
            });
        }
        maps
    }
}

/// A demangled Rust name without its hash suffix (`tracer::main::h0123abcd` → `tracer::main`).
fn short_name(name: &str) -> String {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => head.to_string(),
        _ => name.to_string(),
    }
}

fn location(info: Option<&blazesym::symbolize::CodeInfo>) -> Option<String> {
    let info = info?;
    Some(file_line(Path::new(&info.file), info.line))
}

/// A frame from Go's table: `function (file.go:line)`, the file by its name alone.
fn go_frame(function: String, file: Option<String>, line: Option<u32>) -> Frame {
    Frame { function, location: file.map(|file| file_line(Path::new(&file), line)) }
}

/// `file.rs:line`: a source file by its name alone, and its line where known.
fn file_line(file: &Path, line: Option<u32>) -> String {
    let shown = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    match line {
        Some(line) => format!("{shown}:{line}"),
        None => shown,
    }
}

/// Whether the ELF file at `path` is linked at fixed addresses (`ET_EXEC`): then an address
/// in the process is the same in the file.
fn fixed_addresses(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 18];
    let read = open_regular(path).is_some_and(|mut file| file.read_exact(&mut header).is_ok());
    read && header.starts_with(b"\x7fELF") && u16::from_le_bytes([header[16], header[17]]) == 2
}

/// A file the traced side named, opened for reading: without blocking (a FIFO put in its
/// place), and only if it is a regular file.
fn open_regular(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// The Go build ID note of the ELF file at `path` (its headers and the note read, not the file).
fn go_build_id(path: &Path) -> Option<Vec<u8>> {
    use object::{Object, ObjectSection};
    let file = object::ReadCache::new(open_regular(path)?);
    let elf = object::File::parse(&file).ok()?;
    let note = elf.section_by_name(".note.go.buildid")?;
    (note.size() <= 4096).then(|| note.data().ok().map(<[u8]>::to_vec))?
}

/// The Go symbol table of the file at `path`, if it is a Go binary. The path is the traced
/// side's: opened as [`open_regular`] does, and read up to a bound.
fn read_go_table(path: &Path) -> Result<GoTable, NoTable> {
    if !path.is_absolute() {
        return Err(NoTable::NotGo);
    }
    let file = open_regular(path).ok_or(NoTable::NotGo)?;
    if file.metadata().map_err(|_| NoTable::NotGo)?.len() > MAX_BINARY_BYTES {
        return Err(NoTable::NotGo);
    }
    // The headers and the table only: every library a process maps is looked at here.
    GoTable::parse(&object::ReadCache::new(file))
}


/// Whether `tgid` is in the tracer's mount namespace (true if it is gone: nothing is read then).
fn shares_our_mounts(tgid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let identity = |path: &str| std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    match identity(&format!("/proc/{tgid}/ns/mnt")) {
        Some(theirs) => Some(theirs) == identity("/proc/self/ns/mnt"),
        None => true,
    }
}

/// `start-end perms offset dev inode [path]`, executable mappings only.
fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut fields = line.splitn(6, ' ');
    let (range, perms, offset) = (fields.next()?, fields.next()?, fields.next()?);
    let (dev, inode) = (fields.next()?, fields.next()?);
    if !perms.contains('x') {
        return None;
    }
    let path = fields.next().map(str::trim).filter(|p| !p.is_empty()).unwrap_or("[anon]");
    // A file replaced since it was mapped: its symbols are no longer at that path.
    let path = if path.ends_with(" (deleted)") { "[deleted]" } else { path };
    let (start, end) = range.split_once('-')?;
    let path = Arc::new(PathBuf::from(path));
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        file_offset: u64::from_str_radix(offset, 16).ok()?,
        source: path.clone(),
        path,
        file_id: (dev.to_string(), inode.parse().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn a_function_to_find() -> u64 {
        a_function_to_find as *const () as u64
    }

    #[test]
    fn names_a_function_of_this_process() {
        let mut stacks = Stacks::default();
        let me = std::process::id();
        let frames = stacks.user_frames(me, &[a_function_to_find() + 1]);
        assert!(frames[0].function.ends_with("a_function_to_find"), "{frames:?}");
    }

    #[test]
    fn an_address_in_no_mapping_is_shown_not_an_error() {
        let mut stacks = Stacks::default();
        let frames = stacks.user_frames(std::process::id(), &[8]);
        assert!(frames[0].function.starts_with("[unknown]"), "{frames:?}");
    }

    #[test]
    fn parses_maps_lines() {
        let m = parse_maps_line("55d0c0a00000-55d0c0a21000 r-xp 00002000 08:01 1234   /usr/bin/cat").unwrap();
        assert_eq!((m.start, m.end, m.file_offset, m.path.as_path()), (0x55d0c0a00000, 0x55d0c0a21000, 0x2000, Path::new("/usr/bin/cat")));
        assert!(parse_maps_line("7ffd1000-7ffd3000 rw-p 00000000 00:00 0 [stack]").is_none(), "not executable");
        let vdso = parse_maps_line("7ffd1000-7ffd3000 r-xp 00000000 00:00 0                  [vdso]").unwrap();
        assert_eq!(vdso.path.as_path(), Path::new("[vdso]"));
        assert_eq!(short_name("tracer::main::h0123456789abcdef"), "tracer::main");
        assert_eq!(short_name("main.handler"), "main.handler");
    }

    /// One Go build at two paths is parsed once; another build is parsed too.
    #[test]
    fn go_tables_are_parsed_once_a_build() {
        let dir = tempfile::tempdir().unwrap();
        let (first, copy, other) = (dir.path().join("first"), dir.path().join("copy"), dir.path().join("other"));
        crate::host::gopclntab::tests::go_build(&first, "amd64", &[]);
        std::fs::copy(&first, &copy).unwrap();
        crate::host::gopclntab::tests::go_build(&other, "amd64", &["-ldflags=-s -w"]);
        let mut stacks = Stacks::default();
        for path in [&first, &copy] {
            assert!(stacks.go_table(&Arc::new(path.clone())).is_some());
        }
        assert_eq!(stacks.go_tables_parsed(), 1);
        assert!(stacks.go_table(&Arc::new(other)).is_some());
        assert_eq!(stacks.go_tables_parsed(), 2);
    }

    /// File offsets of an ELF file's function symbols (up to 3), as a process's stack would hold
    /// them; none when the file does not parse.
    fn function_offsets(elf: &[u8]) -> Vec<u64> {
        use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};
        let Ok(file) = object::File::parse(elf) else { return Vec::new() };
        let offset = |address: u64| {
            file.segments().find_map(|segment| {
                let (start, size) = (segment.address(), segment.size());
                (address >= start && address - start < size).then(|| segment.file_range().0.saturating_add(address - start))
            })
        };
        file.symbols().filter(|symbol| symbol.kind() == SymbolKind::Text).filter_map(|symbol| offset(symbol.address())).take(3).collect()
    }

    /// Fuzz target: a traced process's binary, symbolized as its slow calls' frames are. The
    /// file is written anew for each input and read by a fresh symbolizer (blazesym caches
    /// what it opened).
    #[test]
    fn fuzz_symbolize() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traced");
        for (name, elf) in crate::fuzz::corpus("symbolize").into_iter().filter(|(name, _)| name.starts_with("sym")) {
            std::fs::write(&path, &elf).unwrap();
            let names: Vec<_> = function_offsets(&elf).into_iter().map(|offset| Stacks::default().name_in_file(&path, &path, offset)).collect();
            assert!(names.iter().any(|frame| frame.function == "leaf"), "{name}: {names:?}");
            if name.contains("dwarf") {
                assert!(names.iter().any(|frame| frame.location.as_deref() == Some("sym.c:1")), "{name}: {names:?}");
            }
        }
        let symbolize = |elf: &[u8]| {
            std::fs::write(&path, elf).unwrap();
            let mut stacks = Stacks::default();
            for offset in function_offsets(elf).into_iter().chain([0, 0x40, elf.len() as u64 / 2]) {
                stacks.name_in_file(&path, &path, offset);
            }
            stacks.unreadable_files()
        };
        // Found by fuzzing, each a panic inside blazesym 0.2.7: a DWARF line row's file index
        // out of its table (an unwrap: in release builds too), and overflows (with overflow
        // checks) of a program header's offset + size, a DWARF range's begin + size, a unit
        // lookup's probe + 1. The frame is now unnamed, and counted.
        for (name, elf) in crate::fuzz::corpus("symbolize").into_iter().filter(|(name, _)| name.starts_with("regress-")) {
            assert!(symbolize(&elf) > 0, "{name}");
        }
        crate::fuzz::fuzz("symbolize", |elf| {
            symbolize(elf);
        });
    }
}
