//! The configuration file: the original's files load unchanged, and every mistake is one line
//! that names the file, the line and the key.

use std::fs;
use std::path::{Path, PathBuf};

use pxe_pilot_core::{MacAddress, Settings, SettingsError};

/// A TFTP root with a catalogue, and a place for configuration files.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "pxelinux.cfg/conf/pxelinux/local",
            "pxelinux.cfg/conf/grub/grml",
            "pxelinux.cfg/conf/syslinux/sheep",
        ] {
            let file = dir.path().join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, path).unwrap();
        }
        Root { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, yaml: &str) -> PathBuf {
        let yaml = yaml
            .replace("%%TFTP_ROOT%%", &self.path().display().to_string())
            .replace(
                "%%CONFIG_DIR%%",
                &self.path().join("pxelinux.cfg/conf").display().to_string(),
            )
            .replace("/var/tftp", &self.path().display().to_string());
        let file = self.path().join("pxe-pilot.yml");
        fs::write(&file, yaml).unwrap();
        file
    }

    /// Loads `body` after a valid `tftp`/`configuration` block and returns the error text.
    fn error(&self, body: &str) -> String {
        let yaml = format!(
            "tftp:\n  root: %%TFTP_ROOT%%\nconfiguration:\n  directory: %%CONFIG_DIR%%\n{body}"
        );
        match Settings::load(&self.write(&yaml)) {
            Ok(_) => panic!("loaded: {body}"),
            Err(e) => e.to_string(),
        }
    }
}

fn fixture(name: &str) -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_original_readme_example_loads_unchanged() {
    let root = Root::new();
    let (settings, warnings) =
        Settings::load(&root.write(&fixture("original-readme.yml"))).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let hosts = settings.inventory.hosts();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[2].mac_addresses.len(), 2);
    let ipmi = hosts[1].ipmi().unwrap();
    assert_eq!(
        (
            ipmi.username.as_str(),
            ipmi.password.as_str(),
            ipmi.interface.as_str()
        ),
        ("user", "pass", "lanplus")
    );
    assert_eq!(settings.server.port, 3478);
    assert!(settings.bootloaders.is_empty());
    // Power defaults: one limit for the whole server, well under the 128 of a single request
    // of the past, and states reused for a few seconds (a burst asks each BMC once).
    assert_eq!(settings.power.max_parallel, 32);
    assert_eq!(settings.power.status_ttl, std::time::Duration::from_secs(5));
    assert!(
        !format!("{settings:?}").contains("pass\""),
        "the password is hidden from Debug"
    );
}

#[test]
fn the_original_test_template_loads_with_warnings_for_the_keys_it_ignored() {
    let root = Root::new();
    let (settings, warnings) =
        Settings::load(&root.write(&fixture("original-test-template.yml"))).unwrap();
    let names: Vec<&str> = settings
        .bootloaders
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(names, ["pxelinux", "syslinux", "grub"]);
    assert_eq!(settings.bootloaders[2].config_path, "grub/grub.cfg");
    assert_eq!(settings.adapters.len(), 2);
    assert_eq!(settings.discovery_cmd, "fping -c 1 -D -q -g {{.subnet}}");
    let h2 = settings.inventory.by_name("h2").unwrap();
    assert_eq!(h2.management().unwrap().adapter, "ipmitool-with-variables");
    let h3 = settings
        .inventory
        .by_mac(&MacAddress::parse("00-00-00-00-0D-03").unwrap())
        .unwrap();
    assert_eq!(h3.name.as_str(), "h3");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].0.contains("arp.cmd"), "{warnings:?}");
}

#[test]
fn unknown_keys_are_warnings_that_name_the_key() {
    let root = Root::new();
    let yaml = "tftp:\n  root: %%TFTP_ROOT%%\n  colour: blue\nconfiguration:\n  directory: %%CONFIG_DIR%%\nfuture: {a: 1}\n";
    let (_, warnings) = Settings::load(&root.write(yaml)).unwrap();
    let text: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        text.iter().any(|w| w.contains("\"tftp.colour\"")),
        "{text:?}"
    );
    assert!(text.iter().any(|w| w.contains("\"future\"")), "{text:?}");
}

