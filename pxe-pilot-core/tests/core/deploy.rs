//! The deploy rules over a real TFTP root: which hosts a request names, what is written, and
//! what every host boots afterwards, read back from the disk.

use std::fs;
use std::path::PathBuf;

use proptest::prelude::*;
use pxe_pilot_core::TEMP_PREFIX;
use pxe_pilot_core::{
    Deployment, ErrorKind, HostSelector, MacAddress, Pilot, PilotError, Settings,
};

const HOSTS: &str = "
  - name: h1
    mac_addresses: ['00:00:00:00:0b:01']
  - name: h2
    mac_addresses: ['00:00:00:00:0b:02']
  - name: h3
    mac_addresses: ['00:00:00:00:0b:03', '00:00:00:00:0c:03', '00:00:00:00:0d:03']
";

struct World {
    files: crate::world::World,
    pilot: Pilot,
}

fn world() -> World {
    let files = crate::world::Fixture::new()
        .hosts(HOSTS)
        .catalogue(&[
            ("local", "local\n"),
            ("installer", "installer\n"),
            ("rescue", "rescue\n"),
        ])
        .build();
    let pilot = Pilot::open(settings_of(&files)).unwrap();
    World { files, pilot }
}

/// The settings of the world's configuration file.
fn settings_of(files: &crate::world::World) -> Settings {
    Settings::load(&files.config).unwrap().0
}

/// A host named as a request names it: by name, by MAC (any spelling), or both.
type Query = (Option<&'static str>, Option<&'static str>);

fn by_name(name: &'static str) -> Query {
    (Some(name), None)
}

fn by_mac(mac: &'static str) -> Query {
    (None, Some(mac))
}

/// Parses the queries as the server's edge does, then deploys.
fn deploy<'a>(
    pilot: &'a Pilot,
    configuration: &str,
    queries: &[Query],
) -> Result<pxe_pilot_core::Deployed<'a>, PilotError> {
    let selectors = queries
        .iter()
        .map(|(name, mac)| HostSelector::parse(*name, *mac))
        .collect::<Result<Vec<_>, _>>()?;
    pilot.deploy(configuration, &selectors)
}

impl World {
    fn entry(&self, mac: &str) -> PathBuf {
        self.files
            .pxelinux_cfg()
            .join(MacAddress::parse(mac).unwrap().entry_name())
    }

