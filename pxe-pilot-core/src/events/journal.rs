//! One class of events in a file of the state folder, one JSON line per event: [`Journal`].
//!
//! Lines are appended with one `write` to a file opened with `O_APPEND`; a failed append is
//! cut back so that the next line starts whole. When the file holds `2 × keep` lines it is
//! rewritten to the kept events: a temporary file written and synced without the log's lock
//! ([`Paths::write_snapshot`]), completed with the events recorded meanwhile and renamed
//! over the file under the lock ([`Journal::install`]), then the folder synced. Reading
//! ([`Journal::open`]) skips what a crash or a hand left that is not an event.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Event, EventError, MAX_ID};

/// The hint of errors that a folder the service cannot write explains.
pub(super) const HINT_ACCESS: &str = "give the service write access to state_dir";

/// Where a journal lives: its folder, its file, and the name it is rewritten under.
#[derive(Debug, Clone)]
pub(super) struct Paths {
    pub(super) dir: PathBuf,
    pub(super) path: PathBuf,
    temporary: PathBuf,
}

/// A journal's file, open for appending, and what the log knows of it.
pub(super) struct Journal {
    pub(super) paths: Paths,
    file: Arc<File>,
    /// The file's length as this log wrote it (a failed append is cut back to it).
    len: u64,
    /// The file's lines, whole or not.
    lines: usize,
    /// When `lines` reaches this, the file is rewritten.
    rewrite_at: usize,
    /// The keep of the log: the file is rewritten at `2 × keep` lines.
    keep: usize,
    /// The flush thread was asked to rewrite the file.
    pub(super) rewrite_asked: bool,
    /// The file does not end with a line break: write one before the next line.
    pub(super) needs_newline: bool,
}

/// What [`Journal::open`] found that the log must act on.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// The highest valid id read.
    pub(super) highest: u64,
    /// Lines that must leave the file (corrupt ids): rewrite it now.
    pub(super) rewrite_now: bool,
}

impl Paths {
    /// The journal `name` of folder `dir`.
    pub(super) fn new(dir: &Path, name: &str) -> Paths {
        Paths {
            dir: dir.to_owned(),
            path: dir.join(name),
            temporary: dir.join(format!("{name}.tmp")),
        }
    }

    pub(super) fn error(
        &self,
        action: &'static str,
        path: &Path,
        source: io::Error,
        hint: &'static str,
    ) -> EventError {
        EventError::Io {
            action,
            path: path.to_owned(),
            source,
            hint,
        }
    }

    fn write_error(&self, source: io::Error) -> EventError {
        let hint = if source.kind() == io::ErrorKind::PermissionDenied {
            HINT_ACCESS
        } else {
            "free space on its disk, or give the service write access to state_dir"
        };
        self.error("write events to", &self.path, source, hint)
    }

    /// Writes `snapshot`'s lines to the temporary file and syncs it; returns it and its
    /// length. Runs without the log's lock.
    pub(super) fn write_snapshot(
        &self,
        snapshot: &[(u64, Box<str>)],
    ) -> Result<(Arc<File>, u64), EventError> {
        let temp_error = |source| self.rewrite_error(source);
        let _ = fs::remove_file(&self.temporary);
        let temporary = Arc::new(open_append(&self.temporary, true).map_err(temp_error)?);
        let mut len = 0u64;
        let mut writer = BufWriter::with_capacity(1 << 16, &*temporary);
        for (_, line) in snapshot {
            writer.write_all(line.as_bytes()).map_err(temp_error)?;
            writer.write_all(b"\n").map_err(temp_error)?;
            len += line.len() as u64 + 1;
        }
        writer.flush().map_err(temp_error)?;
        drop(writer);
        temporary.sync_data().map_err(temp_error)?;
        Ok((temporary, len))
    }

    fn rewrite_error(&self, source: io::Error) -> EventError {
        self.error(
            "rewrite the events to",
            &self.temporary,
            source,
            "give the service write access to state_dir and free space on its disk",
        )
    }

    /// Removes a temporary file a failed rewrite left.
    pub(super) fn discard_temporary(&self) {
        let _ = fs::remove_file(&self.temporary);
    }

    /// Syncs the folder (after a rename into it).
    pub(super) fn sync_folder(&self) -> Result<(), EventError> {
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| self.error("sync the folder", &self.dir, source, "check the disk"))
    }
}

impl Journal {
    /// Opens the journal of `paths` (creating its folder and file when missing), hands each
    /// event it holds to `each` with its line as this log writes it, and checks the folder
    /// can be written (for the rewrites).
    pub(super) fn open(
        paths: Paths,
        keep: usize,
        mut each: impl FnMut(Event, Vec<u8>),
    ) -> Result<(Journal, Found), EventError> {
        fs::create_dir_all(&paths.dir).map_err(|source| {
            paths.error(
                "create the events folder",
                &paths.dir,
                source,
                "create it, or give the service write access to its parent (state_dir)",
            )
        })?;
        let file = open_append(&paths.path, true)
            .map_err(|source| paths.error("write events to", &paths.path, source, HINT_ACCESS))?;
        // What a rewrite cut short by a crash left; it also proves the folder can be written.
        let _ = fs::remove_file(&paths.temporary);
        File::create(&paths.temporary)
            .and_then(|_| fs::remove_file(&paths.temporary))
            .map_err(|source| {
                paths.error("write events to", &paths.temporary, source, HINT_ACCESS)
            })?;
        let mut journal = Journal {
            paths,
            file: Arc::new(file),
            len: 0,
            lines: 0,
            rewrite_at: 2 * keep,
            keep,
            rewrite_asked: false,
            needs_newline: false,
        };
        let found = journal.read(&mut each)?;
        // Make the file's name durable if it was just created.
        let _ = journal.paths.sync_folder();
        Ok((journal, found))
    }