#[test]
fn each_mistake_is_one_line_naming_the_line_and_the_key() {
    let root = Root::new();
    // (body after the 4 valid lines, expected fragments)
    let cases: &[(&str, &[&str])] = &[
        (
            "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:02\"]\n",
            &[":8: hosts[1].name", "declared twice (first at line 6)"],
        ),
        (
            "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - name: h2\n    mac_addresses: [\"00-00-00-00-0B-01\"]\n",
            &[":9: hosts[1].mac_addresses[0]", "given twice", "host \"h1\" already has it, line 7"],
        ),
        (
            "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\", \"0000.0000.0b01\"]\n",
            &[":7: hosts[0].mac_addresses[1]", "this host already lists it"],
        ),
        (
            "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:zz\"]\n",
            &[":7: hosts[0].mac_addresses[0]", "invalid MAC address \"00:00:00:00:0b:zz\""],
        ),
        (
            "hosts:\n  - name: h1\n    mac_addresses: []\n",
            &[":6: hosts[0].mac_addresses", "has no MAC address"],
        ),
        (
            "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n    management:\n      adapter: nope\n",
            &[":9: hosts[0].management.adapter", "\"nope\" is not declared"],
        ),
        (
            "hosts:\n  - name: ../h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n",
            &[":6: hosts[0].name", "invalid host name"],
        ),
        ("hosts: 3\n", &[":5:8: "]),
        ("hosts:\n  - name: [1, 2]\n", &[":6:"]),
        ("server:\n  port: 70000\n", &[":6:", "u16"]),
        ("server:\n  listen: here\n", &[":6: server.listen", "not an IP address"]),
        ("command_timeout: 0\n", &["command_timeout: must be at least 1"]),
        (
            "host_management_adapters:\n  - name: a\n  - name: a\n",
            &[":7: host_management_adapters[1].name", "declared twice"],
        ),
        ("hosts: [\n", &["pxe-pilot.yml:"]),
    ];
    for (body, fragments) in cases {
        let message = root.error(body);
        assert!(!message.contains('\n'), "one line: {message}");
        for fragment in *fragments {
            assert!(
                message.contains(fragment),
                "{fragment:?} not in {message:?}"
            );
        }
    }
}

#[test]
fn folders_must_exist_and_the_catalogue_must_be_inside_the_root() {
    let root = Root::new();
    let outside = tempfile::tempdir().unwrap();
    let cases = [
        (format!("tftp:\n  root: {}/missing\nconfiguration:\n  directory: %%CONFIG_DIR%%\n", root.path().display()), "tftp.root: folder"),
        ("tftp:\n  root: %%TFTP_ROOT%%\nconfiguration:\n  directory: %%TFTP_ROOT%%/nope\n".into(), "configuration.directory: folder"),
        (format!("tftp:\n  root: %%TFTP_ROOT%%\nconfiguration:\n  directory: {}\n", outside.path().display()), "is outside the TFTP root"),
        ("configuration:\n  directory: %%CONFIG_DIR%%\n".into(), "tftp.root: is missing"),
        ("tftp:\n  root: %%TFTP_ROOT%%\n".into(), "configuration.directory: is missing"),
        (
            "tftp:\n  root: %%TFTP_ROOT%%\nconfiguration:\n  directory: %%CONFIG_DIR%%\n  bootloaders:\n    - {name: grub}\n    - {name: grub}\n".into(),
            ":7: configuration.bootloaders[1].name: bootloader \"grub\" is declared twice",
        ),
    ];
    for (yaml, fragment) in cases {
        let message = Settings::load(&root.write(&yaml))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(fragment),
            "{fragment:?} not in {message:?}"
        );
    }
    // A catalogue reached through a link that leads out of the root is outside too.
    std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
    let yaml = "tftp:\n  root: %%TFTP_ROOT%%\nconfiguration:\n  directory: %%TFTP_ROOT%%/escape\n";
    let message = Settings::load(&root.write(yaml))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(message.contains("outside the TFTP root"), "{message}");
}

#[test]
fn unreadable_and_binary_files_are_reported() {
    let root = Root::new();
    let missing = Settings::load(&root.path().join("nope.yml"))
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(missing, SettingsError::Read { .. }), "{missing}");
    let binary = root.path().join("binary.yml");
    fs::write(&binary, b"hosts: \xff\xfe\n").unwrap();
    let message = Settings::load(&binary).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("not UTF-8"), "{message}");
}

