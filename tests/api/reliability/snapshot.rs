//! Snapshots of a folder tree (modes, times, contents, link targets), to show that nothing was
//! written where nothing may be.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One node of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A folder: its mode and modification time (a name created then removed inside changes it).
    Folder {
        /// Permission bits.
        mode: u32,
        /// Modification time, nanoseconds.
        mtime: i128,
    },
    /// A file: mode, modification time and content.
    File {
        /// Permission bits.
        mode: u32,
        /// Modification time, nanoseconds.
        mtime: i128,
        /// Its bytes.
        content: Vec<u8>,
    },
    /// A symbolic link and its target.
    Link(PathBuf),
    /// Anything else (socket, fifo...).
    Other,
}

/// Every path under a folder and what it is, to compare before and after.
pub type Snapshot = BTreeMap<PathBuf, Node>;

/// Snapshots `root` (the folder itself included, as `""`), skipping paths under `skip`.
pub fn snapshot(root: &Path, skip: &[PathBuf]) -> Snapshot {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    let mut budget = 100_000usize;
    while let Some(path) = stack.pop() {
        budget = budget.saturating_sub(1);
        assert!(budget > 0, "snapshot of {} is too large", root.display());
        if skip.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let relative = path.strip_prefix(root).unwrap_or(&path).to_owned();
        let mtime = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
        let mode = meta.mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            Node::Link(fs::read_link(&path).unwrap_or_default())
        } else if meta.is_dir() {
            if let Ok(listing) = fs::read_dir(&path) {
                stack.extend(listing.flatten().map(|e| e.path()));
            }
            Node::Folder { mode, mtime }
        } else if meta.is_file() {
            Node::File {
                mode,
                mtime,
                content: fs::read(&path).unwrap_or_default(),
            }
        } else {
            Node::Other
        };
        out.insert(relative, node);
    }
    out
}

/// What differs between two snapshots, one line per path.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    for (path, node) in before {
        match after.get(path) {
            None => lines.push(format!("removed {}", path.display())),
            Some(other) if other != node => lines.push(format!(
                "changed {}: {} -> {}",
                path.display(),
                describe(node),
                describe(other)
            )),
            Some(_) => {}
        }
    }
    for (path, node) in after {
        if !before.contains_key(path) {
            lines.push(format!("added {}: {}", path.display(), describe(node)));
        }
    }
    lines
}

fn describe(node: &Node) -> String {
    match node {
        Node::Folder { mode, mtime } => format!("folder {mode:o} mtime {mtime}"),
        Node::File {
            mode,
            mtime,
            content,
        } => {
            format!("file {mode:o} mtime {mtime} {} bytes", content.len())
        }
        Node::Link(target) => format!("link -> {}", target.display()),
        Node::Other => "other".into(),
    }
}
