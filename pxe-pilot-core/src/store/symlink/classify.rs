//! What the text of a link found in an entry folder means: a configuration of the catalogue,
//! another MAC's entry of the same folder, or something else. Relative links are what
//! pxe-pilot writes (`conf/local`, `01-aa-...`); absolute ones are what the original PXE Pilot
//! wrote, read the same way.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use smallvec::SmallVec;

use crate::mac::MacAddress;
use crate::store::Target;

/// The catalogue's absolute spellings, to recognise links that lead into it.
#[derive(Debug, Clone)]
pub(super) struct Classifier {
    /// The catalogue folder as configured and with links resolved (absolute, normalised), each
    /// as its names.
    catalogue: Vec<Vec<OsString>>,
}

impl Classifier {
    /// A classifier for the catalogue spelt `catalogue` (each absolute).
    pub(super) fn new(catalogue: Vec<PathBuf>) -> Self {
        let spellings = dedup(catalogue.iter().map(|p| normalize(p)).collect());
        Classifier {
            catalogue: spellings
                .iter()
                .map(|p| names(p).into_iter().map(OsStr::to_owned).collect())
                .collect(),
        }
    }

    /// What `link`, found in the folder spelt `folder`, means; `mac_of` reads that folder's
    /// entry names. Worked out on the names of the path the link leads to, folded without
    /// touching the disk (the link's `.` and `..` included).
    pub(super) fn classify(
        &self,
        folder: &Spellings<'_>,
        mac_of: &dyn Fn(&str) -> Option<MacAddress>,
        link: &Path,
        seen: &mut Seen,
    ) -> Target {
        let Some(spelt) = folder.0.first() else {
            return Target::Foreign(link.display().to_string());
        };
        let target = lead(spelt, link);
        for catalogue in &self.catalogue {
            if starts_with(&target, catalogue) {
                let rest = &target[catalogue.len()..];
                if rest.is_empty() {
                    break;
                }
                return Target::Configuration(seen.share(rest));
            }
        }
        // A link to an entry of the same folder: relative (`01-aa-...`), or absolute through
        // any spelling of the folder.
        for spelling in &folder.0 {
            let target = if link.is_absolute() || spelling == spelt {
                target.clone()
            } else {
                lead(spelling, link)
            };
            if let Some((name, parent)) = target.split_last() {
                if parent == spelling.as_slice() {
                    if let Some(mac) = name.to_str().and_then(mac_of) {
                        return Target::Entry(mac);
                    }
                }
            }
        }
        Target::Foreign(link.display().to_string())
    }
}

/// The names of a path, on the stack up to 16 of them (a listing reads thousands of links).
type Names<'a> = SmallVec<[&'a OsStr; 16]>;

/// The absolute spellings of an entry folder (as configured, with links resolved), each as
/// its names: split once per listing, not once per link.
pub(super) struct Spellings<'a>(Vec<Names<'a>>);

impl<'a> Spellings<'a> {
    /// The spellings `folder` (absolute, normalised), split.
    pub(super) fn of(folder: &'a [PathBuf]) -> Self {
        Spellings(folder.iter().map(|path| names(path)).collect())
    }
}

/// The names of the absolute path that `link`, found in the folder of names `folder`, leads
/// to: `.` skipped, `..` going up (never above the root).
fn lead<'a>(folder: &[&'a OsStr], link: &'a Path) -> Names<'a> {
    let mut target = if link.is_absolute() {
        Names::new()
    } else {
        Names::from_slice(folder)
    };
    for component in link.components() {
        match component {
            Component::Normal(name) => target.push(name),
            Component::ParentDir => {
                target.pop();
            }
            Component::RootDir | Component::Prefix(_) => target.clear(),
            Component::CurDir => {}
        }
    }
    target
}

/// The names of an absolute, normalised path.
fn names(path: &Path) -> Names<'_> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect()
}

fn starts_with(names: &[&OsStr], prefix: &[OsString]) -> bool {
    names.len() >= prefix.len() && names.iter().zip(prefix).all(|(a, b)| *a == b.as_os_str())
}

/// `path` with `.` and `..` folded away, without touching the disk.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The relative path that leads from folder `from` to `to` (both absolute and normalised).
pub(super) fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for component in &to[common..] {
        out.push(component);
    }
    out
}

/// `paths` without repeats, in order.
pub(super) fn dedup(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::with_capacity(paths.len());
    for path in paths {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// The configuration paths one listing has met, so that the thousands of entries that lead to
/// the same file share one [`Target::Configuration`] instead of a copy each.
#[derive(Debug, Default)]
pub(super) struct Seen(Vec<Arc<Path>>);

impl Seen {
    /// At most this many different paths are remembered (a catalogue rarely has more).
    const MAX: usize = 64;

    fn share(&mut self, names: &[&OsStr]) -> Arc<Path> {
        if let Some(known) = self
            .0
            .iter()
            .find(|known| known.iter().eq(names.iter().copied()))
        {
            return Arc::clone(known);
        }
        let path: Arc<Path> = Arc::from(names.iter().collect::<PathBuf>().as_path());
        if self.0.len() < Self::MAX {
            self.0.push(Arc::clone(&path));
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0x23, 0x34, 0xa3, 0xe9, 0x09, last])
    }

    #[test]
    fn links_lead_to_the_catalogue_to_an_entry_or_elsewhere() {
        let classifier = Classifier::new(vec!["/tftp/pxelinux.cfg/conf".into()]);
        let folder = [
            PathBuf::from("/tftp/pxelinux.cfg"),
            "/real/pxelinux.cfg".into(),
        ];
        let folder = Spellings::of(&folder);
        let classify = |link: &str| {
            classifier.classify(
                &folder,
                &MacAddress::from_entry_name,
                Path::new(link),
                &mut Seen::default(),
            )
        };
        let conf = |p: &str| Target::Configuration(Arc::from(Path::new(p)));
        assert_eq!(classify("conf/local"), conf("local"));
        assert_eq!(classify("conf/grub/x"), conf("grub/x"));
        assert_eq!(classify("./conf/../conf/local"), conf("local"));
        assert_eq!(classify("/tftp/pxelinux.cfg/conf/local"), conf("local"));
        assert_eq!(classify("01-23-34-a3-e9-09-01"), Target::Entry(mac(1)));
        assert_eq!(
            classify("/real/pxelinux.cfg/01-23-34-a3-e9-09-01"),
            Target::Entry(mac(1))
        );
        for foreign in [
            "conf",
            "01-23-34-A3-E9-09-01",
            "default",
            "/etc/passwd",
            "other/local",
            "",
        ] {
            assert_eq!(
                classify(foreign),
                Target::Foreign(foreign.into()),
                "{foreign}"
            );
        }
    }

    #[test]
    fn relative_paths_are_computed_between_folders() {
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/c")),
            PathBuf::from("c")
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/d")),
            PathBuf::from("../d")
        );
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
