//! The conformance suite: the contract of [`Store`], run against every store. A new store
//! passes it by adding one line to [`STORES`]. The etcd store runs against a real etcd
//! (Debian's `etcd-server`), one member on loopback started for the test process; without
//! the `etcd` binary it is left out with a loud note (in CI, where it must run, the suite
//! fails).
//!
//! Each property is one test that runs over every store, on a fresh world (a TFTP root with
//! a `pxelinux` and a `grub` catalogue folder, GRUB keeping entries of its own, three hosts,
//! a `state_dir`):
//!
//! - a switch points every NIC of a host at the configuration, and returns what was before;
//! - a compare-and-swap with a stale expectation writes nothing and says what is there now;
//! - moving a host to another bootloader removes its entries of the old one;
//! - removing a host removes its entries of every bootloader, and no other host's;
//! - a reader never sees a host half switched, whatever the writers do;
//! - concurrent switches of one host are ordered: each is handed what the previous left;
//! - of concurrent compare-and-swaps from one state, exactly one is done;
//! - `once` is set, read, cleared, and taken by exactly one of many concurrent takers;
//! - events are numbered in order, read back in order, bounded, and per host newest first;
//! - a host's last boot is its newest counted one;
//! - a new reading of the configuration file keeps everything.

use std::path::Path;
use std::sync::{Arc, Barrier};

use crate::catalogue::Configuration;
use crate::events::{Event, EventKind, NewEvent, Who, DEFAULT_KEEP};
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};
use crate::settings::Settings;

use super::{Entries, EtcdStore, Expect, FilesStore, MemoryStore, Resolved, Store, Swap, Target};

/// Every store, by name, how a test opens it over a world's settings (`None`: it cannot run
/// here), and how many events of a class it keeps.
type Open = fn(&Settings) -> Option<Arc<dyn Store>>;
const STORES: [(&str, Open, usize); 3] = [
    (
        "files",
        |s| Some(Arc::new(FilesStore::open(s).expect("open the files store"))),
        DEFAULT_KEEP,
    ),
    (
        "memory",
        |s| {
            Some(Arc::new(
                MemoryStore::new(s).expect("open the memory store"),
            ))
        },
        DEFAULT_KEEP,
    ),
    (
        "etcd",
        |s| {
            let etcd = test_etcd::fresh_prefix()?;
            Some(Arc::new(
                EtcdStore::open_keeping(s, &etcd, ETCD_KEEP).expect("open the etcd store"),
            ))
        },
        ETCD_KEEP,
    ),
];

/// The etcd store's bound in the suite (small: each event is a transaction).
const ETCD_KEEP: usize = 300;

/// One etcd member on loopback for the whole test process, and a fresh prefix per world.
pub(crate) mod test_etcd {
    use std::net::TcpListener;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use crate::settings::EtcdSettings;

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    fn on_path(name: &str) -> bool {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .any(|dir| dir.join(name).is_file())
    }

    /// The member's client URL, started on first use (`None` without the `etcd` binary
    /// outside CI). It dies with the test process (a parent-death signal, `setpriv`).
    fn endpoint() -> Option<&'static str> {
        static ENDPOINT: OnceLock<Option<String>> = OnceLock::new();
        ENDPOINT
            .get_or_init(|| {
                if !on_path("etcd") {
                    let message =
                        "the etcd store's conformance needs `etcd` (apt-get install etcd-server)";
                    assert!(std::env::var_os("CI").is_none(), "{message}");
                    eprintln!("SKIP (CI is unset): {message}");
                    return None;
                }
                let (client, peer) = (free_port(), free_port());
                let dir =
                    std::env::temp_dir().join(format!("pxe-pilot-etcd-{}", std::process::id()));
                // Folders of earlier test processes (gone) go first.
                for old in std::fs::read_dir(std::env::temp_dir())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let name = old.file_name().to_string_lossy().into_owned();
                    let pid = name.strip_prefix("pxe-pilot-etcd-").unwrap_or("");
                    if !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists() {
                        let _ = std::fs::remove_dir_all(old.path());
                    }
                }
                let _ = std::fs::remove_dir_all(&dir);
                let url = format!("http://127.0.0.1:{client}");
                let peer_url = format!("http://127.0.0.1:{peer}");
                let args = [
                    "etcd".to_owned(),
                    "--data-dir".into(),
                    dir.display().to_string(),
                    "--listen-client-urls".into(),
                    url.clone(),
                    "--advertise-client-urls".into(),
                    url.clone(),
                    "--listen-peer-urls".into(),
                    peer_url.clone(),
                    "--initial-advertise-peer-urls".into(),
                    peer_url.clone(),
                    "--initial-cluster".into(),
                    format!("default={peer_url}"),
                    "--log-level".into(),
                    "error".into(),
                    "--logger".into(),
                    "zap".into(),
                ];
                // A thread that lives as long as the process spawns it: the parent-death
                // signal fires when the spawning thread ends.
                std::thread::spawn(move || {
                    let mut command = if on_path("setpriv") {
                        let mut c = Command::new("setpriv");
                        c.args(["--pdeathsig", "KILL"]).args(&args);
                        c
                    } else {
                        let mut c = Command::new(&args[0]);
                        c.args(&args[1..]);
                        c
                    };
                    let mut child = command
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("start etcd");
                    let _ = child.wait();
                });
                let started = Instant::now();
                while std::net::TcpStream::connect(("127.0.0.1", client)).is_err() {
                    assert!(
                        started.elapsed() < Duration::from_secs(20),
                        "etcd did not start on {url}"
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                Some(url)
            })
            .as_deref()
    }

