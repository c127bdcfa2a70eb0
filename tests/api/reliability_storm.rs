//! Concurrency and crashes: no deploy is ever lost or half-done.
//!
//! A storm of concurrent clients deploys random configurations to random multi-NIC hosts
//! (some requests naming several hosts) through the real `pxe-pilot-server`, while a reader
//! thread reads every per-MAC entry through its links as a TFTP server would, and another
//! lists the hosts. Then the same storm against two servers on one TFTP root, against a server
//! killed with SIGKILL at random moments (many rounds), and against a server stopped with
//! SIGTERM. Each test prints its figures (`cargo test --test api reliability_storm:: -- --nocapture`)
//! and its seed; `PXE_PILOT_LONG=1` runs the long versions, `PXE_PILOT_SEED=N` replays one.

use crate::{common, reliability};
use std::time::{Duration, Instant};

use reliability::durability::{change_lines, durability_violations, unserialised_hosts};
use reliability::observers::{Lister, Reader};
use reliability::random::{long, Rng};
use reliability::storm::{Op, Outcome, Storm, StormPlan, Tally};
use reliability::storm_world::{deploy_all, listed_states, StormWorld, STORM_CONFIGURATIONS};

fn plan(duration: Duration) -> StormPlan {
    StormPlan {
        clients: 8,
        duration,
        max_requests_per_client: if long() { 1_000_000 } else { 5_000 },
        multi_host_percent: 25,
        undeploy_percent: 0,
        stop_on_transport_error: false,
    }
}

#[test]
fn a_deploy_storm_loses_nothing_and_leaves_every_host_consistent() {
    let seed = Rng::seed("storm");
    let world = StormWorld::new(12, "");
    let log = world.world.path().join("server.log");
    let server = world.serve(&log);
    let initial: Vec<Option<usize>> = (0..world.hosts.len())
        .map(|h| Some(h % STORM_CONFIGURATIONS.len()))
        .collect();
    deploy_all(&server.base, &world, |h| h % STORM_CONFIGURATIONS.len());
    let duration = if long() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(4)
    };
    let log_before_storm = server.logs().len();
    let limit = duration + Duration::from_secs(60);
    let reader = Reader::start(&world, limit);
    let lister = Lister::start(&world, &server.base, limit);
    let storm = Storm::start(
        &world,
        std::slice::from_ref(&server.base),
        &plan(duration),
        seed,
    );
    let ops = storm.join();
    let (reads, read_problems) = reader.finish();
    let (lists, list_problems) = lister.finish();

    let tally = Tally::of(&ops);
    let states = world.disk_state();
    let inconsistent: Vec<&String> = states.iter().filter_map(|s| s.as_ref().err()).collect();
    let listed = listed_states(&server.base, &world);
    let on_disk: Vec<Option<usize>> = states.iter().map(|s| s.clone().unwrap_or(None)).collect();
    let durability = durability_violations(&world, &initial, &ops);
    let unserialised = unserialised_hosts(
        &server.logs()[log_before_storm..],
        &world,
        &initial,
        &on_disk,
        &ops,
    );
    println!(
        "[storm] {} requests ({} naming several hosts) by 8 clients in {:?}: {} acknowledged, {} 5xx, {} other statuses, {} without answer",
        tally.requests, tally.multi_host, duration, tally.acked, tally.server_errors, tally.other_statuses, tally.transport_errors
    );
    println!(
        "[storm] reader: {} entry reads in {} passes, {} missing/dangling, {} wrong text, {} NIC links not to the first NIC; lister: {} host listings, {} anomalies",
        reads.reads, reads.passes, reads.misses, reads.wrong, reads.bad_links, lists.lists, lists.anomalies
    );
    println!(
        "[storm] end: {} inconsistent hosts, {} listed differently from disk, {} durability violations, {} hosts whose changes did not chain",
        inconsistent.len(),
        listed.iter().zip(&on_disk).filter(|(a, b)| a != b).count(),
        durability.len(),
        unserialised.len()
    );

    assert!(
        tally.requests >= 100,
        "too few requests to prove anything: {tally:?}"
    );
    assert!(tally.multi_host > 0);
    assert_eq!(
        tally.acked,
        tally.requests,
        "failed requests: {:?}",
        Tally::failures(&ops)
    );
    assert!(reads.passes > 10, "the reader barely ran: {reads:?}");
    assert_eq!(
        (reads.misses, reads.wrong, reads.bad_links),
        (0, 0, 0),
        "{read_problems:?}"
    );
    assert_eq!(lists.anomalies, 0, "{list_problems:?}");
    assert!(inconsistent.is_empty(), "{inconsistent:?}");
    assert_eq!(listed, on_disk, "GET /v1/hosts differs from the disk");
    assert!(durability.is_empty(), "{durability:?}");
    assert!(unserialised.is_empty(), "{unserialised:?}");
    assert!(world.temporary_entries().is_empty());
    assert!(!server.logs().contains("ERROR"), "{}", server.logs());
}

