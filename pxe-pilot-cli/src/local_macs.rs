//! The MAC addresses of the machine `pxe-pilot` runs on, for `config deploy --self`.
//!
//! Linux lists every network interface as a folder of `/sys/class/net` with an `address`
//! file. The loopback, all-zero addresses (tunnels, some virtual devices) and anything that is
//! not a 6-byte Ethernet address (InfiniBand) are skipped; an address shared by several
//! interfaces (the slaves of a bond) is kept once. Interfaces backed by a device (a
//! `device` link: real NICs) come before virtual ones (bridges, veth...), each group by name,
//! so the NIC that PXE-booted is asked about first. The folder is a parameter: tests point it
//! at a fake tree (`PXE_PILOT_SYSFS_NET`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use pxe_pilot_core::MacAddress;

/// Why this machine's MAC addresses are not known.
#[derive(Debug, thiserror::Error)]
pub enum LocalMacError {
    /// The interfaces folder cannot be read.
    #[error("cannot list the network interfaces in {}: {source}", path.display())]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// No interface has a usable MAC address.
    #[error("no network interface with a MAC address in {} (only lo, or all-zero addresses)", path.display())]
    NoneFound {
        /// The folder.
        path: PathBuf,
    },
}

/// One network interface and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name (`eno1`).
    pub name: String,
    /// Its MAC address.
    pub mac: MacAddress,
    /// Whether a device backs it (a real NIC, not a bridge or a veth).
    pub physical: bool,
}

/// The interfaces of `net_dir` (normally `/sys/class/net`) that have a usable MAC address,
/// real NICs first, each address once.
pub fn interfaces(net_dir: &Path) -> Result<Vec<Interface>, LocalMacError> {
    let unreadable = |source| LocalMacError::Unreadable {
        path: net_dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(net_dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "lo" {
            continue;
        }
        let dir = entry.path();
        // An interface that vanished meanwhile, or an odd file: not ours to report.
        let Ok(text) = fs::read_to_string(dir.join("address")) else {
            continue;
        };
        let Ok(mac) = MacAddress::parse(text.trim()) else {
            continue;
        };
        if mac.bytes() == [0; 6] {
            continue;
        }
        found.push(Interface {
            name,
            mac,
            physical: dir.join("device").exists(),
        });
    }
    found.sort_by(|a, b| (!a.physical, &a.name).cmp(&(!b.physical, &b.name)));
    let mut seen = Vec::new();
    found.retain(|i| {
        let new = !seen.contains(&i.mac);
        seen.push(i.mac);
        new
    });
    if found.is_empty() {
        return Err(LocalMacError::NoneFound {
            path: net_dir.to_path_buf(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(root: &Path, name: &str, address: &str, physical: bool) {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("address"), format!("{address}\n")).unwrap();
        if physical {
            fs::create_dir(dir.join("device")).unwrap();
        }
    }

    #[test]
    fn real_nics_first_without_lo_zero_or_repeats() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        iface(r, "lo", "00:00:00:00:00:00", false);
        iface(r, "docker0", "02:42:ac:11:00:01", false);
        iface(r, "eno2", "52:54:00:00:00:02", true);
        iface(r, "eno1", "52:54:00:00:00:01", true);
        iface(r, "bond0", "52:54:00:00:00:01", false);
        iface(r, "tun0", "00:00:00:00:00:00", false);
        iface(
            r,
            "ib0",
            "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:0b:0c",
            true,
        );
        fs::create_dir(r.join("sit0")).unwrap(); // no address file
        let found = interfaces(r).unwrap();
        let names: Vec<_> = found.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["eno1", "eno2", "docker0"]);
        assert_eq!(found[0].mac.to_string(), "52:54:00:00:00:01");
        assert!(found[0].physical && !found[2].physical);
    }

    #[test]
    fn nothing_usable_is_an_error_that_names_the_folder() {
        let root = tempfile::tempdir().unwrap();
        iface(root.path(), "lo", "00:00:00:00:00:00", false);
        let e = interfaces(root.path()).unwrap_err();
        assert!(matches!(e, LocalMacError::NoneFound { .. }));
        assert!(e.to_string().contains(&root.path().display().to_string()));
        let e = interfaces(&root.path().join("missing")).unwrap_err();
        assert!(matches!(e, LocalMacError::Unreadable { .. }), "{e}");
    }
}