    /// The settings of a store under a prefix no other world uses.
    pub fn fresh_prefix() -> Option<EtcdSettings> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let endpoint = endpoint()?;
        Some(EtcdSettings {
            endpoints: vec![endpoint.to_owned()],
            prefix: format!(
                "/conformance/{}-{}/",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            ca_file: None,
            client_cert: None,
            credentials: None,
        })
    }
}

const YAML: &str = "
hosts:
  - name: h1
    mac_addresses: ['52:54:00:c0:00:01', '52:54:00:c0:00:02', '52:54:00:c0:00:03']
  - name: h2
    mac_addresses: ['52:54:00:c0:00:21']
  - name: h3
    mac_addresses: ['52:54:00:c0:00:31', '52:54:00:c0:00:32']
tftp:
  root: tftp
configuration:
  directory: tftp/conf
  bootloaders:
    - {name: pxelinux, file: pxelinux.0}
    - {name: grub, file: grubnetx64.efi, mac_entry: 'grub/grub.cfg-01-{mac}'}
state_dir: state
";

/// A fresh world for one store.
struct World {
    _dir: tempfile::TempDir,
    settings: Settings,
    store: Arc<dyn Store>,
    name: &'static str,
    keep: usize,
}

impl World {
    fn new(name: &'static str, open: Open, keep: usize) -> Option<World> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (folder, file) in [
            ("pxelinux", "local"),
            ("pxelinux", "installer"),
            ("grub", "rescue"),
        ] {
            let folder = dir.path().join("tftp/conf").join(folder);
            std::fs::create_dir_all(&folder).expect("a catalogue folder");
            std::fs::write(folder.join(file), "DEFAULT x\n").expect("a configuration");
        }
        std::fs::create_dir_all(dir.path().join("state")).expect("a state folder");
        let (settings, _) = Settings::from_yaml(YAML, Path::new("t.yml"), dir.path())
            .expect("the conformance world's settings");
        let store = open(&settings)?;
        Some(World {
            _dir: dir,
            settings,
            store,
            name,
            keep,
        })
    }

    fn macs(&self, host: &str) -> Vec<MacAddress> {
        self.settings
            .inventory
            .hosts()
            .iter()
            .find(|h| h.name.as_str() == host)
            .map(|h| h.mac_addresses.clone())
            .expect("a host of the world")
    }

    fn configuration(&self, bootloader: &str, name: &str) -> Configuration {
        Configuration {
            name: ConfigName::parse(name).expect("a name"),
            bootloader: self
                .settings
                .bootloaders
                .iter()
                .find(|b| b.name == bootloader)
                .cloned(),
            path: Path::new(bootloader).join(name),
        }
    }

    fn switch(&self, host: &str, to: Option<&Configuration>) -> Swap {
        self.store
            .switch(&self.macs(host), to, &Expect::Anything)
            .unwrap_or_else(|e| panic!("{}: switch {host}: {e}", self.name))
    }

    fn entries(&self, host: &str) -> Entries {
        self.store
            .entries_for(&self.macs(host))
            .unwrap_or_else(|e| panic!("{}: read {host}: {e}", self.name))
    }

    /// What every NIC of `host` leads to in `pxelinux.cfg/`: one path for all, or a panic
    /// naming the store and what was found.
    fn boots(&self, host: &str) -> Option<String> {
        boots_of(&self.entries(host), &self.macs(host), self.name)
    }
}

