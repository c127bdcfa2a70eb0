//! The real `pxe-pilot` binary against the real server over a temporary TFTP root: every
//! command, its table as the original prints it, `-o json`, `--self`, the token, exit codes.

use crate::{cli, common};
use cli::{fake_sysfs, free_address, path_with_fake_tools, run, run_at};
use common::{Fixture, World, H3_MACS, SEED_MAC};

const HOST_LIST: &str = "\
+------+---------------+-----------------------------------------------------------+-------------------+---------+-------------+
| NAME | CONFIGURATION |                            MAC                            |     MGMT MAC      | MGMT IP | POWER STATE |
+------+---------------+-----------------------------------------------------------+-------------------+---------+-------------+
| h1   |               | 23:34:a3:e9:09:cc                                         |                   |         |             |
| h2   |               | 00:00:00:00:0b:02                                         |                   |         |             |
| h3   |               | 00:00:00:00:0b:03 | 00:00:00:00:0c:03 | 00:00:00:00:0d:03 |                   |         |             |
| h4   |               | 00:00:00:00:0b:04                                         | 00:00:00:00:0a:04 |         | Unknown     |
+------+---------------+-----------------------------------------------------------+-------------------+---------+-------------+
";

#[test]
fn host_list_is_the_originals_table() {
    let world = World::new();
    let server = world.serve();
    assert_eq!(run(&server, &["host", "list"]).ok(), HOST_LIST);
}

#[test]
fn deploy_by_name_and_by_mac_then_list() {
    let world = World::new();
    let server = world.serve();
    let out = run(
        &server,
        &["config", "deploy", "ubuntu-16.04", "h1", H3_MACS[1]],
    )
    .ok();
    assert_eq!(
        out,
        "\
+------+---------------+----------+
| NAME | CONFIGURATION | REBOOTED |
+------+---------------+----------+
| h1   | ubuntu-16.04  | NO       |
| h3   | ubuntu-16.04  | NO       |
+------+---------------+----------+
"
    );
    assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("ubuntu-16.04"));
    for mac in H3_MACS {
        assert_eq!(
            world.deployed(mac).as_deref(),
            Some("ubuntu-16.04"),
            "{mac}"
        );
    }
    let list = run(&server, &["host", "list"]).ok();
    let expected = HOST_LIST
        .replace("| h1   |               |", "| h1   | ubuntu-16.04  |")
        .replace("| h3   |               |", "| h3   | ubuntu-16.04  |");
    assert_eq!(list, expected);
}

#[test]
fn config_list_show_and_bootloader_list() {
    let world = World::new();
    let server = world.serve();
    assert_eq!(
        run(&server, &["config", "list"]).ok(),
        "\
+--------------+------------+
|     NAME     | BOOTLOADER |
+--------------+------------+
| grml-2017.05 |            |
| local        |            |
| ubuntu-16.04 |            |
+--------------+------------+
"
    );
    assert_eq!(
        run(&server, &["config", "show", "ubuntu-16.04"]).ok(),
        "DEFAULT install\nLABEL install\n  KERNEL ubuntu/1604/linux\n  APPEND initrd=ubuntu/1604/initrd.gz auto=true\n"
    );

    let world = Fixture::new().bootloaders().build();
    let server = world.serve();
    assert_eq!(
        run(&server, &["bootloader", "list"]).ok(),
        "\
+----------+-----------------------+---------------+------+
|   NAME   |         FILE          |  CONFIG PATH  | HTTP |
+----------+-----------------------+---------------+------+
| pxelinux | pxelinux.0            | pxelinux.cfg  |      |
| grub     | grubnetx64.efi.signed | grub/grub.cfg | grub |
+----------+-----------------------+---------------+------+
"
    );
    assert_eq!(
        run(&server, &["config", "list"]).ok(),
        "\
+--------------+------------+
|     NAME     | BOOTLOADER |
+--------------+------------+
| local        | pxelinux   |
| ubuntu-16.04 | pxelinux   |
| grml-2017.05 | grub       |
+--------------+------------+
"
    );
}

#[test]
fn power_commands_and_refresh_print_ok_tables() {
    // h4's BMC is found in the ARP table; the fake ipmitool keeps its power state.
    let world = Fixture::new()
        .arp("127.0.0.14       0x1         0x2         00:00:00:00:0a:04     *        eth0\n")
        .build();
    let bmc = tempfile::tempdir().unwrap();
    let server = world
        .server()
        .env("PATH", path_with_fake_tools())
        .env("FAKE_BMC_STATE", bmc.path())
        .start();
    let base = server.base.as_str();
    let h4_row = |state: &str| {
        format!(
            "| h4   |               | {:<57} | 00:00:00:00:0a:04 | 127.0.0.14 | {state:<11} |\n",
            "00:00:00:00:0b:04"
        )
    };
    assert!(run_at(base, &["host", "list"])
        .ok()
        .contains(&h4_row("Off")));
    assert_eq!(
        run_at(base, &["host", "on", "h4"]).ok(),
        "+------+----+\n| NAME | ON |\n+------+----+\n| h4   | OK |\n+------+----+\n"
    );
    assert!(run_at(base, &["host", "list"]).ok().contains(&h4_row("On")));
    assert_eq!(
        run_at(base, &["host", "reboot", "h4"]).ok(),
        "+------+--------+\n| NAME | REBOOT |\n+------+--------+\n| h4   | OK     |\n+------+--------+\n"
    );
    assert_eq!(
        run_at(base, &["host", "off", "h4"]).ok(),
        "+------+-----+\n| NAME | OFF |\n+------+-----+\n| h4   | OK  |\n+------+-----+\n"
    );
    assert!(run_at(base, &["host", "list"])
        .ok()
        .contains(&h4_row("Off")));
    assert_eq!(run_at(base, &["-o", "json", "host", "on", "h4"]).ok(), "");

    let world = World::new();
    let server = world.serve();
    assert_eq!(
        run(&server, &["host", "refresh"]).ok(),
        "+---------+\n| REFRESH |\n+---------+\n| OK      |\n+---------+\n"
    );
}

