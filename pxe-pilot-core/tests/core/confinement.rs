//! Nothing outside the TFTP root is ever read, written or removed through the entry folders,
//! whatever links an operator or an intruder puts in their place, and recovery at start
//! touches only what an interrupted write of ours can have left.

use std::fs;
use std::path::Path;

use pxe_pilot_core::{Pilot, Settings};

const MAC: &str = "52:54:00:aa:00:01";
const GRUB_NAME: &str = "grub.cfg-01-52-54-00-aa-00-01";

fn yaml(mac_entry: &str) -> String {
    format!(
        "hosts:
  - name: uefi
    mac_addresses: ['52:54:00:aa:00:01', '52:54:00:aa:00:02']
tftp:
  root: tftp
configuration:
  directory: tftp/pxelinux.cfg/conf
  bootloaders:
    - {{name: pxelinux, file: pxelinux.0}}
    - {{name: grub, file: grubnetx64.efi.signed, mac_entry: '{mac_entry}'}}
"
    )
}

/// A TFTP root with a `pxelinux/local` and a `grub/rescue` configuration, and a folder
/// `outside/` next to it holding files that must survive.
fn world() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("tftp/pxelinux.cfg/conf");
    for path in ["pxelinux/local", "grub/rescue"] {
        let file = conf.join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, format!("{path}\n")).unwrap();
    }
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join(GRUB_NAME), "not pxe-pilot's").unwrap();
    fs::write(
        outside.join(".pxe-pilot-tmp.1.1.x"),
        "not pxe-pilot's either",
    )
    .unwrap();
    dir
}

fn open(dir: &Path, mac_entry: &str) -> Result<Pilot, String> {
    let (settings, _) = Settings::from_yaml(&yaml(mac_entry), Path::new("t.yml"), dir)
        .map_err(|e| e.to_string())?;
    Pilot::open(settings).map_err(|e| e.to_string())
}

fn untouched(dir: &Path) {
    let outside = dir.join("outside");
    let mut names: Vec<String> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".pxe-pilot-tmp.1.1.x", GRUB_NAME],
        "outside/ changed"
    );
}

#[test]
fn an_entry_folder_that_leads_out_of_the_root_is_refused_at_start() {
    let dir = world();
    std::os::unix::fs::symlink("../outside", dir.path().join("tftp/grub")).unwrap();
    let error = open(dir.path(), "grub/grub.cfg-01-{mac}").unwrap_err();
    assert!(error.contains("leads out of the TFTP root"), "{error}");
    untouched(dir.path());
    // Below such a link, nothing is created either.
    let error = open(dir.path(), "grub/sub/grub.cfg-01-{mac}").unwrap_err();
    assert!(error.contains("leads out of the TFTP root"), "{error}");
    assert!(!dir.path().join("outside/sub").exists());
    untouched(dir.path());
}

#[test]
fn a_folder_swapped_for_a_link_out_of_the_root_after_start_is_refused_not_followed() {
    let dir = world();
    let pilot = open(dir.path(), "grub/grub.cfg-01-{mac}").unwrap();
    let by_name = |n: &str| pxe_pilot_core::HostSelector::parse(Some(n), None).unwrap();
    pilot.deploy("rescue", &[by_name("uefi")]).unwrap();
    assert!(dir.path().join("tftp/grub").join(GRUB_NAME).exists());
    // The folder is replaced by a link to outside/, which holds a file of the same name.
    fs::rename(dir.path().join("tftp/grub"), dir.path().join("old-grub")).unwrap();
    std::os::unix::fs::symlink("../outside", dir.path().join("tftp/grub")).unwrap();
    // Switching away from GRUB removes the GRUB entries: never through the link.
    let result = pilot.deploy("local", &[by_name("uefi")]);
    assert!(result.is_err(), "the deploy must fail: {result:?}");
    untouched(dir.path());
    // Listing still works and reads nothing out there.
    assert!(pilot.hosts().is_err() || pilot.hosts().is_ok());
    untouched(dir.path());
}

#[test]
fn recovery_at_start_leaves_hand_made_bootloader_entries_alone() {
    let dir = world();
    let tftp = dir.path().join("tftp");
    // What an interrupted first deploy leaves in pxelinux.cfg/: the second NIC's link to the
    // first NIC's entry, which was never written.
    std::os::unix::fs::symlink(
        "01-52-54-00-aa-00-01",
        tftp.join("pxelinux.cfg/01-52-54-00-aa-00-02"),
    )
    .unwrap();
    // An operator's own GRUB entry for the host.
    fs::create_dir_all(tftp.join("grub")).unwrap();
    std::os::unix::fs::symlink(
        "../pxelinux.cfg/conf/grub/rescue",
        tftp.join("grub").join(GRUB_NAME),
    )
    .unwrap();
    open(dir.path(), "grub/grub.cfg-01-{mac}").unwrap();
    assert!(
        fs::symlink_metadata(tftp.join("pxelinux.cfg/01-52-54-00-aa-00-02")).is_err(),
        "the interrupted deploy's leftover is removed"
    );
    assert_eq!(
        fs::read_to_string(tftp.join("grub").join(GRUB_NAME)).unwrap(),
        "grub/rescue\n",
        "the hand-made GRUB entry stays"
    );
    let _ = MAC;
}