/// What every MAC of `macs` leads to in `entries`: `None` when no NIC has an entry, the one
/// configuration when all lead to it; anything else is a half-switched host: a panic.
fn boots_of(entries: &Entries, macs: &[MacAddress], store: &str) -> Option<String> {
    let resolved: Vec<Resolved> = macs.iter().map(|m| entries.pxelinux.resolve(m)).collect();
    match &resolved[..] {
        all if all.iter().all(|r| *r == Resolved::NotDeployed) => None,
        [Resolved::Configuration(path), rest @ ..]
            if rest
                .iter()
                .all(|r| matches!(r, Resolved::Configuration(p) if p == path)) =>
        {
            Some(path.display().to_string())
        }
        other => panic!("{store}: a host half switched: {other:?}"),
    }
}

fn each(test: impl Fn(&World)) {
    for (name, open, keep) in STORES {
        if let Some(world) = World::new(name, open, keep) {
            test(&world);
        }
    }
}

fn host(name: &str) -> HostName {
    HostName::parse(name).expect("a host name")
}

#[test]
fn a_switch_points_every_nic_at_the_configuration_and_returns_what_was_before() {
    each(|w| {
        let local = w.configuration("pxelinux", "local");
        let before = w_empty(w, "h1");
        assert_eq!(
            w.switch("h1", Some(&local)),
            Swap::Done(before),
            "{}",
            w.name
        );
        let macs = w.macs("h1");
        let entries = w.entries("h1");
        assert_eq!(
            entries.pxelinux.get(&macs[0]),
            Some(&Target::Configuration(Path::new("pxelinux/local").into())),
            "{}",
            w.name
        );
        for mac in &macs[1..] {
            assert_eq!(
                entries.pxelinux.get(mac),
                Some(&Target::Entry(macs[0])),
                "{}",
                w.name
            );
        }
        let installer = w.configuration("pxelinux", "installer");
        assert_eq!(
            w.switch("h1", Some(&installer)),
            Swap::Done(entries),
            "{}",
            w.name
        );
        assert_eq!(
            w.boots("h1").as_deref(),
            Some("pxelinux/installer"),
            "{}",
            w.name
        );
        assert_eq!(w.boots("h2"), None, "{}: another host is untouched", w.name);
    });
}

/// The entries of a host with nothing deployed, as the store reads them.
fn w_empty(w: &World, host: &str) -> Entries {
    let entries = w.entries(host);
    assert_eq!(boots_of(&entries, &w.macs(host), w.name), None);
    entries
}

#[test]
fn a_compare_and_swap_with_a_stale_expectation_writes_nothing() {
    each(|w| {
        let stale = w.entries("h1");
        w.switch("h1", Some(&w.configuration("pxelinux", "installer")));
        let now = w.entries("h1");
        let local = w.configuration("pxelinux", "local");
        let refused = w
            .store
            .switch(&w.macs("h1"), Some(&local), &Expect::Entries(stale))
            .unwrap();
        assert_eq!(refused, Swap::Changed(now.clone()), "{}", w.name);
        assert_eq!(
            w.boots("h1").as_deref(),
            Some("pxelinux/installer"),
            "{}",
            w.name
        );
        let done = w
            .store
            .switch(&w.macs("h1"), Some(&local), &Expect::Entries(now.clone()))
            .unwrap();
        assert_eq!(done, Swap::Done(now), "{}", w.name);
        assert_eq!(
            w.boots("h1").as_deref(),
            Some("pxelinux/local"),
            "{}",
            w.name
        );
    });
}

#[test]
fn moving_a_host_to_another_bootloader_removes_its_entries_of_the_old_one() {
    each(|w| {
        w.switch("h3", Some(&w.configuration("grub", "rescue")));
        let macs = w.macs("h3");
        let grub = w.entries("h3");
        let own = grub
            .bootloader("grub")
            .expect("grub keeps entries of its own");
        assert_eq!(
            own.resolve(&macs[1]),
            Resolved::Configuration(Path::new("grub/rescue").into()),
            "{}",
            w.name
        );
        assert_eq!(w.boots("h3").as_deref(), Some("grub/rescue"), "{}", w.name);
        w.switch("h3", Some(&w.configuration("pxelinux", "local")));
        let moved = w.entries("h3");
        assert!(
            moved.bootloader("grub").is_some_and(|t| t.is_empty()),
            "{}: grub entries left: {moved:?}",
            w.name
        );
        assert_eq!(
            w.boots("h3").as_deref(),
            Some("pxelinux/local"),
            "{}",
            w.name
        );
    });
}

