//! The browser tier, one binary: the operators' page in a real headless Chromium driven over
//! WebDriver (`page.rs`). Without Chromium and chromedriver each test is reported `ignored`
//! (in CI a failure); the tests run one at a time.
//!
//! Run: `cargo test --test browser`.

#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/mod.rs"]
mod common;

mod page;

use common::tier::{self, Test};

/// `page::function` as a [`Test`] that needs the browser and runs alone.
macro_rules! test {
    ($name:ident) => {
        Test::new(concat!("page::", stringify!($name)), page::$name)
            .needs(page::needs)
            .alone()
    };
}

fn main() -> std::process::ExitCode {
    tier::run(vec![
        test!(the_page_and_its_assets_are_served_from_the_binary),
        test!(the_page_lists_filters_and_deploys),
        test!(power_actions_reach_the_bmc),
        test!(the_token_is_asked_for_and_kept_for_the_tab),
        test!(a_thousand_hosts_are_listed),
        test!(unknown_machines_are_listed),
        Test::new(
            "page::the_top_bar_names_the_fleet_and_warns_while_etcd_is_away",
            page::the_top_bar_names_the_fleet_and_warns_while_etcd_is_away,
        )
        .needs(page::etcd_needs)
        .alone(),
    ])
}