#[test]
fn json_output_is_the_servers_json_pretty() {
    let world = World::new();
    let server = world.serve();
    let out = run(&server, &["-o", "json", "config", "deploy", "local", "h2"]).ok();
    assert_eq!(
        out,
        "{\n  \"hosts\": [\n    {\n      \"name\": \"h2\",\n      \"configuration\": \"local\",\n      \"rebooted\": \"NO\"\n    }\n  ]\n}\n"
    );
    let out = run(&server, &["host", "list", "--output", "json"]).ok();
    let hosts: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(hosts.as_array().map(Vec::len), Some(4));
    assert_eq!(hosts[1]["name"], "h2");
    assert_eq!(hosts[1]["configuration"]["name"], "local");
    assert_eq!(hosts[2]["macAddresses"][2], H3_MACS[2]);
    assert!(out.starts_with("[\n  {\n    \"name\": \"h1\",\n"), "{out}");
    let out = run(&server, &["-o", "json", "config", "show", "local"]).ok();
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["name"], "local");
    assert!(shown["content"].as_str().unwrap().contains("LOCALBOOT 0"));
}

#[test]
fn deploy_self_finds_this_machine_by_any_of_its_macs() {
    let world = World::new();
    let server = world.serve();
    let dir = tempfile::tempdir().unwrap();
    // A virtual-looking NIC the server does not know, then h3's second NIC.
    let net = fake_sysfs(
        dir.path(),
        &[("eth0", "52:54:00:aa:bb:cc"), ("eth1", H3_MACS[1])],
    );
    let out = cli::pxe_pilot()
        .args(["-s", &server.base, "config", "deploy", "local", "--self"])
        .env("PXE_PILOT_SYSFS_NET", &net)
        .output()
        .unwrap();
    let out = cli::Run::from(out).ok();
    assert_eq!(
        out,
        "\
+------+---------------+----------+
| NAME | CONFIGURATION | REBOOTED |
+------+---------------+----------+
| h3   | local         | NO       |
+------+---------------+----------+
"
    );
    for mac in H3_MACS {
        assert_eq!(world.deployed(mac).as_deref(), Some("local"));
    }

    let other = tempfile::tempdir().unwrap();
    let unknown = fake_sysfs(other.path(), &[("eth9", "52:54:00:99:99:99")]);
    let run = cli::Run::from(
        cli::pxe_pilot()
            .args(["-s", &server.base, "config", "deploy", "local", "--self"])
            .env("PXE_PILOT_SYSFS_NET", &unknown)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("none of its MAC addresses")
            && run.stderr.contains("52:54:00:99:99:99"),
        "{}",
        run.stderr
    );
}

#[test]
fn refusals_exit_1_with_the_servers_message() {
    let world = World::new();
    let server = world.serve();
    for (args, words) in [
        (
            &["config", "deploy", "nope", "h1"][..],
            &["nope", "(HTTP 404)"][..],
        ),
        (&["config", "deploy", "local", "h9"], &["h9", "(HTTP 404)"]),
        (
            &["config", "deploy", "local", "h1", SEED_MAC],
            &["(HTTP 409)"],
        ),
        (&["config", "show", "nope"], &["nope", "(HTTP 404)"]),
        (
            &["host", "on", "h1"],
            &["no power management", "(HTTP 409)"],
        ),
        (&["host", "off", "h9"], &["h9", "(HTTP 404)"]),
    ] {
        let run = run(&server, args);
        assert_eq!(run.code, Some(1), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("pxe-pilot: "), "{}", run.stderr);
        for word in words {
            assert!(run.stderr.contains(word), "{args:?}: {}", run.stderr);
        }
    }
    assert_eq!(world.entries(), vec![], "nothing was deployed");
}

#[test]
fn an_unreachable_server_exits_2() {
    let address = free_address();
    let run = run_at(
        &format!("http://{address}"),
        &["--retry-for", "0", "config", "deploy", "local", "h1"],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run
        .stderr
        .starts_with("pxe-pilot: cannot reach the pxe-pilot server: PUT "));
    assert_eq!(run.stderr.lines().count(), 1);
}

#[test]
fn the_token_unlocks_changes() {
    let world = Fixture::new().token("s3cret").build();
    let server = world.serve();
    assert!(
        run(&server, &["host", "list"]).code == Some(0),
        "reads stay open"
    );
    let refused = run(&server, &["config", "deploy", "local", "h1"]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("(HTTP 401)"), "{}", refused.stderr);
    let wrong = run(
        &server,
        &["--token", "nope", "config", "deploy", "local", "h1"],
    );
    assert_eq!(wrong.code, Some(1));
    run(
        &server,
        &["--token", "s3cret", "config", "deploy", "local", "h1"],
    )
    .ok();
    let from_env = cli::pxe_pilot()
        .args(["-s", &server.base, "config", "deploy", "grml-2017.05", "h1"])
        .env("PXE_PILOT_TOKEN", "s3cret")
        .output()
        .unwrap();
    cli::Run::from(from_env).ok();
    assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("grml-2017.05"));
    assert!(
        !server.logs().contains("s3cret"),
        "the token is never logged"
    );
}
