//! Output files written whole: through a temporary file in the same directory and a rename, so
//! that a reader (or an interrupted run) never sees a half-written file; devices and pipes are
//! written in place.
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};

/// Writes `contents` to `path` through a temporary file in the same directory and a rename, so
/// that a reader (or an interrupted run) never sees a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let target = Target::of(path);
    let Target::Replace(path) = target else {
        return fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()));
    };
    let mut file = new_temp_file(&parent_dir(&path))?;
    file.write_all(contents).and_then(|_| file.as_file().sync_all()).with_context(|| format!("cannot write {}", path.display()))?;
    file.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The directory of `path` ("." for a bare file name): where its temporary file goes, so that
/// the rename stays on one filesystem.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// How an output file is written.
enum Target {
    /// A regular file, or none yet: replaced by a rename. A symlink's target is replaced, not
    /// the link.
    Replace(PathBuf),
    /// Anything else (`/dev/null`, `/dev/stdout`, a FIFO): written in place, since a rename
    /// would put a regular file where the device or pipe was.
    InPlace,
}

impl Target {
    fn of(path: &Path) -> Self {
        match fs::metadata(path) {
            Ok(meta) if !meta.is_file() => Target::InPlace,
            Ok(_) => Target::Replace(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())),
            Err(_) => Target::Replace(path.to_path_buf()),
        }
    }
}

/// A temporary file next to the target, readable by others like an ordinary new file.
fn new_temp_file(dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    if !dir.is_dir() {
        bail!("cannot create a file in {}: no such directory", dir.display());
    }
    tempfile::Builder::new()
        .prefix(".tracer-")
        .permissions(fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        // The kind alone: tempfile's message names the random temporary path.
        .map_err(|e| anyhow::anyhow!("cannot create a file in {}: {}", dir.display(), e.kind()))
}

/// Fails now, before any tracing, if `path` could not be written at the end.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!("cannot write {}: it is a directory", path.display());
    }
    match Target::of(path) {
        // access(2), not open(2): opening a FIFO for writing waits for its reader.
        Target::InPlace => {
            nix::unistd::access(path, nix::unistd::AccessFlags::W_OK).with_context(|| format!("cannot write {}", path.display()))
        }
        Target::Replace(resolved) => new_temp_file(&parent_dir(&resolved)).map(drop),
    }
}

/// A file written a piece at a time (an interval log), put in place whole at the end; until
/// then it is a temporary file, which an interrupted run leaves no trace of.
pub struct AtomicFile {
    path: PathBuf,
    target: Target,
    file: tempfile::NamedTempFile,
}

impl AtomicFile {
    pub fn create(path: PathBuf) -> Result<Self> {
        let target = Target::of(&path);
        let dir = match &target {
            Target::Replace(resolved) => parent_dir(resolved),
            // Written in one go at the end: a device or FIFO gets no temporary file beside it.
            Target::InPlace => std::env::temp_dir(),
        };
        let file = new_temp_file(&dir)?;
        Ok(Self { path, target, file })
    }

    /// Puts the file in place.
    pub fn commit(self) -> Result<()> {
        self.file.as_file().sync_all()?;
        match &self.target {
            Target::Replace(path) => {
                self.file.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
            }
            Target::InPlace => {
                let contents = fs::read(self.file.path())?;
                fs::write(&self.path, contents).with_context(|| format!("cannot write {}", self.path.display()))?;
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
