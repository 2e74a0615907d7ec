//! Small file-system helpers: durable writes and directory syncs.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Result, io_err};

/// The directory holding `path`: its parent, or `.` for a bare relative name
/// such as `t` (whose `parent()` is the empty path, which cannot be opened).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes the directory entry of `dir`'s children durable (fsync on the directory).
pub fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// Creates `dir` and its parents, syncing each parent that gained an entry.
pub fn create_dir_durable(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    if dir.parent().is_some() {
        let parent = parent_dir(dir);
        create_dir_durable(parent)?;
        match fs::create_dir(dir) {
            Ok(()) => sync_dir(parent)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(dir)(e)),
        }
    }
    Ok(())
}

/// Writes a file durably and atomically: temporary file, fsync, rename, directory fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    create_dir_durable(dir)?;
    let tmp = path.with_extension("tmp-write");
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(dir)
}
