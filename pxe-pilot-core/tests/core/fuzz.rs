//! Property-based fuzzing of everything that parses outside input: MAC addresses, configuration
//! names, the configuration file, and deploy request bodies. None may panic, and a deploy from
//! any body writes nothing outside `pxelinux.cfg/`.
//!
//! The default case count keeps `cargo test` quick; `PXE_PILOT_FUZZ_CASES=100000` runs longer.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use pxe_pilot_core::api::DeployRequest;
use pxe_pilot_core::{ConfigName, Deployment, HostName, HostSelector, MacAddress, Pilot, Settings};

fn cases() -> u32 {
    std::env::var("PXE_PILOT_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000)
}

/// Text shaped like what attackers and typos produce: MAC-ish, path-ish, JSON-ish, any unicode.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,64}",
        "[0-9a-fA-F:.\\- ]{0,24}",
        "[./\\\\%0-9a-z\u{0}\n]{0,24}",
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn mac_parsing_never_panics_and_what_parses_prints_back(text in hostile_text()) {
        if let Ok(mac) = MacAddress::parse(&text) {
            prop_assert_eq!(MacAddress::parse(&mac.to_string()), Ok(mac));
            prop_assert!(mac.entry_name().len() == 20);
        }
    }

    #[test]
    fn names_never_panic_and_what_parses_is_one_path_component(text in hostile_text()) {
        let parsed = [ConfigName::parse(&text).map(|n| n.to_string()), HostName::parse(&text).map(|n| n.to_string())];
        for name in parsed.into_iter().flatten() {
            let components: Vec<_> = Path::new(&name).components().collect();
            prop_assert_eq!(components.len(), 1, "{:?}", name);
            prop_assert!(matches!(components[0], std::path::Component::Normal(_)));
        }
    }

    #[test]
    fn deploy_bodies_are_carried_out_whole_or_refused_with_nothing_written(bytes in prop_oneof![
        any::<Vec<u8>>(),
        hostile_text().prop_map(String::into_bytes),
        (hostile_text(), hostile_text()).prop_map(|(n, m)| format!("{{\"hosts\":[{{\"name\":{n:?},\"macAddress\":{m:?}}}]}}").into_bytes()),
        (prop_oneof![Just("h1"), Just("h2"), Just("h3")], prop_oneof![Just(""), Just("00:00:00:00:0b:02"), Just("00-00-00-00-0C-02"), Just("zz")], any::<bool>())
            .prop_map(|(n, m, twice)| {
                let one = format!("{{\"name\":{n:?},\"mac_address\":{m:?}}}");
                let hosts = if twice { format!("{one},{one}") } else { one };
                format!("{{\"hosts\":[{hosts}]}}").into_bytes()
            }),
    ]) {
        // The server's path for a deploy body: its JSON, the selectors parsed at the edge,
        // then the deploy rules over a store in memory.
        let (_dir, pilot) = memory_world();
        let Ok(request) = serde_json::from_slice::<DeployRequest>(&bytes) else {
            return Ok(());
        };
        let selectors: Result<Vec<_>, _> = request.hosts.iter()
            .map(|h| HostSelector::parse(h.name.as_deref(), h.mac_address.as_deref()))
            .collect();
        let Ok(selectors) = selectors else {
            prop_assert!(nothing_deployed(&pilot));
            return Ok(());
        };
        match pilot.deploy("local", &selectors) {
            Ok(deployed) => {
                prop_assert!(deployed.complete());
                let named: Vec<&str> = deployed.hosts.iter().map(|h| h.host.name.as_str()).collect();
                for state in pilot.hosts().unwrap() {
                    let is_local = matches!(&state.deployment, Deployment::Deployed(c) if c.name.as_str() == "local");
                    prop_assert_eq!(is_local, named.contains(&state.host.name.as_str()));
                }
            }
            // Refused: every host was checked before anything was written.
            Err(_) => prop_assert!(nothing_deployed(&pilot)),
        }
    }
}

/// Two hosts over an in-memory store (h2 with two NICs) and a catalogue with `local`.
fn memory_world() -> (tempfile::TempDir, Pilot) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("conf")).unwrap();
    fs::write(dir.path().join("conf/local"), "x").unwrap();
    let yaml = "hosts:\n  - {name: h1, mac_addresses: ['00:00:00:00:0b:01']}\n  - {name: h2, mac_addresses: ['00:00:00:00:0b:02', '00:00:00:00:0c:02']}\ntftp: {root: .}\nconfiguration: {directory: conf}\n";
    let (settings, _) = Settings::from_yaml(yaml, Path::new("t.yml"), dir.path()).unwrap();
    let pilot = Pilot::in_memory(settings).unwrap();
    (dir, pilot)
}

fn nothing_deployed(pilot: &Pilot) -> bool {
    pilot
        .hosts()
        .unwrap()
        .all(|s| s.deployment == Deployment::NotDeployed)
}

const YAML_PIECES: &[&str] = &[
    "hosts:\n",
    "  - name: h1\n",
    "    mac_addresses: [\"00:00:00:00:0b:01\"]\n",
    "    mac_addresses: 3\n",
    "tftp:\n  root: .\n",
    "configuration:\n  directory: conf\n",
    "  bootloaders: [{name: grub}]\n",
    "server: {port: 99999}\n",
    "&a [*a]\n",
    "? [a]\n: b\n",
    "- - - -\n",
    "!!binary aGk=\n",
    "\t\n",
    "hosts: [{name: x, mac_addresses: [\"zz\"]}]\n",
    "'unterminated\n",
    "{{.x}}\n",
    "host_management_adapters: [{name: a}]\n",
];