#[test]
fn removing_a_host_removes_its_entries_of_every_bootloader_and_no_other_host_s() {
    each(|w| {
        w.switch("h3", Some(&w.configuration("grub", "rescue")));
        w.switch("h2", Some(&w.configuration("pxelinux", "local")));
        let before = w.entries("h3");
        assert_eq!(w.switch("h3", None), Swap::Done(before), "{}", w.name);
        let after = w.entries("h3");
        assert!(after.pxelinux.is_empty(), "{}: {after:?}", w.name);
        assert!(
            after.bootloader("grub").is_none_or(|t| t.is_empty()),
            "{}",
            w.name
        );
        assert_eq!(
            w.boots("h2").as_deref(),
            Some("pxelinux/local"),
            "{}",
            w.name
        );
        assert!(
            w.store.switch(&[], None, &Expect::Anything).is_err(),
            "{}: a switch of no MAC address is an error",
            w.name
        );
    });
}

#[test]
fn a_reader_never_sees_a_host_half_switched() {
    each(|w| {
        let configurations = [
            w.configuration("pxelinux", "local"),
            w.configuration("pxelinux", "installer"),
        ];
        w.switch("h1", Some(&configurations[0]));
        let macs = w.macs("h1");
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                for i in 0..200 {
                    w.switch("h1", Some(&configurations[i % 2]));
                }
            });
            while !writer.is_finished() {
                let entries = w.store.entries_for(&macs).unwrap();
                assert!(boots_of(&entries, &macs, w.name).is_some(), "{}", w.name);
                let all = w.store.entries().unwrap();
                assert!(boots_of(&all, &macs, w.name).is_some(), "{}", w.name);
            }
        });
    });
}

#[test]
fn concurrent_switches_of_one_host_are_ordered() {
    each(|w| {
        const WRITERS: usize = 4;
        const EACH: usize = 25;
        let configurations = [
            w.configuration("pxelinux", "local"),
            w.configuration("pxelinux", "installer"),
        ];
        let macs = w.macs("h1");
        let befores: Vec<Option<String>> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|n| {
                    let (configurations, macs) = (&configurations, &macs);
                    scope.spawn(move || {
                        (0..EACH)
                            .map(|i| {
                                let to = &configurations[(n + i) % 2];
                                match w.store.switch(macs, Some(to), &Expect::Anything).unwrap() {
                                    Swap::Done(before) => boots_of(&before, macs, w.name),
                                    Swap::Changed(_) => {
                                        panic!("{}: Anything is never refused", w.name)
                                    }
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            writers
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        // Ordered: exactly one switch saw nothing deployed (the first), every other one saw a
        // whole configuration.
        assert_eq!(
            befores.iter().filter(|b| b.is_none()).count(),
            1,
            "{}",
            w.name
        );
        assert_eq!(befores.len(), WRITERS * EACH);
    });
}

#[test]
fn of_concurrent_compare_and_swaps_from_one_state_exactly_one_is_done() {
    each(|w| {
        const TAKERS: usize = 8;
        w.switch("h1", Some(&w.configuration("pxelinux", "installer")));
        let seen = w.entries("h1");
        let local = w.configuration("pxelinux", "local");
        let macs = w.macs("h1");
        let barrier = Barrier::new(TAKERS);
        let done = std::thread::scope(|scope| {
            let takers: Vec<_> = (0..TAKERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        let expect = Expect::Entries(seen.clone());
                        w.store.switch(&macs, Some(&local), &expect).unwrap()
                    })
                })
                .collect();
            takers
                .into_iter()
                .map(|t| t.join())
                .filter(|s| matches!(s, Ok(Swap::Done(_))))
                .count()
        });
        // Switched to `local`, the others' expectation (installer) is stale.
        assert_eq!(done, 1, "{}", w.name);
    });
}

#[test]
fn once_is_taken_by_exactly_one_of_many_concurrent_takers() {
    each(|w| {
        let (h1, h2) = (host("h1"), host("h2"));
        let installer = ConfigName::parse("installer").unwrap();
        let local = ConfigName::parse("local").unwrap();
        assert_eq!(w.store.once(&h1), None, "{}", w.name);
        w.store.set_once(&h1, Some(&installer)).unwrap();
        w.store.set_once(&h2, Some(&installer)).unwrap();
        assert_eq!(w.store.once(&h1), Some(installer.clone()), "{}", w.name);
        assert!(
            !w.store.take_once(&h1, &local).unwrap(),
            "{}: another configuration",
            w.name
        );
        let barrier = Barrier::new(8);
        let taken = std::thread::scope(|scope| {
            let takers: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        w.store.take_once(&h1, &installer).unwrap()
                    })
                })
                .collect();
            takers
                .into_iter()
                .map(|t| t.join().unwrap_or(false))
                .filter(|taken| *taken)
                .count()
        });
        assert_eq!(taken, 1, "{}", w.name);
        assert_eq!(w.store.once(&h1), None, "{}", w.name);
        assert_eq!(
            w.store.once(&h2),
            Some(installer.clone()),
            "{}: h2's stays",
            w.name
        );
        w.store.set_once(&h2, None).unwrap();
        assert_eq!(w.store.once(&h2), None, "{}", w.name);
    });
}