#[test]
fn relative_paths_are_taken_from_the_file_folder() {
    let root = Root::new();
    let yaml =
        "tftp:\n  root: .\nconfiguration:\n  directory: pxelinux.cfg/conf\narp_table: arp.txt\n";
    let (settings, _) = Settings::load(&root.write(yaml)).unwrap();
    assert_eq!(settings.paths.tftp_root, root.path().join("."));
    assert_eq!(settings.arp_table, root.path().join("arp.txt"));
}

#[test]
fn client_binary_is_an_optional_existing_file_relative_to_the_file() {
    let root = Root::new();
    let base = "tftp:\n  root: .\nconfiguration:\n  directory: pxelinux.cfg/conf\n";
    let (settings, _) = Settings::load(&root.write(base)).unwrap();
    assert_eq!(settings.client_binary, None);

    fs::write(root.path().join("pxe-pilot-static"), b"\x7fELF").unwrap();
    let yaml = format!("{base}client:\n  binary: pxe-pilot-static\n");
    let (settings, warnings) = Settings::load(&root.write(&yaml)).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        settings.client_binary,
        Some(root.path().join("pxe-pilot-static"))
    );

    let message = root.error("client:\n  binary: missing/pxe-pilot\n");
    assert!(
        message.contains(":6: client.binary:") && message.contains("missing/pxe-pilot"),
        "{message}"
    );
    let message = root.error("client:\n  binary: pxelinux.cfg\n");
    assert!(message.contains("is not a file"), "{message}");
}

#[test]
fn a_large_inventory_loads() {
    // 40,000 hosts of 2 MACs: past the YAML parser's default node budget, which must not cap
    // the inventory.
    let root = Root::new();
    let mut yaml = String::from(
        "tftp: {root: %%TFTP_ROOT%%}\nconfiguration: {directory: %%CONFIG_DIR%%}\nhosts:\n",
    );
    for h in 0..40_000u32 {
        let [_, a, b, c] = h.to_be_bytes();
        yaml.push_str(&format!("  - {{name: n{h}, mac_addresses: ['02:00:{a:02x}:{b:02x}:{c:02x}:01', '02:01:{a:02x}:{b:02x}:{c:02x}:01']}}\n"));
    }
    let (settings, _) = Settings::load(&root.write(&yaml)).unwrap();
    assert_eq!(settings.inventory.hosts().len(), 40_000);
}

#[test]
fn the_etcd_store_is_read_and_each_mistake_names_its_key() {
    let root = Root::new();
    fs::write(root.path().join("etcd-password"), "s3cret\n").unwrap();
    let yaml = "tftp:\n  root: %%TFTP_ROOT%%\nconfiguration:\n  directory: %%CONFIG_DIR%%\n\
                store:\n  etcd:\n    endpoints: [http://10.0.0.5:2379/, https://10.0.0.6:2379]\n    \
                username: pxe\n    password_file: etcd-password\nsite: rack-a\n";
    let (settings, warnings) = Settings::load(&root.write(yaml)).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.site, "rack-a");
    let pxe_pilot_core::StoreKind::Etcd(etcd) = &settings.store else {
        panic!("not etcd: {:?}", settings.store);
    };
    assert_eq!(
        etcd.endpoints,
        ["http://10.0.0.5:2379", "https://10.0.0.6:2379"]
    );
    assert_eq!(etcd.prefix, "/pxe-pilot/");
    assert_eq!(etcd.credentials, Some(("pxe".into(), "s3cret".into())));
    // The password is never printed.
    assert!(!format!("{settings:?}").contains("s3cret"));
    for (body, key) in [
        (
            "store:\n  etcd:\n    endpoints: []\n",
            "store.etcd.endpoints",
        ),
        (
            "store:\n  etcd:\n    endpoints: [10.0.0.5:2379]\n",
            "store.etcd.endpoints",
        ),
        (
            "store:\n  etcd:\n    endpoints: [http://a:2379]\n    prefix: /x\n",
            "store.etcd.prefix",
        ),
        (
            "store:\n  etcd:\n    endpoints: [http://a:2379]\n    username: u\n",
            "store.etcd.username",
        ),
        (
            "store:\n  etcd:\n    endpoints: [http://a:2379]\n    ca_file: none.pem\n",
            "store.etcd.ca_file",
        ),
        ("store: sql\n", "store"),
    ] {
        let error = root.error(body);
        assert!(error.contains(key), "{body}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}