fn yaml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(YAML_PIECES), 0..10)
            .prop_map(|p| p.concat()),
        hostile_text(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases() / 4))]

    #[test]
    fn configuration_files_never_panic_and_errors_are_one_line(text in yaml_text()) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("conf")).unwrap();
        match Settings::from_yaml(&text, Path::new("fuzz.yml"), dir.path()) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{}", e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases() / 8))]

    #[test]
    fn any_deploy_request_writes_only_pxelinux_entries(
        configuration in prop_oneof![Just("local".to_owned()), hostile_text()],
        names in proptest::collection::vec(prop_oneof![Just("h1".to_owned()), Just("h2".to_owned()), hostile_text()], 0..4),
        macs in proptest::collection::vec(prop_oneof![Just("00:00:00:00:0b:02".to_owned()), hostile_text()], 0..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tftp/pxelinux.cfg/conf")).unwrap();
        fs::write(dir.path().join("tftp/pxelinux.cfg/conf/local"), "x").unwrap();
        let yaml = "hosts:\n  - {name: h1, mac_addresses: ['00:00:00:00:0b:01']}\n  - {name: h2, mac_addresses: ['00:00:00:00:0b:02', '00:00:00:00:0c:02']}\ntftp: {root: tftp}\nconfiguration: {directory: tftp/pxelinux.cfg/conf}\n";
        let (settings, _) = Settings::from_yaml(yaml, Path::new("t.yml"), dir.path()).unwrap();
        let pilot = Pilot::open(settings).unwrap();
        let selectors: Result<Vec<_>, _> = names.iter().zip(macs.iter().chain(std::iter::repeat(&String::new()))).map(|(n, m)| {
            pxe_pilot_core::HostSelector::parse(Some(n), Some(m))
        }).collect();
        if let Ok(selectors) = selectors {
            let _ = pilot.deploy(&configuration, &selectors);
        }
        // Only the two hosts' entries may exist besides the catalogue.
        let allowed = ["conf", "01-00-00-00-00-0b-01", "01-00-00-00-00-0b-02", "01-00-00-00-00-0c-02"];
        for item in fs::read_dir(dir.path().join("tftp/pxelinux.cfg")).unwrap() {
            let name = item.unwrap().file_name().to_string_lossy().into_owned();
            prop_assert!(allowed.contains(&name.as_str()), "{}", name);
        }
        let top: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        prop_assert_eq!(top.len(), 1);
        let in_root: Vec<_> = fs::read_dir(dir.path().join("tftp")).unwrap().map(|e| e.unwrap().file_name()).collect();
        prop_assert_eq!(in_root.len(), 1);
    }
}

/// A link target as an operator, another tool or an attacker might leave one in
/// `pxelinux.cfg/`: entries, catalogue paths, absolute paths, `..`, loops, junk.
fn link_target() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "conf/local",
            "conf/../conf/local",
            "./conf/local",
            "conf/",
            "conf",
            "../pxelinux.cfg/conf/local",
            "/etc/passwd",
            "..",
            "../../..",
            "01-00-00-00-00-0b-01",
            "01-00-00-00-00-0b-02",
            "01-00-00-00-00-0c-02",
            "./01-00-00-00-00-0b-01",
            "missing",
            "",
        ])
        .prop_map(str::to_owned),
        hostile_text(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases() / 8))]

    /// Whatever links are found in `pxelinux.cfg/` (made by hand, by another tool, loops,
    /// links out of the root), listing hosts never fails nor panics, each host reads as not
    /// deployed, deployed or dangling, and a deploy afterwards leaves every NIC on it.
    #[test]
    fn any_links_in_the_entry_folder_are_read_and_overwritten(
        links in proptest::collection::vec((
            proptest::sample::select(vec![
                "01-00-00-00-00-0b-01", "01-00-00-00-00-0b-02", "01-00-00-00-00-0c-02",
                "01-AA-BB-CC-DD-EE-FF", "01-00-00-00-00-0b-0", "02-00-00-00-00-0b-01",
                ".pxe-pilot-tmp.1.1.01-00-00-00-00-0b-01", "conf-link",
            ]),
            link_target(),
        ), 0..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("tftp/pxelinux.cfg");
        fs::create_dir_all(cfg.join("conf")).unwrap();
        fs::write(cfg.join("conf/local"), "x").unwrap();
        for (name, target) in &links {
            if !target.contains('\0') {
                let _ = std::os::unix::fs::symlink(target, cfg.join(name));
            }
        }
        let yaml = "hosts:\n  - {name: h1, mac_addresses: ['00:00:00:00:0b:01']}\n  - {name: h2, mac_addresses: ['00:00:00:00:0b:02', '00:00:00:00:0c:02']}\ntftp: {root: tftp}\nconfiguration: {directory: tftp/pxelinux.cfg/conf}\n";
        let (settings, _) = Settings::from_yaml(yaml, Path::new("t.yml"), dir.path()).unwrap();
        let pilot = Pilot::open(settings).unwrap();
        let hosts = pilot.hosts().map(|h| h.count());
        prop_assert!(hosts.is_ok(), "{:?}", hosts.err());
        for name in ["h1", "h2"] {
            prop_assert!(pilot.host(name).is_ok());
        }
        let query = |name: &str| pxe_pilot_core::HostSelector::parse(Some(name), None).unwrap();
        pilot.deploy("local", &[query("h1"), query("h2")]).unwrap();
        for entry in ["01-00-00-00-00-0b-01", "01-00-00-00-00-0b-02", "01-00-00-00-00-0c-02"] {
            let read = fs::read_to_string(cfg.join(entry)).ok();
            prop_assert_eq!(read.as_deref(), Some("x"), "{}", entry);
        }
        // Nothing outside pxelinux.cfg/ was created.
        prop_assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        prop_assert_eq!(fs::read_dir(dir.path().join("tftp")).unwrap().count(), 1);
    }
}