#[test]
fn two_servers_on_one_tftp_root_stay_consistent() {
    two_servers_storm(false);
}

#[test]
fn two_servers_in_separate_pid_namespaces_never_take_each_others_writes() {
    // Each server is PID 1 of its own namespace, as in two containers: temporary names built
    // from the PID would collide, and a sweep that asks /proc whether their writer lives
    // would remove the other's live writes. A third server starts in the middle of the
    // storm (its start-up sweep runs while both others write).
    let probe = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .status();
    if !probe.is_ok_and(|status| status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "`unshare --pid --fork` must work in CI (root, util-linux)"
        );
        eprintln!("skipped: `unshare --pid --fork` is not allowed here (needs root)");
        return;
    }
    two_servers_storm(true);
}

/// The storm against two servers on one TFTP root, each in a PID namespace of its own when
/// `namespaces`.
fn two_servers_storm(namespaces: bool) {
    let seed = Rng::seed("two-servers");
    let world = StormWorld::new(8, "");
    let serve = |log: &str| {
        let log = world.world.path().join(log);
        if namespaces {
            world.serve_in_own_pid_namespace(&log)
        } else {
            world.serve(&log)
        }
    };
    let first = serve("server-a.log");
    let second = serve("server-b.log");
    let initial: Vec<Option<usize>> = vec![Some(0); world.hosts.len()];
    deploy_all(&first.base, &world, |_| 0);
    let duration = if long() {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(3)
    };
    let limit = duration + Duration::from_secs(60);
    let reader = Reader::start(&world, limit);
    let lister = Lister::start(&world, &second.base, limit);
    let bases = [first.base.clone(), second.base.clone()];
    let storm = Storm::start(&world, &bases, &plan(duration), seed);
    if namespaces {
        std::thread::sleep(duration / 2);
        drop(serve("server-c.log"));
    }
    let ops = storm.join();
    let (reads, read_problems) = reader.finish();
    let (lists, list_problems) = lister.finish();
    let tally = Tally::of(&ops);
    let states = world.disk_state();
    let inconsistent: Vec<&String> = states.iter().filter_map(|s| s.as_ref().err()).collect();
    let durability = durability_violations(&world, &initial, &ops);
    println!(
        "[two servers{}] {} requests over 2 servers: {} acknowledged, {} 5xx, {} other; reader {} reads, {} missing/dangling, {} wrong; lister {} listings, {} anomalies; {} inconsistent hosts, {} durability violations",
        if namespaces { ", PID namespaces" } else { "" },
        tally.requests, tally.acked, tally.server_errors, tally.other_statuses, reads.reads, reads.misses, reads.wrong, lists.lists, lists.anomalies, inconsistent.len(), durability.len()
    );
    assert!(tally.requests >= 50, "{tally:?}");
    assert_eq!(tally.acked, tally.requests, "{:?}", Tally::failures(&ops));
    assert_eq!(
        (reads.misses, reads.wrong, reads.bad_links),
        (0, 0, 0),
        "{read_problems:?}"
    );
    assert_eq!(lists.anomalies, 0, "{list_problems:?}");
    assert!(inconsistent.is_empty(), "{inconsistent:?}");
    assert!(durability.is_empty(), "{durability:?}");
    let on_disk: Vec<Option<usize>> = states.into_iter().map(|s| s.unwrap_or(None)).collect();
    assert_eq!(listed_states(&first.base, &world), on_disk);
    assert_eq!(listed_states(&second.base, &world), on_disk);
    assert!(world.temporary_entries().is_empty());
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_deploy_and_leaves_nothing_half_done() {
    let seed = Rng::seed("crash");
    let mut rng = Rng::new(seed);
    let world = StormWorld::new(10, "");
    let log = world.world.path().join("server.log");
    let rounds = if long() { 100 } else { 12 };
    let started = Instant::now();
    let round_limit = Duration::from_secs(if long() { 1800 } else { 120 });
    let mut state: Vec<Option<usize>> = vec![None; world.hosts.len()];
    let (mut requests, mut acked, mut unanswered, mut server_errors, mut multi) = (0, 0, 0, 0, 0);
    let mut swept_rounds = 0;
    let mut orphan_rounds = 0;
    let mut done = 0;
    for round in 0..rounds {
        if started.elapsed() > round_limit {
            println!("[crash] stopping after {round} rounds: time limit");
            break;
        }
        let mut server = world.serve(&log);
        // What a restart must show: no temporary entry, every entry resolving, every host
        // consistent, and every acknowledged deploy of the previous round still there. A
        // temporary entry only a few seconds old at start (this round's crash was a moment
        // ago) may be another server's live write: it is removed once it is 3 s old.
        let mut temporary = world.temporary_entries();
        let swept_by = std::time::Instant::now() + Duration::from_secs(5);
        while !temporary.is_empty() && std::time::Instant::now() < swept_by {
            std::thread::sleep(Duration::from_millis(100));
            temporary = world.temporary_entries();
        }
        assert!(
            temporary.is_empty(),
            "round {round}: left after start: {temporary:?}"
        );
        let unresolved = world.unresolved_entries();
        assert!(unresolved.is_empty(), "round {round}: {unresolved:?}");
        let listed = listed_states(&server.base, &world);
        assert_eq!(listed, state, "round {round}: GET /v1/hosts after restart");
        let plan = StormPlan {
            clients: 8,
            duration: Duration::from_secs(10),
            max_requests_per_client: 10_000,
            multi_host_percent: 25,
            undeploy_percent: 15,
            stop_on_transport_error: true,
        };
        let storm = Storm::start(
            &world,
            std::slice::from_ref(&server.base),
            &plan,
            rng.next(),
        );
        std::thread::sleep(Duration::from_millis(20 + rng.below(400) as u64));
        server.kill();
        storm.stop();
        let ops: Vec<Op> = storm.join();
        let tally = Tally::of(&ops);
        requests += tally.requests;
        acked += tally.acked;
        unanswered += tally.transport_errors;
        server_errors += tally.server_errors;
        multi += tally.multi_host;
        assert_eq!(
            tally.server_errors + tally.other_statuses,
            0,
            "round {round}: {:?}",
            Tally::failures(&ops)
        );
        if !world.temporary_entries().is_empty() {
            swept_rounds += 1;
        }
        if !world.unresolved_entries().is_empty() {
            orphan_rounds += 1;
        }
        // Before the restart the hosts must already read consistently: a TFTP server does not
        // wait for pxe-pilot to come back. (Dangling links of other NICs whose first NIC has no
        // entry read as "no entry", like the bootloader sees them.)
        let violations = durability_violations(&world, &state, &ops);
        assert!(
            violations.is_empty(),
            "round {round} (seed {seed}): {violations:?}"
        );
        state = world
            .disk_state()
            .into_iter()
            .map(|s| s.unwrap_or(None))
            .collect();
        done += 1;
    }
    let server = world.serve(&log);
    assert!(world.temporary_entries().is_empty());
    assert!(
        world.unresolved_entries().is_empty(),
        "{:?}",
        world.unresolved_entries()
    );
    assert_eq!(listed_states(&server.base, &world), state);
    println!(
        "[crash] {done} SIGKILL rounds: {requests} requests ({multi} naming several hosts, some undeploys), {acked} acknowledged, {unanswered} cut off by the kill, {server_errors} 5xx; {swept_rounds} rounds left temporary entries and {orphan_rounds} links of an unfinished first deploy or undeploy, all removed at restart; 0 lost acknowledged deploys, 0 inconsistent hosts"
    );
    assert!(done >= rounds.min(5), "only {done} rounds ran");
    assert!(acked > 0);
}

#[test]
fn sigterm_mid_storm_finishes_the_deploys_in_flight_and_exits_0() {
    let seed = Rng::seed("sigterm");
    let world = StormWorld::new(8, "");
    let log = world.world.path().join("server.log");
    let mut server = world.serve(&log);
    deploy_all(&server.base, &world, |_| 1);
    let initial = vec![Some(1); world.hosts.len()];
    let log_before_storm = server.logs().len();
    let plan = StormPlan {
        clients: 8,
        duration: Duration::from_secs(10),
        max_requests_per_client: 10_000,
        multi_host_percent: 25,
        undeploy_percent: 0,
        stop_on_transport_error: true,
    };
    let storm = Storm::start(&world, std::slice::from_ref(&server.base), &plan, seed);
    std::thread::sleep(Duration::from_millis(300));
    let epoch = storm.epoch;
    server.sigterm();
    let signalled = Instant::now();
    let signalled_at = signalled - epoch;
    let status = server.wait_exit(Duration::from_secs(40));
    let stopped_in = signalled.elapsed();
    storm.stop();
    let ops = storm.join();
    let tally = Tally::of(&ops);
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let storm_logs = &logs[log_before_storm..];
    let refused = ops
        .iter()
        .filter(
            |op| matches!(&op.outcome, Outcome::Transport(e) if e.contains("Connection refused")),
        )
        .count();
    let processed = change_lines(storm_logs);
    let in_flight = ops
        .iter()
        .filter(|op| op.sent < signalled_at && op.answered.is_some_and(|a| a > signalled_at))
        .count();
    let deployed_hosts: usize = ops
        .iter()
        .filter(|op| op.acked())
        .map(|op| op.hosts.len())
        .sum();
    println!(
        "[sigterm] {} requests: {} acknowledged, {} 5xx, {} other statuses, {} without answer ({refused} refused after the listener closed, {} on a keep-alive connection closed while idle); {in_flight} in flight at SIGTERM and answered 200; {processed} host changes logged for {deployed_hosts} acknowledged; exit {status:?} {stopped_in:?} after SIGTERM",
        tally.requests, tally.acked, tally.server_errors, tally.other_statuses, tally.transport_errors, tally.transport_errors - refused
    );
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{logs}");
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert_eq!(
        tally.server_errors + tally.other_statuses,
        0,
        "{:?}",
        Tally::failures(&ops)
    );
    assert!(tally.acked > 0);
    // In-flight deploys finished: every host change the server made was answered (a request
    // without answer was never processed), and the changes chain per host.
    assert_eq!(
        processed, deployed_hosts,
        "a deploy was processed but not answered"
    );
    // Nothing was cut in the middle: no temporary entry, no broken link, every host on the
    // configuration of a request that may have been last.
    assert!(
        world.temporary_entries().is_empty(),
        "{:?}",
        world.temporary_entries()
    );
    assert!(world.unresolved_entries().is_empty());
    let violations = durability_violations(&world, &initial, &ops);
    assert!(violations.is_empty(), "{violations:?}");
    let on_disk: Vec<Option<usize>> = world
        .disk_state()
        .into_iter()
        .map(|s| s.unwrap_or(None))
        .collect();
    let unserialised = unserialised_hosts(storm_logs, &world, &initial, &on_disk, &ops);
    assert!(unserialised.is_empty(), "{unserialised:?}");
}

#[test]
fn a_new_bootloader_folder_is_synced_in_its_parent_before_an_entry_goes_in() {
    // A first deploy to a GRUB configuration creates `grub/`: the folder must be durable
    // (its parent synced) before the entry that the PXELINUX switch relies on is put in it,
    // or a power cut could lose the folder with the entry. Seen in the server's system calls.
    if !on_path("strace") {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace must be installed in CI"
        );
        eprintln!("skipped: strace is not installed (Debian: strace)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("tftp/pxelinux.cfg/conf");
    for path in ["pxelinux/local", "grub/grml"] {
        let file = conf.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, path).unwrap();
    }
    let config = dir.path().join("pxe-pilot.yml");
    std::fs::write(
        &config,
        "hosts:\n  - {name: h1, mac_addresses: ['52:54:00:aa:00:01']}\n\
         tftp: {root: tftp}\n\
         configuration:\n  directory: tftp/pxelinux.cfg/conf\n  bootloaders:\n\
         \x20   - {name: pxelinux, file: pxelinux.0, config_path: pxelinux.cfg}\n\
         \x20   - {name: grub, file: grubx64.efi, config_path: grub/grub.cfg, mac_entry: 'grub/grub.cfg-01-{mac}'}\n",
    )
    .unwrap();
    let trace = dir.path().join("strace.txt");
    let server = common::TestServer::builder()
        .config(&config)
        .wrapped_in(["strace", "-f", "-qq", "-e", "trace=mkdirat,fsync,symlinkat"])
        .wrapped_in([std::ffi::OsStr::new("-o"), trace.as_os_str()])
        .start();
    let answer = reqwest::blocking::Client::new()
        .put(server.url("/v1/configurations/grml/deploy"))
        .body(r#"{"hosts":[{"name":"h1"}]}"#)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(dir
        .path()
        .join("tftp/grub/grub.cfg-01-52-54-00-aa-00-01")
        .is_symlink());
    drop(server);

    let calls = std::fs::read_to_string(&trace).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    let created = calls
        .iter()
        .position(|call| call.contains(r#"mkdirat("#) && call.contains(r#", "grub", "#))
        .unwrap_or_else(|| panic!("no mkdirat of grub: {calls:#?}"));
    // mkdirat(FD, "grub", 0755) = 0: FD is the TFTP root's descriptor.
    let parent = calls[created]
        .split("mkdirat(")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap();
    let synced = calls[created..]
        .iter()
        .position(|call| call.contains(&format!("fsync({parent})")) && call.ends_with("= 0"))
        .map(|i| created + i)
        .unwrap_or_else(|| panic!("the root is not synced after mkdirat: {calls:#?}"));
    let first_entry = calls
        .iter()
        .position(|call| call.contains("symlinkat(") && call.contains("grub.cfg-01-"))
        .unwrap_or_else(|| panic!("no grub entry written: {calls:#?}"));
    assert!(
        synced < first_entry,
        "grub/ is synced in its parent before its first entry: {calls:#?}"
    );
}

/// Whether `program` is on the `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