    /// What a bootloader reading `mac`'s entry gets.
    fn boots(&self, mac: &str) -> Option<String> {
        fs::read_to_string(self.entry(mac))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    fn configuration_of(&self, host: &str) -> Deployment {
        self.pilot.host(host).unwrap().deployment
    }

    /// Every file under the TFTP root with its content or link target.
    fn snapshot(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut stack = vec![self.files.root.clone()];
        while let Some(folder) = stack.pop() {
            for item in fs::read_dir(&folder).unwrap() {
                let path = item.unwrap().path();
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.file_type().is_symlink() {
                    out.push((
                        path.clone(),
                        fs::read_link(&path).unwrap().display().to_string(),
                    ));
                } else {
                    out.push((path.clone(), fs::read_to_string(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

#[test]
fn a_host_named_by_name_by_any_mac_or_both_is_switched() {
    let w = world();
    let deployed = deploy(
        &w.pilot,
        "installer",
        &[by_name("h1"), by_mac("00-00-00-00-0C-03")],
    )
    .unwrap();
    assert_eq!(deployed.configuration.name.as_str(), "installer");
    assert!(deployed.complete());
    let names: Vec<&str> = deployed
        .hosts
        .iter()
        .map(|s| s.host.name.as_str())
        .collect();
    assert_eq!(names, ["h1", "h3"]);
    for mac in [
        "00:00:00:00:0b:01",
        "00:00:00:00:0b:03",
        "00:00:00:00:0c:03",
        "00:00:00:00:0d:03",
    ] {
        assert_eq!(w.boots(mac).as_deref(), Some("installer"), "{mac}");
    }
    let both = (Some("h3"), Some("0000.0000.0d03"));
    let switched = deploy(&w.pilot, "local", &[both]).unwrap().hosts;
    assert!(
        matches!(&switched[0].previous, Deployment::Deployed(c) if c.name.as_str() == "installer")
    );
    assert_eq!(w.boots("00:00:00:00:0d:03").as_deref(), Some("local"));
    assert!(
        matches!(w.configuration_of("h3"), Deployment::Deployed(c) if c.name.as_str() == "local")
    );
    assert_eq!(w.configuration_of("h2"), Deployment::NotDeployed);
}

#[test]
fn a_bad_request_writes_nothing_and_says_why() {
    let w = world();
    deploy(&w.pilot, "local", &[by_name("h1")]).unwrap();
    let before = w.snapshot();
    let cases: Vec<(&str, Vec<Query>, ErrorKind, &str)> = vec![
        (
            "nope",
            vec![by_name("h1")],
            ErrorKind::NotFound,
            "configuration \"nope\" does not exist",
        ),
        (
            "../local",
            vec![by_name("h1")],
            ErrorKind::NotFound,
            "does not exist",
        ),
        (
            "installer",
            vec![by_name("h2"), by_name("ghost")],
            ErrorKind::NotFound,
            "no host is named \"ghost\"",
        ),
        (
            "installer",
            vec![by_name("h2"), by_mac("00:00:00:00:ff:ff")],
            ErrorKind::NotFound,
            "no host has MAC address 00:00:00:00:ff:ff",
        ),
        (
            "installer",
            vec![by_name("h2"), by_mac("00:00:00:00:zz:ff")],
            ErrorKind::BadRequest,
            "invalid MAC address",
        ),
        (
            "installer",
            vec![by_name("h3"), by_mac("00:00:00:00:0c:03")],
            ErrorKind::Conflict,
            "host \"h3\" appears several times",
        ),
        (
            "installer",
            vec![(Some("h1"), Some("00:00:00:00:0b:02"))],
            ErrorKind::Conflict,
            "belongs to host \"h2\", not to host \"h1\"",
        ),
        (
            "installer",
            vec![(None, Some(""))],
            ErrorKind::BadRequest,
            "neither a name nor a macAddress",
        ),
        ("installer", vec![], ErrorKind::BadRequest, "names no host"),
    ];
    for (configuration, queries, kind, message) in cases {
        let err = deploy(&w.pilot, configuration, &queries).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(
            err.to_string().contains(message),
            "{message:?} not in {err}"
        );
        assert_eq!(w.snapshot(), before, "nothing written for {err}");
    }
}

#[test]
fn links_made_by_hand_and_missing_files_are_seen_on_the_next_read() {
    let w = world();
    std::os::unix::fs::symlink("conf/rescue", w.entry("00:00:00:00:0b:02")).unwrap();
    assert!(
        matches!(w.configuration_of("h2"), Deployment::Deployed(c) if c.name.as_str() == "rescue")
    );
    deploy(&w.pilot, "rescue", &[by_name("h1")]).unwrap();
    fs::remove_file(w.files.root.join("pxelinux.cfg/conf/rescue")).unwrap();
    assert_eq!(
        w.configuration_of("h1"),
        Deployment::Dangling("rescue".into())
    );
    let states: Vec<_> = w.pilot.hosts().unwrap().collect();
    assert_eq!(states.len(), 3);
    assert_eq!(states[1].deployment, Deployment::Dangling("rescue".into()));
}

#[test]
fn undeploy_removes_the_entries_of_every_nic() {
    let w = world();
    deploy(&w.pilot, "local", &[by_name("h3")]).unwrap();
    let switched = w.pilot.undeploy("h3").unwrap();
    assert!(matches!(switched.previous, Deployment::Deployed(_)));
    for mac in [
        "00:00:00:00:0b:03",
        "00:00:00:00:0c:03",
        "00:00:00:00:0d:03",
    ] {
        assert!(fs::symlink_metadata(w.entry(mac)).is_err(), "{mac}");
    }
    assert_eq!(w.configuration_of("h3"), Deployment::NotDeployed);
    assert_eq!(
        w.pilot.undeploy("ghost").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn a_first_deploy_switches_every_nic_with_its_last_rename_and_a_restart_cleans_an_interrupted_one()
{
    // What a crash between the renames of a first deploy leaves: the other NICs' links are
    // written, the first NIC's entry (the last rename) is not. Every NIC reads "no entry",
    // as before the deploy, and the next start removes the links.
    let w = world();
    let entry = |mac: &str| MacAddress::parse(mac).unwrap().entry_name();
    for mac in ["00:00:00:00:0c:03", "00:00:00:00:0d:03"] {
        std::os::unix::fs::symlink(entry("00:00:00:00:0b:03"), w.entry(mac)).unwrap();
        assert_eq!(
            w.boots(mac),
            None,
            "{mac} reads no entry, like before the deploy"
        );
    }
    // A host whose other NIC has an entry made by hand is left alone.
    std::os::unix::fs::symlink("conf/rescue", w.entry("00:00:00:00:0b:02")).unwrap();
    let before = w.snapshot();
    let settings = settings_of(&w.files);
    let restarted = Pilot::open(settings).unwrap();
    let removed: Vec<_> = before
        .iter()
        .filter(|item| !w.snapshot().contains(item))
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(removed, ["01-00-00-00-00-0c-03", "01-00-00-00-00-0d-03"]);
    assert_eq!(
        restarted.host("h3").unwrap().deployment,
        Deployment::NotDeployed
    );
    assert_eq!(w.boots("00:00:00:00:0b:02").as_deref(), Some("rescue"));

    // A whole deploy leaves every NIC on the configuration.
    deploy(&restarted, "installer", &[by_name("h3")]).unwrap();
    for mac in [
        "00:00:00:00:0b:03",
        "00:00:00:00:0c:03",
        "00:00:00:00:0d:03",
    ] {
        assert_eq!(w.boots(mac).as_deref(), Some("installer"), "{mac}");
    }
    // An undeploy interrupted after its first removal is finished by a restart too.
    fs::remove_file(w.entry("00:00:00:00:0b:03")).unwrap();
    let settings = settings_of(&w.files);
    Pilot::open(settings).unwrap();
    for mac in ["00:00:00:00:0c:03", "00:00:00:00:0d:03"] {
        assert!(fs::symlink_metadata(w.entry(mac)).is_err(), "{mac}");
    }
}

#[test]
fn looking_a_host_up_by_any_mac_spelling() {
    let w = world();
    assert_eq!(
        w.pilot
            .host_by_mac(&MacAddress::parse("00-00-00-00-0D-03").unwrap())
            .unwrap()
            .host
            .name
            .as_str(),
        "h3"
    );
    assert_eq!(
        w.pilot
            .host_by_mac(&MacAddress::parse("00:00:00:00:ff:ff").unwrap())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        HostSelector::parse(None, Some("nonsense"))
            .unwrap_err()
            .kind(),
        ErrorKind::BadRequest
    );
}

#[derive(Debug, Clone)]
enum Step {
    Deploy(usize, usize),
    Undeploy(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..3usize, 0..3usize).prop_map(|(h, c)| Step::Deploy(h, c)),
        (0..3usize).prop_map(Step::Undeploy),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of deploys and undeploys leaves every MAC of a deployed host resolving to
    /// that host's last configuration, no temporary entry, and nothing written elsewhere.
    #[test]
    fn any_sequence_leaves_every_nic_on_its_host_last_configuration(steps in proptest::collection::vec(step(), 1..24)) {
        let w = world();
        let hosts = ["h1", "h2", "h3"];
        let configurations = ["local", "installer", "rescue"];
        let outside_before: Vec<_> = w.snapshot().into_iter().filter(|(p, _)| !p.starts_with(w.files.root.join("pxelinux.cfg")) || p.starts_with(w.files.root.join("pxelinux.cfg/conf"))).collect();
        let mut expected: [Option<&str>; 3] = [None; 3];
        for step in &steps {
            match *step {
                Step::Deploy(h, c) => {
                    deploy(&w.pilot, configurations[c], &[by_name(hosts[h])]).unwrap();
                    expected[h] = Some(configurations[c]);
                }
                Step::Undeploy(h) => {
                    w.pilot.undeploy(hosts[h]).unwrap();
                    expected[h] = None;
                }
            }
        }
        for (h, host) in w.pilot.settings().inventory.hosts().iter().enumerate() {
            for mac in &host.mac_addresses {
                let path = w.files.root.join("pxelinux.cfg").join(mac.entry_name());
                let boots = fs::read_to_string(&path).ok().map(|s| s.trim().to_owned());
                prop_assert_eq!(boots.as_deref(), expected[h], "{} {}", host.name, mac);
            }
        }
        let names: Vec<String> = fs::read_dir(w.files.root.join("pxelinux.cfg")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        prop_assert!(names.iter().all(|n| !n.starts_with(TEMP_PREFIX)), "{:?}", names);
        let outside_after: Vec<_> = w.snapshot().into_iter().filter(|(p, _)| !p.starts_with(w.files.root.join("pxelinux.cfg")) || p.starts_with(w.files.root.join("pxelinux.cfg/conf"))).collect();
        prop_assert_eq!(outside_before, outside_after);
    }
}

#[test]
fn two_services_deploying_the_same_host_at_once_leave_it_consistent() {
    let w = world();
    let settings = settings_of(&w.files);
    let other = Pilot::open(settings).unwrap();
    deploy(&w.pilot, "local", &[by_name("h3")]).unwrap();
    std::thread::scope(|scope| {
        for (i, pilot) in [&w.pilot, &other].into_iter().enumerate() {
            scope.spawn(move || {
                for round in 0..150 {
                    let configuration = ["local", "installer", "rescue"][(round + i) % 3];
                    deploy(pilot, configuration, &[by_name("h3")]).unwrap();
                }
            });
        }
        // Meanwhile a reader never sees an entry missing.
        scope.spawn(|| {
            for _ in 0..300 {
                for mac in [
                    "00:00:00:00:0b:03",
                    "00:00:00:00:0c:03",
                    "00:00:00:00:0d:03",
                ] {
                    assert!(w.boots(mac).is_some(), "{mac} missing during deploys");
                }
            }
        });
    });
    let first = w.boots("00:00:00:00:0b:03");
    assert!(first.is_some());
    for mac in ["00:00:00:00:0c:03", "00:00:00:00:0d:03"] {
        assert_eq!(w.boots(mac), first);
    }
}