fn event(kind: EventKind, host: &str, counted: bool) -> NewEvent {
    NewEvent {
        host: Some(self::host(host)),
        to: Some("local".into()),
        counted,
        ..NewEvent::new(kind, Who::Open)
    }
}

#[test]
fn events_are_numbered_and_read_in_order_bounded_and_per_host_newest_first() {
    each(|w| {
        let first = w
            .store
            .record(event(EventKind::Deploy, "h1", false))
            .unwrap();
        let second = w
            .store
            .record(event(EventKind::Deploy, "h2", false))
            .unwrap();
        let third = w
            .store
            .record(event(EventKind::Undeploy, "h1", false))
            .unwrap();
        assert!(first.id < second.id && second.id < third.id, "{}", w.name);
        let since: Vec<u64> = w.store.events_since(0, 10).iter().map(|e| e.id).collect();
        assert_eq!(since, [first.id, second.id, third.id], "{}", w.name);
        let after: Vec<u64> = w
            .store
            .events_since(first.id, 10)
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(after, [second.id, third.id], "{}", w.name);
        let of_h1: Vec<u64> = w
            .store
            .events_for(&host("h1"), 10)
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(of_h1, [third.id, first.id], "{}", w.name);
        // Bounded: past the bound the oldest go first.
        for _ in 0..w.keep {
            w.store
                .record(event(EventKind::Deploy, "h2", false))
                .unwrap();
        }
        let (changes, _) = w.store.events_kept();
        assert!(changes <= w.keep, "{}: {changes} kept", w.name);
        let oldest = w.store.events_since(0, 1);
        assert!(oldest[0].id > third.id, "{}: the oldest are gone", w.name);
    });
}

#[test]
fn a_host_s_last_boot_is_its_newest_counted_one() {
    each(|w| {
        assert!(w.store.last_boot(&host("h1")).is_none(), "{}", w.name);
        let counted = w.store.record(event(EventKind::Boot, "h1", true)).unwrap();
        w.store.record(event(EventKind::Boot, "h1", false)).unwrap();
        w.store.record(event(EventKind::Boot, "h2", true)).unwrap();
        w.store
            .record(event(EventKind::Deploy, "h1", false))
            .unwrap();
        let last = w.store.last_boot(&host("h1")).expect("a last boot");
        // A shared store may number a boot's event when it publishes it (id 0 when recorded).
        if counted.id != 0 {
            assert_eq!(last.id, counted.id, "{}", w.name);
        }
        assert!(last.counted && last.kind == EventKind::Boot, "{}", w.name);
        let boots_of_h1: Vec<Event> = w
            .store
            .events_for(&host("h1"), 10)
            .into_iter()
            .filter(|e| e.kind == EventKind::Boot)
            .collect();
        assert_eq!(boots_of_h1.len(), 2, "{}", w.name);
        assert_eq!(
            last.id, boots_of_h1[1].id,
            "{}: the counted one, not the newest",
            w.name
        );
        let (_, boots) = w.store.events_kept();
        assert_eq!(boots, 3, "{}", w.name);
    });
}

#[test]
fn a_new_reading_of_the_configuration_keeps_everything() {
    each(|w| {
        w.switch("h3", Some(&w.configuration("grub", "rescue")));
        let installer = ConfigName::parse("installer").unwrap();
        w.store.set_once(&host("h1"), Some(&installer)).unwrap();
        let recorded = w
            .store
            .record(event(EventKind::Deploy, "h1", false))
            .unwrap();
        w.store.reconfigure(&w.settings).unwrap();
        assert_eq!(w.boots("h3").as_deref(), Some("grub/rescue"), "{}", w.name);
        assert_eq!(w.store.once(&host("h1")), Some(installer), "{}", w.name);
        assert_eq!(w.store.events_since(0, 10)[0].id, recorded.id, "{}", w.name);
    });
}