    fn read(&mut self, each: &mut impl FnMut(Event, Vec<u8>)) -> Result<Found, EventError> {
        let paths = self.paths.clone();
        let read_error = |source| {
            paths.error(
                "read events from",
                &paths.path,
                source,
                "check the file, or move it aside to start a new log",
            )
        };
        let file = Arc::clone(&self.file);
        let mut reader = BufReader::with_capacity(1 << 16, &*file);
        let mut line = Vec::with_capacity(256);
        let mut number = 0usize;
        let mut found = Found::default();
        let warn = |number: usize, what: &dyn std::fmt::Display| tracing::warn!(path = %paths.path.display(), line = number, "{what}");
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(read_error)?;
            if read == 0 {
                break;
            }
            number += 1;
            let whole = line.last() == Some(&b'\n');
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.iter().all(u8::is_ascii_whitespace) {
                self.len += read as u64;
                self.needs_newline = !whole;
                continue;
            }
            match serde_json::from_slice::<Event>(text) {
                Ok(event) if event.id > MAX_ID => {
                    warn(
                        number,
                        &format_args!(
                            "corrupt line cut from the file: its id {} is above the highest an event can have ({MAX_ID})",
                            event.id
                        ),
                    );
                    found.rewrite_now = true;
                }
                Ok(event) if event.id > found.highest => {
                    found.highest = event.id;
                    // Kept as this log writes it (a line edited by hand may differ in form).
                    let mut written = Vec::with_capacity(text.len());
                    serde_json::to_writer(&mut written, &event)
                        .map_err(|e| read_error(e.into()))?;
                    each(event, written);
                }
                Ok(event) => warn(
                    number,
                    &format_args!(
                        "event {} skipped: its id is not above the one before ({})",
                        event.id, found.highest
                    ),
                ),
                Err(error) if !whole => {
                    // A write cut short by a crash: its event was never reported. Cut it
                    // off, so that the next line starts whole.
                    warn(
                        number,
                        &format_args!("last line skipped: it was cut short (the server stopped while writing it): {error}"),
                    );
                    if self.file.set_len(self.len).is_ok() {
                        break;
                    }
                }
                Err(error) => warn(
                    number,
                    &format_args!("line skipped: it is not an event: {error}"),
                ),
            }
            self.len += read as u64;
            self.lines += 1;
            self.needs_newline = !whole;
        }
        Ok(found)
    }

    /// Appends `line` (whole, with its line break); on a failure what part of it was
    /// written is cut off again.
    pub(super) fn append(&mut self, line: &[u8]) -> Result<(), EventError> {
        if let Err(source) = (&*self.file).write_all(line) {
            if self.file.set_len(self.len).is_err() {
                self.needs_newline = true;
            }
            return Err(self.paths.write_error(source));
        }
        self.len += line.len() as u64;
        self.lines += 1;
        self.needs_newline = false;
        Ok(())
    }

    /// Whether the file has grown to the size at which it is rewritten.
    pub(super) fn due(&self) -> bool {
        self.lines >= self.rewrite_at
    }

    /// Asks for a rewrite at the next sync, whatever the file's size.
    pub(super) fn force_rewrite(&mut self) {
        self.rewrite_at = 0;
    }

    /// The file, to sync it.
    pub(super) fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Completes a rewrite, under the log's lock: appends `newer` (the events recorded
    /// since the snapshot) to `temporary`, renames it over the file and appends to it from
    /// now on. Returns whether lines were written after the temporary file's sync.
    pub(super) fn install(
        &mut self,
        temporary: Arc<File>,
        mut len: u64,
        snapshot_lines: usize,
        newer: &[(u64, Box<str>)],
    ) -> Result<bool, EventError> {
        let temp_error = |source| self.paths.rewrite_error(source);
        let mut writer = BufWriter::new(&*temporary);
        for (_, line) in newer {
            writer.write_all(line.as_bytes()).map_err(temp_error)?;
            writer.write_all(b"\n").map_err(temp_error)?;
            len += line.len() as u64 + 1;
        }
        writer.flush().map_err(temp_error)?;
        drop(writer);
        fs::rename(&self.paths.temporary, &self.paths.path).map_err(temp_error)?;
        self.file = temporary;
        self.len = len;
        self.lines = snapshot_lines + newer.len();
        self.needs_newline = false;
        self.rewrite_asked = false;
        self.rewrite_at = 2 * self.keep;
        Ok(!newer.is_empty())
    }

    /// A rewrite failed: try again after `keep` more lines rather than at each one.
    pub(super) fn rewrite_failed(&mut self) {
        self.rewrite_asked = false;
        self.rewrite_at = self.lines + self.keep;
    }
}

/// Opens (creating it if `create`) a file for appending, and reading.
fn open_append(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .open(path)
}
