//! Per-bootloader entries (`mac_entry`) through the deploy service: what is written for a
//! GRUB 2 configuration, what a switch to PXELINUX removes, and what the host listing reads
//! back from the entries of every bootloader (including ones changed by hand).

use std::fs;
use std::path::PathBuf;

use pxe_pilot_core::{Deployment, HostName, HostSelector, MacAddress, Pilot, Settings};

const MACS: [&str; 2] = ["52:54:00:aa:00:01", "52:54:00:aa:00:02"];

const HOSTS: &str = "
  - name: uefi
    mac_addresses: ['52:54:00:aa:00:01', '52:54:00:aa:00:02']
  - name: other
    mac_addresses: ['52:54:00:bb:00:01']
";

const BOOTLOADERS: &str = "
  bootloaders:
    - {name: pxelinux, file: pxelinux.0}
    - {name: grub, file: grubnetx64.efi.signed, config_path: grub/grub.cfg, mac_entry: 'grub/grub.cfg-01-{mac}'}
    - {name: ipxe, file: ipxe.efi, mac_entry: 'ipxe/{mac_hex}.ipxe'}
";

struct World {
    files: crate::world::World,
    pilot: Pilot,
}

fn world() -> World {
    let files = crate::world::Fixture::new()
        .hosts(HOSTS)
        .configuration(BOOTLOADERS)
        .catalogue(&[
            ("pxelinux/local", "pxelinux/local\n"),
            ("grub/installer", "grub/installer\n"),
            ("grub/rescue", "grub/rescue\n"),
            ("ipxe/boot", "ipxe/boot\n"),
        ])
        .build();
    let (settings, warnings) = Settings::load(&files.config).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    World {
        pilot: Pilot::open(settings).unwrap(),
        files,
    }
}

fn uefi() -> HostSelector {
    HostSelector::by_name(HostName::parse("uefi").unwrap())
}

fn mac(text: &str) -> MacAddress {
    MacAddress::parse(text).unwrap()
}

impl World {
    fn grub_entry(&self, m: &str) -> PathBuf {
        self.files
            .root
            .join(format!("grub/grub.cfg-01-{}", mac(m).with_separator('-')))
    }

    fn deployment(&self) -> Deployment {
        self.pilot.host("uefi").unwrap().deployment
    }

    fn name(&self) -> String {
        match self.deployment() {
            Deployment::Deployed(c) => c.name.to_string(),
            other => panic!("not deployed: {other:?}"),
        }
    }
}

#[test]
fn each_bootloader_knows_where_its_entries_live() {
    let w = world();
    let patterns: Vec<Option<&str>> = w
        .pilot
        .bootloaders()
        .iter()
        .map(|b| b.mac_entry.as_ref().map(|p| p.as_str()))
        .collect();
    assert_eq!(
        patterns,
        [
            None,
            Some("grub/grub.cfg-01-{mac}"),
            Some("ipxe/{mac_hex}.ipxe")
        ]
    );
}

#[test]
fn a_grub_deploy_writes_grub_entries_for_every_nic_and_a_pxelinux_one_removes_them() {
    let w = world();
    w.pilot.deploy("installer", &[uefi()]).unwrap();
    for m in MACS {
        assert_eq!(
            fs::read_to_string(w.grub_entry(m)).unwrap(),
            "grub/installer\n"
        );
    }
    assert_eq!(
        fs::read_link(w.grub_entry(MACS[0])).unwrap(),
        PathBuf::from("../pxelinux.cfg/conf/grub/installer")
    );
    assert_eq!(w.name(), "installer");

    w.pilot.deploy("local", &[uefi()]).unwrap();
    for m in MACS {
        assert!(fs::symlink_metadata(w.grub_entry(m)).is_err(), "{m}");
    }
    assert_eq!(w.name(), "local");
    assert!(
        !w.files.root.join("ipxe").exists(),
        "no entry for a bootloader never deployed"
    );
}

#[test]
fn the_listing_reads_the_grub_entries_and_reports_one_removed_or_changed_by_hand() {
    let w = world();
    w.pilot.deploy("installer", &[uefi()]).unwrap();

    // Someone points the GRUB entry elsewhere by hand: UEFI boots would not get `installer`.
    let entry = w.grub_entry(MACS[0]);
    fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink("../pxelinux.cfg/conf/grub/rescue", &entry).unwrap();
    match w.deployment() {
        Deployment::Dangling(what) => {
            assert!(what.contains("grub/installer"), "{what}");
            assert!(
                what.contains("grub/grub.cfg-01-52-54-00-aa-00-01"),
                "{what}"
            );
            assert!(what.contains("leads to grub/rescue"), "{what}");
        }
        other => panic!("expected dangling, got {other:?}"),
    }

    // Removed by hand: the UEFI host would fall back to GRUB's default.
    fs::remove_file(&entry).unwrap();
    assert!(
        matches!(w.deployment(), Deployment::Dangling(ref what) if what.contains("is missing")),
        "{:?}",
        w.deployment()
    );

    // Redeploying repairs it.
    w.pilot.deploy("installer", &[uefi()]).unwrap();
    assert_eq!(w.name(), "installer");
}

#[test]
fn a_host_with_only_a_bootloader_entry_boots_what_it_leads_to() {
    let w = world();
    let folder = w.files.root.join("ipxe");
    fs::create_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(
        "../pxelinux.cfg/conf/ipxe/boot",
        folder.join("525400aa0001.ipxe"),
    )
    .unwrap();
    assert_eq!(w.name(), "boot");
    // Its other NIC's entry, made by hand too, points at the first one: also read.
    std::os::unix::fs::symlink("525400aa0001.ipxe", folder.join("525400aa0002.ipxe")).unwrap();
    let entries = w.pilot.store().entries().unwrap();
    assert_eq!(
        entries.bootloader("ipxe").unwrap().resolve(&mac(MACS[1])),
        pxe_pilot_core::Resolved::Configuration(std::path::Path::new("ipxe/boot").into())
    );
    // An undeploy removes every bootloader's entries.
    w.pilot.undeploy("uefi").unwrap();
    assert_eq!(w.deployment(), Deployment::NotDeployed);
    assert!(fs::read_dir(&folder).unwrap().next().is_none());
}
