//! Criterion benches of pxe-pilot-core. Read each figure against `floor/*`: the bare
//! readdir + readlink of the same `pxelinux.cfg/` folder, which any implementation pays.
//!
//! Run: `cargo bench --bench core` (add `-- listing/` to run one group; a world of hosts is
//! only built when one of its benches runs). `BENCHMARKS.md` has the figures and the load
//! tool (`cargo bench --bench load`) for the server.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pxe_pilot_core::api::HostView;
use pxe_pilot_core::{HostName, HostSelector, MacAddress, Pilot, PowerReport, Settings};

/// A TFTP root with `hosts` hosts of 2 MACs each, all deployed.
struct World {
    _dir: tempfile::TempDir,
    pilot: Pilot,
    folder: std::path::PathBuf,
}

fn mac(host: usize, nic: usize) -> MacAddress {
    let h = host as u32;
    MacAddress::new([
        0x02,
        nic as u8,
        (h >> 16) as u8,
        (h >> 8) as u8,
        h as u8,
        0x01,
    ])
}

fn world(hosts: usize) -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("catalogue");
    for name in ["local", "installer", "rescue"] {
        fs::write(conf.join(name), name).expect("configuration");
    }
    let mut yaml = String::with_capacity(hosts * 80);
    yaml.push_str("tftp: {root: .}\nconfiguration: {directory: pxelinux.cfg/conf}\nhosts:\n");
    for h in 0..hosts {
        yaml.push_str(&format!(
            "  - {{name: host-{h}, mac_addresses: ['{}', '{}']}}\n",
            mac(h, 0),
            mac(h, 1)
        ));
    }
    let (settings, _) =
        Settings::from_yaml(&yaml, Path::new("bench.yml"), dir.path()).expect("settings");
    let folder = dir.path().join("pxelinux.cfg");
    // Deploy everything with plain links (fast set-up), as pxe-pilot would write them.
    for h in 0..hosts {
        let first = mac(h, 0).entry_name();
        std::os::unix::fs::symlink("conf/local", folder.join(&first)).expect("link");
        std::os::unix::fs::symlink(&first, folder.join(mac(h, 1).entry_name())).expect("link");
    }
    let pilot = Pilot::open(settings).expect("pilot");
    World {
        _dir: dir,
        pilot,
        folder,
    }
}

/// The world of `hosts` hosts, built the first time a bench asks for it.
fn shared_world(hosts: usize) -> &'static World {
    static WORLDS: [OnceLock<World>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match hosts {
        1_000 => &WORLDS[0],
        10_000 => &WORLDS[1],
        100_000 => &WORLDS[2],
        other => panic!("no world of {other} hosts"),
    };
    slot.get_or_init(|| world(hosts))
}

/// The floor: list the folder and read every link, nothing else.
fn floor(folder: &Path) -> usize {
    let mut n = 0;
    for entry in fs::read_dir(folder).expect("readdir").flatten() {
        if fs::read_link(entry.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// What `GET /v1/hosts?status=false` does without HTTP: read the state, build the views,
/// write the JSON.
fn hosts_json(pilot: &Pilot) -> usize {
    let views: Vec<HostView> = pilot
        .hosts()
        .expect("hosts")
        .map(|state| pxe_pilot_server::host_view(&state, PowerReport::default(), None))
        .collect();
    serde_json::to_vec(&views).expect("json").len()
}

fn by_name(name: &str) -> HostSelector {
    HostSelector::by_name(HostName::parse(name).expect("name"))
}

fn mac_parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("mac_parse");
    for text in [
        "23:34:a3:e9:09:cc",
        "23-34-A3-E9-09-CC",
        "2334.a3e9.09cc",
        "0:1a:2:3:4:5",
    ] {
        group.bench_with_input(BenchmarkId::from_parameter(text), text, |b, t| {
            b.iter(|| MacAddress::parse(std::hint::black_box(t)))
        });
    }
    group.bench_function("entry_name_01-23-34-a3-e9-09-cc", |b| {
        b.iter(|| MacAddress::from_entry_name(std::hint::black_box("01-23-34-a3-e9-09-cc")))
    });
    group.finish();
}

fn listing(c: &mut Criterion) {
    let mut group = c.benchmark_group("listing");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for hosts in [1_000usize, 10_000, 100_000] {
        group.throughput(Throughput::Elements(hosts as u64));
        group.bench_function(BenchmarkId::new("floor", hosts), |b| {
            let w = shared_world(hosts);
            b.iter(|| floor(&w.folder))
        });
        group.bench_function(BenchmarkId::new("store_entries", hosts), |b| {
            let w = shared_world(hosts);
            b.iter(|| w.pilot.store().entries().expect("entries").pxelinux.len())
        });
        group.bench_function(BenchmarkId::new("hosts", hosts), |b| {
            let w = shared_world(hosts);
            b.iter(|| w.pilot.hosts().expect("hosts").count())
        });
        group.bench_function(BenchmarkId::new("hosts_json", hosts), |b| {
            let w = shared_world(hosts);
            b.iter(|| hosts_json(&w.pilot))
        });
    }
    group.finish();
}

fn lookups_and_deploy(c: &mut Criterion) {
    let mut group = c.benchmark_group("host");
    group.bench_function("by_mac_10k", |b| {
        let w = shared_world(10_000);
        b.iter(|| {
            w.pilot
                .settings()
                .inventory
                .by_mac(&mac(std::hint::black_box(7_777), 1))
                .is_some()
        })
    });
    // What `GET /v1/hosts?mac=` does: find the host, read its entries, resolve them.
    group.bench_function("state_by_mac_10k", |b| {
        let w = shared_world(10_000);
        let target = mac(7_777, 1);
        b.iter(|| {
            w.pilot
                .host_by_mac(std::hint::black_box(&target))
                .expect("host")
                .deployment
        })
    });
    group.bench_function("deploy_one_host_2_nics_with_fsync_10k", |b| {
        let w = shared_world(10_000);
        let mut round = 0usize;
        b.iter(|| {
            round += 1;
            let configuration = ["local", "installer", "rescue"][round % 3];
            let query = by_name(&format!("host-{}", round % 10_000));
            w.pilot.deploy(configuration, &[query]).expect("deploy")
        })
    });
    // Eight threads deploying to their own hosts at once, as the server under 8 clients:
    // the time per deploy, with every deploy synced before it returns.
    const THREADS: usize = 8;
    group.throughput(Throughput::Elements(1));
    group.bench_function("deploy_8_threads_with_fsync_10k", |b| {
        let w = shared_world(10_000);
        b.iter_custom(|iterations| {
            let per_thread = iterations.div_ceil(THREADS as u64) as usize;
            let start = Instant::now();
            std::thread::scope(|scope| {
                for t in 0..THREADS {
                    let pilot = &w.pilot;
                    scope.spawn(move || {
                        for i in 0..per_thread {
                            let configuration = ["local", "installer", "rescue"][i % 3];
                            let query = by_name(&format!("host-{}", 9_000 + t * 100 + i % 100));
                            pilot.deploy(configuration, &[query]).expect("deploy");
                        }
                    });
                }
            });
            start.elapsed() * iterations as u32 / (per_thread * THREADS) as u32
        })
    });
    group.finish();
}

criterion_group!(benches, mac_parsing, listing, lookups_and_deploy);
criterion_main!(benches);
