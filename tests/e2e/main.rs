//! The end-to-end tier, one binary: the real binaries against the real tools a PXE server runs
//! (QEMU with iPXE, PXELINUX and GRUB 2, tftpd-hpa, dnsmasq, OpenIPMI's ipmi_sim, sushy-tools'
//! Redfish emulator, promtool, network namespaces) and the package. Each test is listed below
//! with what it needs of the system: a machine without it reports the test `ignored` (in CI,
//! where the tier must run, a failure); a test marked `alone` (a VM, a build) runs while no
//! other such test does. Harness in `harness/` (`e2e::`), shared world in `../common/`.
//!
//! Run: `cargo test --test e2e` (`-- --list`, or a name filter, as with libtest).

#[path = "harness/bmc/mod.rs"]
mod bmc;
#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/mod.rs"]
mod common;
#[path = "harness/mod.rs"]
mod e2e;
#[path = "harness/tftpd.rs"]
mod tftpd;

mod cli_static;
mod demo;
mod etcd;
mod etcd_cluster;
mod grub_boot;
mod grub_entries;
mod grub_http;
mod http_boot;
mod ipmi;
mod operations;
mod packaging;
mod pxe_boot;
mod redfish;
mod reprovision;
mod self_service;
mod tftp_pxe_boot;
mod tftp_secure;
mod tftp_serve;

use common::tier::{self, Need, Test};

/// `module::function` as a [`Test`] named so (the name filters match).
macro_rules! test {
    ($module:ident :: $name:ident) => {
        Test::new(
            concat!(stringify!($module), "::", stringify!($name)),
            $module::$name,
        )
    };
}

fn main() -> std::process::ExitCode {
    tier::run(vec![
        Test::new(
            "bmc::vm::a_serial_log_is_cut_into_boots",
            bmc::vm::checks::a_serial_log_is_cut_into_boots,
        ),
        Test::new(
            "bmc::vm::the_boot_sector_carries_the_marker_and_the_signature",
            bmc::vm::checks::the_boot_sector_carries_the_marker_and_the_signature,
        ),
        test!(cli_static::the_client_builds_as_one_small_static_binary_that_runs)
            .needs(cli_static::needs)
            .alone(),
        test!(demo::a_fresh_clone_runs_the_readme_demo_and_the_cli_lists_its_hosts)
            .needs(|| vec![Need::Command("git", "git")])
            .alone(),
        test!(etcd::two_servers_share_one_state_and_boot_from_their_mirrors_when_etcd_is_away)
            .needs(etcd::needs),
        test!(etcd::the_status_names_the_store_the_servers_seen_and_etcd_away).needs(etcd::needs),
        test!(etcd::one_server_becomes_several_through_the_seed_command).needs(etcd::needs),
        test!(etcd::boot_events_wait_for_etcd_in_a_bounded_line_and_the_ones_dropped_are_counted)
            .needs(etcd::needs),
        test!(etcd::etcd_over_tls_with_a_client_certificate_and_a_user).needs(etcd::tls_needs),
        test!(etcd_cluster::a_storm_through_two_servers_loses_no_acknowledged_change_through_a_leader_kill)
            .needs(etcd::needs)
            .alone(),
        test!(etcd_cluster::quorum_lost_boots_go_on_and_changes_503_then_converge)
            .needs(etcd::needs)
            .alone(),
        test!(etcd_cluster::a_server_cut_off_alone_and_compaction_while_away_converge)
            .needs(etcd::needs)
            .alone(),
        test!(etcd_cluster::once_is_consumed_once_in_the_fleet_and_every_server_restarts_intact)
            .needs(etcd::needs)
            .alone(),
        test!(grub_boot::grub_2_boots_the_configuration_deployed_to_its_mac_and_falls_back_once_it_is_switched)
            .needs(e2e::grub::needs)
            .alone(),
        test!(grub_entries::grub_entries_are_served_for_every_nic_and_disappear_when_the_host_switches_to_pxelinux)
            .needs(tftpd::needs),
        test!(grub_http::grub_2_fetches_its_rendered_configuration_over_http_then_the_hand_over)
            .needs(grub_http::needs)
            .alone(),
        test!(http_boot::a_vm_boots_over_http_only_installs_calls_back_then_hands_over_and_boots_once)
            .needs(http_boot::needs)
            .alone(),
        test!(ipmi::ipmi_power_and_network_boot_once_against_ipmi_sim).needs(ipmi::needs),
        test!(operations::check_validates_a_configuration_file_and_exits_0_or_1_with_one_line),
        test!(operations::sighup_reloads_a_valid_file_and_keeps_the_old_one_when_the_new_is_broken),
        test!(operations::metrics_are_read_by_prometheus_own_parser)
            .needs(|| vec![Need::Command("promtool", "prometheus")]),
        test!(operations::an_answered_change_is_in_the_events_after_a_sigkill),
        test!(packaging::the_shipped_man_page_and_completions_are_what_the_cli_generates),
        test!(packaging::the_unit_runs_the_server_hardened_as_its_own_user),
        test!(packaging::the_default_configuration_starts_the_server_and_hands_out_the_client),
        test!(packaging::the_deb_package_holds_binaries_unit_conffile_man_page_completions_and_scripts)
            .needs(packaging::deb_needs)
            .alone(),
        test!(packaging::the_stated_rust_version_is_the_one_the_locked_dependencies_need),
        test!(packaging::no_document_renders_the_token_into_a_boot_script),
        test!(pxe_boot::a_vm_pxe_boots_the_installer_calls_back_and_then_boots_local)
            .needs(pxe_boot::needs)
            .alone(),
        test!(pxe_boot::modules_dep_order_puts_dependencies_first),
        test!(redfish::redfish_power_and_network_boot_once_against_sushy_emulator)
            .needs(redfish::needs),
        test!(redfish::redfish_system_named_through_a_redirect).needs(redfish::needs),
        test!(reprovision::deploy_now_network_boots_once_the_installer_calls_back_and_the_disk_boots_next)
            .needs(reprovision::needs)
            .alone(),
        test!(self_service::the_callback_works_under_the_packaged_unit_s_view_of_proc)
            .needs(self_service::unit_needs),
        test!(self_service::a_host_deploys_local_to_itself_without_the_token_from_its_own_address_only)
            .needs(self_service::own_address_needs),
        test!(tftp_pxe_boot::a_vm_boots_over_pxe_pilot_s_own_tftp_the_installer_once_then_its_disk)
            .needs(tftp_pxe_boot::needs)
            .alone(),
        test!(tftp_secure::deployed_entries_are_served_by_tftpd_hpa_secure_before_and_after_a_switch)
            .needs(tftpd::needs),
        test!(tftp_secure::an_absolute_link_target_is_file_not_found_under_tftpd_hpa_secure)
            .needs(tftpd::needs),
        test!(tftp_serve::a_per_mac_entry_read_over_pxe_pilot_s_tftp_is_a_boot_and_once_falls_back)
            .needs(|| vec![Need::Command("tftp", "tftp-hpa")]),
        test!(tftp_serve::the_readme_tour_boots_the_demo_s_pxelinux_host_once_into_its_installer_then_its_disk)
            .needs(tftp_serve::tour_needs)
            .alone(),
        test!(tftp_serve::the_unit_s_one_capability_lets_its_unprivileged_user_serve_tftp_on_port_69)
            .needs(tftp_serve::capability_needs),
        test!(tftp_serve::tftp_without_tftp_serve_is_refused_with_what_to_add),
    ])
}
