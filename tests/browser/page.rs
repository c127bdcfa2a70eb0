//! The operators' page at `/` in a real browser: Debian's headless Chromium driven through
//! `chromedriver` (WebDriver, with fantoccini) against the real `pxe-pilot-server` binary over
//! a temporary world. What a person does on the page is done with clicks and keys, and what
//! it changed is read back from the disk (the per-MAC links) and from the fake BMC
//! (`tests/fake-tools/ipmitool`): listing and filtering, a deploy, a power action behind the
//! in-page confirmation, the token prompt, 1,000 hosts; with an etcd store (a real etcd
//! member), the top bar naming the servers that share it and warning while etcd is away.
//!
//! Needs `apt-get install chromium chromium-driver`. Without them, with `CI` unset, each
//! browser test is reported `ignored` (counted); with `CI` set it fails. The browser tests run
//! one at a time (each starts its own chromedriver and Chromium). Screenshots are written to
//! `target/e2e-artifacts/browser/` (and `failure-<test>.png` when a test fails).
//!
//! Run: `cargo test --test browser`.

use crate::common::tier::{find_command, Need};
use crate::{cli, common};
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{
    node_mac, node_name, Fixture, World, H1, H2, H2_MAC, H3, H3_MACS, H4, SEED_MAC, UNKNOWN_MAC,
};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a condition on the page may take to become true.
const WAIT: Duration = Duration::from_secs(30);

// ---- The browser ---------------------------------------------------------------------------

/// The programs a browser test runs.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// Chromium (`chromium` or `chromium-browser`) and chromedriver on `PATH`.
pub fn needs() -> Vec<Need> {
    vec![
        Need::Found(
            find_command("chromium")
                .or_else(|| find_command("chromium-browser"))
                .is_some(),
            "command `chromium`",
            "chromium",
        ),
        Need::Command("chromedriver", "chromium-driver"),
    ]
}

/// Chromium and chromedriver (the tier checked [`needs`]).
fn tools() -> Tools {
    Tools {
        chromium: find_command("chromium")
            .or_else(|| find_command("chromium-browser"))
            .expect("chromium (the tier checked it)"),
        chromedriver: find_command("chromedriver").expect("chromedriver (the tier checked it)"),
    }
}

/// One browser test at a time: each runs a Chromium, and the machine may have two cores.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `target/e2e-artifacts/browser/` of the build that made this test.
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in target/<profile>/deps/");
    let dir = target.join("e2e-artifacts/browser");
    fs::create_dir_all(&dir).expect("create the artifacts folder");
    dir
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// chromedriver and the Chromium it drives, a fresh profile, and a WebDriver session.
/// Closing it (or dropping it) ends the session and kills chromedriver's process group.
struct Browser {
    test: &'static str,
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port, waits for it, and opens a session of headless
    /// Chromium (`width` x `height` window).
    fn start(test: &'static str, tools: &Tools, width: u32, height: u32) -> Browser {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let profile = tempfile::Builder::new()
            .prefix("pxe-pilot-chromium-")
            .tempdir()
            .expect("a profile folder");
        let log = artifacts().join(format!("{test}.chromedriver.log"));
        // A failure's screenshot is of this run only.
        let _ = fs::remove_file(artifacts().join(format!("failure-{test}.png")));
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut driver = spawn_driver(tools, port, &log);
            match wait_for_driver(&mut driver, port) {
                Ok(()) => {
                    let client =
                        runtime.block_on(session(tools, port, profile.path(), width, height));
                    match client {
                        Ok(client) => {
                            return Browser {
                                test,
                                runtime,
                                client: Some(client),
                                driver,
                                _profile: profile,
                            }
                        }
                        Err(e) => last_error = format!("no WebDriver session: {e}"),
                    }
                }
                Err(e) => last_error = e,
            }
            kill_group(&mut driver);
        }
        panic!(
            "{test}: chromedriver did not start: {last_error}; its log {}:\n{}",
            log.display(),
            tail(&fs::read_to_string(&log).unwrap_or_default(), 30)
        );
    }

    /// The WebDriver client.
    fn client(&self) -> Client {
        self.client.clone().expect("an open session")
    }

    /// Runs the steps of a test.
    fn run<T>(&self, steps: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(steps)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let test = self.test;
            self.runtime.block_on(async {
                if std::thread::panicking() {
                    let path = artifacts().join(format!("failure-{test}.png"));
                    if let Ok(png) = client.screenshot().await {
                        let _ = fs::write(&path, png);
                        let _ = writeln!(
                            std::io::stderr(),
                            "{test}: the page when it failed: {}",
                            path.display()
                        );
                    }
                }
                let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
            });
        }
        kill_group(&mut self.driver);
    }
}

/// chromedriver in a process group of its own, so that it and its Chromium are ended
/// together.
fn spawn_driver(tools: &Tools, port: u16, log: &Path) -> Child {
    use std::os::unix::process::CommandExt;
    let out = fs::File::create(log).expect("create the chromedriver log");
    let err = out.try_clone().expect("clone the log file");
    Command::new(&tools.chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .expect("start chromedriver")
}

/// Waits until chromedriver answers `GET /status` with `ready: true`.
fn wait_for_driver(driver: &mut Child, port: u16) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{port}/status");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("chromedriver exited: {status}"));
        }
        if let Ok(response) = http.get(&url).send() {
            if let Ok(body) = response.json::<Value>() {
                if body["value"]["ready"] == json!(true) {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("no answer on {url} after 20 s"))
}

/// A session of headless Chromium with the flags this machine needs (no sandbox as root, no
/// background connections on a closed network) and a fresh profile.
async fn session(
    tools: &Tools,
    port: u16,
    profile: &Path,
    width: u32,
    height: u32,
) -> Result<Client, String> {
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={width},{height}"),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": tools.chromium.display().to_string(),
            "args": args,
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .map_err(|e| e.to_string())
}

/// Kills a child's whole process group (chromedriver and the Chromium it started), then
/// reaps the child.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `n` lines of a text.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---- Steps on the page ---------------------------------------------------------------------

/// Runs `script` (a function body that returns a value) in the page.
async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// What the page shows to say what went wrong, for a failure message.
async fn page_state(c: &Client) -> String {
    js(
        c,
        "const n = document.getElementById('notice');
         const t = document.getElementById('token-message');
         return `state=${document.body.dataset.state} power=${document.body.dataset.power} \
busy=${document.body.dataset.busy} notice=${n.hidden ? '-' : n.innerText} \
token-dialog=${document.getElementById('token').open} (${t.textContent}) \
confirm-dialog=${document.getElementById('confirm').open}`;",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Waits until the JavaScript expression `condition` is true in the page.
async fn wait_until(c: &Client, condition: &str, what: &str) {
    let started = Instant::now();
    loop {
        let value = js(c, &format!("return Boolean({condition});")).await;
        if value == json!(true) {
            return;
        }
        if started.elapsed() > WAIT {
            panic!(
                "waited {WAIT:?} for {what} ({condition}); the page: {}",
                page_state(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens the page and waits until its table is built.
async fn open(c: &Client, base: &str) {
    c.goto(&format!("{base}/")).await.expect("open the page");
    wait_until(
        c,
        "document.body.dataset.state === 'ready'",
        "the hosts' table",
    )
    .await;
}

/// The names of the rows shown, in their order.
async fn shown_rows(c: &Client) -> Vec<String> {
    let names = js(
        c,
        "return Array.from(document.querySelectorAll('#hosts tr:not([hidden])'), r => r.dataset.name);",
    )
    .await;
    serde_json::from_value(names).expect("a list of names")
}

/// The text of a host's row.
async fn row_text(c: &Client, host: &str) -> String {
    c.find(Locator::Css(&format!("#hosts tr[data-name=\"{host}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no row for {host}: {e}"))
        .text()
        .await
        .expect("the row's text")
}

/// Types `text` into the filter and presses Enter.
async fn filter(c: &Client, text: &str) {
    let input = c.find(Locator::Id("filter")).await.expect("the filter");
    input.clear().await.expect("clear the filter");
    let keys = format!("{text}{}", fantoccini::key::Key::Enter);
    input.send_keys(&keys).await.expect("type in the filter");
}

/// Clicks a host's checkbox.
async fn toggle(c: &Client, host: &str) {
    c.find(Locator::Css(&format!(
        "#hosts tr[data-name=\"{host}\"] input[name=host]"
    )))
    .await
    .unwrap_or_else(|e| panic!("no checkbox for {host}: {e}"))
    .click()
    .await
    .expect("click the checkbox");
}

/// Clicks the element `css`.
async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Picks a configuration in the actions bar.
async fn choose(c: &Client, configuration: &str) {
    c.find(Locator::Id("configuration"))
        .await
        .expect("the configuration menu")
        .select_by_value(configuration)
        .await
        .expect("pick the configuration");
}

/// Waits for the notice that ends an action and returns its text.
async fn notice(c: &Client, containing: &str) -> String {
    let quoted = serde_json::to_string(containing).expect("a JSON string");
    wait_until(
        c,
        &format!(
            "!document.getElementById('notice').hidden && document.getElementById('notice').innerText.includes({quoted}) && document.body.dataset.busy === 'false'"
        ),
        &format!("a notice with {containing:?}"),
    )
    .await;
    js(c, "return document.getElementById('notice').innerText;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Whether the notice is an error.
async fn notice_is_error(c: &Client) -> bool {
    js(
        c,
        "return document.getElementById('notice').classList.contains('error');",
    )
    .await
        == json!(true)
}

/// Saves a screenshot of the viewport to the artifacts folder; returns its path.
async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let png = c.screenshot().await.expect("a screenshot");
    let path = artifacts().join(name);
    fs::write(&path, png).expect("write the screenshot");
    let _ = writeln!(std::io::stderr(), "screenshot: {}", path.display());
    path
}

/// A deploy through the API (to prepare a world).
fn api_deploy(base: &str, configuration: &str, hosts: &[String], token: Option<&str>) {
    let body = json!({ "hosts": hosts.iter().map(|h| json!({"name": h})).collect::<Vec<_>>() });
    let mut request = reqwest::blocking::Client::new()
        .put(format!("{base}/v1/configurations/{configuration}/deploy"))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().expect("deploy through the API");
    assert!(
        response.status().is_success(),
        "{}",
        response.text().unwrap_or_default()
    );
}

/// The target of a MAC's entry as written on disk.
fn link(world: &World, mac: &str) -> Option<String> {
    world.link(mac).map(|p| p.display().to_string())
}

// ---- Tests ---------------------------------------------------------------------------------

/// The page, its script and its style are served from the binary with their types, no-cache
/// and a strict policy; the API's JSON 404 stays for other paths. (No browser needed.)
pub fn the_page_and_its_assets_are_served_from_the_binary() {
    let world = World::new();
    let server = world.serve();
    let http = reqwest::blocking::Client::new();
    for (path, content_type, needle) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<script src=\"/ui/app.js\" defer>",
        ),
        (
            "/ui/app.js",
            "text/javascript; charset=utf-8",
            "'use strict'",
        ),
        ("/ui/app.css", "text/css; charset=utf-8", ":root"),
    ] {
        let response = http.get(server.url(path)).send().expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(header("content-type"), content_type, "{path}");
        assert_eq!(header("cache-control"), "no-cache", "{path}");
        let policy = header("content-security-policy");
        assert!(
            policy.starts_with("default-src 'self';"),
            "{path}: {policy}"
        );
        assert!(policy.contains("script-src 'self';"), "{path}: {policy}");
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        let body = response.text().expect("the body");
        assert!(body.contains(needle), "{path}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} names a URL"
        );
    }
    // HEAD too; the other methods are the API's JSON 405.
    let head = http.head(server.url("/")).send().expect("HEAD /");
    assert_eq!(head.status(), 200);
    let post = http.post(server.url("/")).send().expect("POST /");
    assert_eq!(post.status(), 405);
    assert!(post.text().unwrap().contains("use GET or HEAD"));
    // Trailing slashes are trimmed as for the API; other unknown paths are the JSON 404.
    assert_eq!(
        http.get(server.url("/ui/app.js/")).send().unwrap().status(),
        200
    );
    for path in ["/ui", "/ui/other.js", "/index.html", "/v1/"] {
        let response = http.get(server.url(path)).send().expect("GET");
        let status = response.status();
        let text = response.text().unwrap();
        if path == "/v1/" {
            assert!(
                status == 404 && text.contains("no route GET /v1"),
                "{path}: {text}"
            );
        } else {
            assert_eq!(status, 404, "{path}");
            assert!(
                text.starts_with("{\"message\":\"no route GET"),
                "{path}: {text}"
            );
        }
    }
    // The API is unchanged beside it.
    assert_eq!(
        http.get(server.url("/v1/hosts?status=false"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

/// (a) every host is listed, sorted, with its configuration (a dangling one shown as such);
/// (b) the filter narrows the rows by name, MAC or configuration; (c) a deploy from the page
/// writes the links; a deploy with reboot asks first; a host's events; the phone layout.
pub fn the_page_lists_filters_and_deploys() {
    let tools = tools();
    let _one = one_at_a_time();
    let world = World::new();
    let server = world.serve();
    // h2: an entry written by hand that leads nowhere; h3 boots `local`.
    std::os::unix::fs::symlink("conf/gone-2016", world.entry(H2_MAC)).expect("a dangling link");
    api_deploy(&server.base, "local", &[H3.to_owned()], None);

    let browser = Browser::start("lists_filters_deploys", &tools, 1280, 800);
    let c = browser.client();
    browser.run(async {
        open(&c, &server.base).await;
        assert_eq!(shown_rows(&c).await, [H1, H2, H3, H4]);
        assert_eq!(c.title().await.unwrap(), "pxe-pilot");
        let h2 = row_text(&c, H2).await;
        assert!(h2.contains("gone-2016") && h2.contains("dangling"), "{h2}");
        assert!(row_text(&c, H3).await.contains("local"));
        assert!(row_text(&c, H3).await.contains(H3_MACS[2]));
        assert!(row_text(&c, H1).await.contains("none"));
        // The power states come in the background: h4 has a BMC no ARP entry resolves.
        wait_until(&c, "document.body.dataset.power === 'loaded'", "the power states").await;
        assert!(row_text(&c, H4).await.contains("Unknown"), "{}", row_text(&c, H4).await);
        assert!(row_text(&c, H1).await.contains('—'));
        screenshot(&c, "page-small.png").await;

        // (b) Filter: by name, by another spelling of a second MAC, by configuration.
        filter(&c, "h3").await;
        assert_eq!(shown_rows(&c).await, [H3]);
        let count = c.find(Locator::Id("count")).await.unwrap().text().await.unwrap();
        assert_eq!(count, "1 of 4 hosts");
        filter(&c, &H3_MACS[1].replace(':', "-").to_uppercase()).await;
        assert_eq!(shown_rows(&c).await, [H3]);
        filter(&c, "local").await;
        assert_eq!(shown_rows(&c).await, [H3]);
        filter(&c, "no-such-host").await;
        assert!(shown_rows(&c).await.is_empty());
        assert!(c.find(Locator::Id("empty")).await.unwrap().is_displayed().await.unwrap());
        filter(&c, "").await;
        assert_eq!(shown_rows(&c).await, [H1, H2, H3, H4]);

        // Sorting by configuration, then back by name.
        click(&c, "th[data-sort=configuration] button").await;
        assert_eq!(shown_rows(&c).await, [H2, H3, H1, H4]);
        click(&c, "th[data-sort=name] button").await;
        assert_eq!(shown_rows(&c).await, [H1, H2, H3, H4]);

        // (c) Deploy ubuntu-16.04 to h1 (no reboot: no question asked).
        let deploy_enabled = || async {
            c.find(Locator::Id("deploy")).await.unwrap().is_enabled().await.unwrap()
        };
        assert!(!deploy_enabled().await, "Deploy is enabled with no host selected");
        toggle(&c, H1).await;
        choose(&c, "ubuntu-16.04").await;
        click(&c, "#deploy").await;
        let text = notice(&c, "ubuntu-16.04 deployed to h1").await;
        assert!(!notice_is_error(&c).await, "{text}");
        assert_eq!(link(&world, SEED_MAC).as_deref(), Some("conf/ubuntu-16.04"));
        assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("ubuntu-16.04"));
        assert!(row_text(&c, H1).await.contains("ubuntu-16.04"));

        // Deploy with reboot asks first; Cancel changes nothing.
        click(&c, "#reboot").await;
        choose(&c, "grml-2017.05").await;
        click(&c, "#deploy").await;
        wait_until(&c, "document.getElementById('confirm').open", "the confirmation").await;
        let question = c.find(Locator::Id("confirm")).await.unwrap().text().await.unwrap();
        assert!(question.contains("Deploy grml-2017.05 and reboot?"), "{question}");
        assert!(question.contains(H1), "{question}");
        // The safe choice has the focus: Enter now would cancel.
        let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
        assert_eq!(focused.as_deref(), Some("confirm-cancel"));
        click(&c, "#confirm-cancel").await;
        wait_until(&c, "!document.getElementById('confirm').open", "the dialog closed").await;
        assert_eq!(link(&world, SEED_MAC).as_deref(), Some("conf/ubuntu-16.04"));
        click(&c, "#reboot").await;

        // Two hosts at once, one of them dangling before.
        toggle(&c, H2).await;
        let selection = c.find(Locator::Id("selection")).await.unwrap().text().await.unwrap();
        assert_eq!(selection, "2 hosts selected");
        click(&c, "#deploy").await;
        notice(&c, "grml-2017.05 deployed to 2 hosts").await;
        assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("grml-2017.05"));
        assert_eq!(world.deployed(H2_MAC).as_deref(), Some("grml-2017.05"));
        assert!(!row_text(&c, H2).await.contains("dangling"));

        // A selected host hidden by the filter is left out of an action.
        filter(&c, H1).await;
        let selection = c.find(Locator::Id("selection")).await.unwrap().text().await.unwrap();
        assert_eq!(selection, "1 host selected: h1 (1 hidden by the filter, left out)");
        choose(&c, "local").await;
        click(&c, "#deploy").await;
        notice(&c, "local deployed to h1").await;
        assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("local"));
        assert_eq!(world.deployed(H2_MAC).as_deref(), Some("grml-2017.05"));
        filter(&c, "").await;

        // Undeploy asks first, then removes the links: h2 boots the TFTP default.
        toggle(&c, H1).await; // h2 stays selected
        click(&c, "button[data-action=undeploy]").await;
        wait_until(&c, "document.getElementById('confirm').open", "the confirmation").await;
        click(&c, "#confirm-ok").await;
        notice(&c, "Undeploy: h2 undeployed").await;
        assert_eq!(link(&world, H2_MAC), None);
        assert!(row_text(&c, H2).await.contains("none"));

        // From the keyboard: Space ticks a checkbox, Tab moves on with a visible focus ring.
        let h3_box = c
            .find(Locator::Css("#hosts tr[data-name=\"h3\"] input[name=host]"))
            .await
            .unwrap();
        h3_box.send_keys(" ").await.unwrap();
        assert!(h3_box.is_selected().await.unwrap());
        let selection = c.find(Locator::Id("selection")).await.unwrap().text().await.unwrap();
        assert_eq!(selection, "2 hosts selected");
        c.find(Locator::Id("filter"))
            .await
            .unwrap()
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
        let ring = js(
            &c,
            "const e = document.activeElement; const s = getComputedStyle(e); return [e.id, s.outlineStyle, s.outlineWidth];",
        )
        .await;
        assert_eq!(ring, json!(["configuration", "solid", "3px"]));

        // Events: h1's deploys made from the page, newest first.
        click(&c, "#hosts tr[data-name=\"h1\"] button[data-events]").await;
        wait_until(
            &c,
            "document.getElementById('events').open && document.getElementById('events-status').textContent.startsWith('The last')",
            "the events dialog",
        )
        .await;
        let rows = js(
            &c,
            "return Array.from(document.querySelectorAll('#events-rows tr'), r => r.textContent);",
        )
        .await;
        let rows: Vec<String> = serde_json::from_value(rows).unwrap();
        assert!(rows.len() >= 2, "{rows:?}");
        assert!(rows[0].contains("deploy") && rows[0].contains("grml-2017.05"), "{rows:?}");
        assert!(rows[1].contains("ubuntu-16.04"), "{rows:?}");
        let title = c.find(Locator::Id("events-title")).await.unwrap().text().await.unwrap();
        assert_eq!(title, "Events of h1");
        click(&c, "#events-close").await;
        wait_until(&c, "!document.getElementById('events').open", "the events dialog closed").await;

        // A phone: the table becomes cards, nothing scrolls sideways.
        c.set_window_size(390, 844).await.expect("a phone-sized window");
        wait_until(&c, "window.innerWidth < 500", "the narrow window").await;
        let overflow = js(
            &c,
            "return [document.documentElement, document.querySelector('.table-wrap')].map(e => e.scrollWidth - e.clientWidth);",
        )
        .await;
        assert_eq!(overflow, json!([0, 0]), "the page or its table scrolls sideways on a phone");
        let tap = js(
            &c,
            "return Math.min(...Array.from(document.querySelectorAll('#actions button, #hosts label.hit, #hosts button'), e => e.getBoundingClientRect().height));",
        )
        .await;
        assert!(tap.as_f64().unwrap() >= 36.0, "tap targets too small: {tap}");
        screenshot(&c, "page-phone.png").await;
        js(&c, "document.getElementById('hosts-table').scrollIntoView(); return null;").await;
        screenshot(&c, "page-phone-hosts.png").await;
    });
}

/// (d) Power from the page through the fake ipmitool: on (no question), off behind the
/// in-page confirmation, and a host without power management shows the server's message.
pub fn power_actions_reach_the_bmc() {
    let tools = tools();
    let _one = one_at_a_time();
    // h4's BMC is found in the ARP table; the fake ipmitool keeps its state in `bmc/`.
    let world = Fixture::new()
        .arp("127.0.0.14       0x1         0x2         00:00:00:00:0a:04     *        eth0\n")
        .build();
    let bmc = tempfile::tempdir().expect("a folder for the fake BMC");
    let server = world
        .server()
        .env("PATH", cli::path_with_fake_tools())
        .env("FAKE_BMC_STATE", bmc.path())
        .start();
    let bmc_state = || fs::read_to_string(bmc.path().join("127.0.0.14")).unwrap_or_default();
    let calls = || fs::read_to_string(bmc.path().join("calls.log")).unwrap_or_default();
    // What the server answers for a host without power management.
    let refused: Value = reqwest::blocking::Client::new()
        .patch(format!("{}/v1/hosts/{H1}/on", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let refused = refused["message"].as_str().unwrap().to_owned();

    let browser = Browser::start("power", &tools, 1280, 800);
    let c = browser.client();
    browser.run(async {
        open(&c, &server.base).await;
        wait_until(
            &c,
            "document.body.dataset.power === 'loaded'",
            "the power states",
        )
        .await;
        assert!(
            row_text(&c, H4).await.contains("Off"),
            "{}",
            row_text(&c, H4).await
        );
        assert!(row_text(&c, H4).await.contains("127.0.0.14"));

        toggle(&c, H4).await;
        click(&c, "button[data-action=on]").await;
        notice(&c, "Power on: h4 powered on").await;
        assert_eq!(bmc_state().trim(), "on");
        wait_until(
            &c,
            "document.querySelector('#hosts tr[data-name=\"h4\"] td.power').textContent === 'On'",
            "h4 shown On",
        )
        .await;

        click(&c, "button[data-action=off]").await;
        wait_until(
            &c,
            "document.getElementById('confirm').open",
            "the confirmation",
        )
        .await;
        let question = c
            .find(Locator::Id("confirm"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            question.contains("Power off 1 host?") && question.contains(H4),
            "{question}"
        );
        assert_eq!(
            bmc_state().trim(),
            "on",
            "nothing is done before the answer"
        );
        screenshot(&c, "page-confirm.png").await;
        click(&c, "#confirm-ok").await;
        notice(&c, "Power off: h4 powered off").await;
        assert_eq!(bmc_state().trim(), "off");
        assert!(calls().contains("power\noff\n"), "{}", calls());
        wait_until(
            &c,
            "document.querySelector('#hosts tr[data-name=\"h4\"] td.power').textContent === 'Off'",
            "h4 shown Off",
        )
        .await;

        // h1 has no power management: the server's message, per host.
        toggle(&c, H4).await;
        toggle(&c, H1).await;
        click(&c, "button[data-action=on]").await;
        let text = notice(&c, "Power on failed").await;
        assert!(notice_is_error(&c).await);
        assert!(text.contains(&format!("h1: {refused}")), "{text}");
    });
}

/// (e) A server with a token: a deploy asks for it in the page, a wrong one shows the
/// server's message and asks again, the right one deploys and is kept for the tab; Cancel
/// deploys nothing.
pub fn the_token_is_asked_for_and_kept_for_the_tab() {
    let tools = tools();
    let _one = one_at_a_time();
    let world = Fixture::new().token("s3cret").build();
    let server = world.serve();

    let browser = Browser::start("token", &tools, 1280, 800);
    let c = browser.client();
    browser.run(async {
        open(&c, &server.base).await;
        toggle(&c, H2).await;
        choose(&c, "local").await;
        click(&c, "#deploy").await;
        wait_until(&c, "document.getElementById('token').open", "the token prompt").await;
        let message = c.find(Locator::Id("token-message")).await.unwrap().text().await.unwrap();
        assert!(message.contains("this server needs a token"), "{message}");
        let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
        assert_eq!(focused.as_deref(), Some("token-input"));

        // A wrong token: the server's message, asked again.
        let enter = fantoccini::key::Key::Enter;
        c.active_element().await.unwrap().send_keys(&format!("wrong{enter}")).await.unwrap();
        wait_until(
            &c,
            "document.getElementById('token').open && document.getElementById('token-message').textContent.includes('the bearer token is wrong')",
            "the wrong token's message",
        )
        .await;
        assert_eq!(link(&world, H2_MAC), None);
        screenshot(&c, "page-token.png").await;

        // The right one: the deploy goes through, and the token stays for this tab.
        let input = c.find(Locator::Id("token-input")).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(&format!("s3cret{enter}")).await.unwrap();
        notice(&c, "local deployed to h2").await;
        assert_eq!(world.deployed(H2_MAC).as_deref(), Some("local"));
        let kept = js(&c, "return sessionStorage.getItem('pxe-pilot.token');").await;
        assert_eq!(kept, json!("s3cret"));
        let forget = c.find(Locator::Id("forget-token")).await.unwrap();
        assert!(forget.is_displayed().await.unwrap());

        // The next change needs no prompt.
        toggle(&c, H2).await;
        toggle(&c, H3).await;
        choose(&c, "grml-2017.05").await;
        click(&c, "#deploy").await;
        notice(&c, "grml-2017.05 deployed to h3").await;
        assert_eq!(world.deployed(H3_MACS[0]).as_deref(), Some("grml-2017.05"));

        // Forgotten: asked again; Cancel deploys nothing and says why.
        click(&c, "#forget-token").await;
        choose(&c, "local").await;
        click(&c, "#deploy").await;
        wait_until(&c, "document.getElementById('token').open", "the token prompt").await;
        click(&c, "#token-cancel").await;
        let text = notice(&c, "Deploy of local failed").await;
        assert!(text.contains("this server needs a token"), "{text}");
        assert!(notice_is_error(&c).await);
        assert_eq!(world.deployed(H3_MACS[0]).as_deref(), Some("grml-2017.05"));
    });
}

/// (f) 1,000 hosts: every row is there, the filter and "select all" work on them.
pub fn a_thousand_hosts_are_listed() {
    let tools = tools();
    let _one = one_at_a_time();
    const NODES: usize = 996; // with h1..h4: 1,000 hosts
    let world = Fixture::new().extra_hosts(NODES).build();
    let server = world.serve();
    // A third of them boot an installer, a few local.
    let installers: Vec<String> = (1..=NODES).filter(|i| i % 3 == 0).map(node_name).collect();
    api_deploy(&server.base, "ubuntu-16.04", &installers, None);
    let locals: Vec<String> = (1..=NODES)
        .filter(|i| i % 7 == 1 && i % 3 != 0)
        .map(node_name)
        .collect();
    api_deploy(&server.base, "local", &locals, None);

    let browser = Browser::start("thousand", &tools, 1280, 900);
    let c = browser.client();
    browser.run(async {
        let started = Instant::now();
        open(&c, &server.base).await;
        let built = started.elapsed();
        wait_until(&c, "document.body.dataset.power === 'loaded'", "the power states").await;
        let rows = shown_rows(&c).await;
        assert_eq!(rows.len(), NODES + 4);
        assert_eq!(rows[0], H1);
        assert_eq!(rows[4], node_name(1));
        assert_eq!(rows[rows.len() - 1], node_name(NODES));
        let count = c.find(Locator::Id("count")).await.unwrap().text().await.unwrap();
        assert_eq!(count, "1000 hosts");
        assert!(row_text(&c, &node_name(3)).await.contains("ubuntu-16.04"));
        screenshot(&c, "page-1000-hosts.png").await;

        let started = Instant::now();
        filter(&c, &node_mac(990)).await;
        assert_eq!(shown_rows(&c).await, [node_name(990)]);
        let filtered = started.elapsed();
        filter(&c, "ubuntu").await;
        assert_eq!(shown_rows(&c).await.len(), installers.len());
        click(&c, "#select-all").await;
        let selection = c.find(Locator::Id("selection")).await.unwrap().text().await.unwrap();
        assert_eq!(selection, format!("{} hosts selected", installers.len()));
        click(&c, "#select-all").await;
        filter(&c, "").await;
        assert_eq!(shown_rows(&c).await.len(), NODES + 4);
        let _ = writeln!(
            std::io::stderr(),
            "1,000 hosts: table built {built:?} after the page was asked, a filter applied in {filtered:?} (both with WebDriver round trips)"
        );
        // The world is as it was: listing changes nothing.
        assert_eq!(world.deployed(&node_mac(3)).as_deref(), Some("ubuntu-16.04"));
    });
}

/// (g) A machine that booted with a MAC address no host has is listed under "Unknown
/// machines", not among the events.
pub fn unknown_machines_are_listed() {
    let tools = tools();
    let _one = one_at_a_time();
    let world = Fixture::new().bootloaders().build();
    let server = world.serve();
    let fetch = reqwest::blocking::get(format!("{}/v1/boot/grub/{UNKNOWN_MAC}", server.base))
        .expect("a boot fetch");
    assert!(fetch.status().is_success(), "{}", fetch.status());

    let browser = Browser::start("unknown_machines", &tools, 1280, 800);
    let c = browser.client();
    browser.run(async {
        open(&c, &server.base).await;
        click(&c, "#unknown-open").await;
        wait_until(
            &c,
            "document.getElementById('unknown').open && !document.getElementById('unknown-table').hidden",
            "the unknown machines dialog",
        )
        .await;
        let rows = js(
            &c,
            "return Array.from(document.querySelectorAll('#unknown-rows tr'), r => r.textContent);",
        )
        .await;
        let rows: Vec<String> = serde_json::from_value(rows).unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].contains(UNKNOWN_MAC) && rows[0].contains("grub"), "{rows:?}");
        screenshot(&c, "page-unknown-machines.png").await;
        click(&c, "#unknown-close").await;
        wait_until(&c, "!document.getElementById('unknown').open", "the dialog closed").await;
    });
}

// ---- With etcd ------------------------------------------------------------------------------

/// [`needs`], and etcd (Debian `etcd-server`).
pub fn etcd_needs() -> Vec<Need> {
    let mut all = needs();
    all.push(Need::Command("etcd", "etcd-server"));
    all
}

/// One etcd member on loopback, its data in `dir`: killed on drop or by [`Etcd::kill`].
struct Etcd {
    child: Child,
    client: u16,
}

impl Etcd {
    fn start(dir: &Path) -> Etcd {
        let (client, peer) = (free_port(), free_port());
        let peer_url = format!("http://127.0.0.1:{peer}");
        let client_url = format!("http://127.0.0.1:{client}");
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "etcd", "--data-dir"])
            .arg(dir)
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("default={peer_url}")])
            .args(["--logger", "zap", "--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", client)).is_err() {
            assert!(started.elapsed() < WAIT, "etcd does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Etcd { child, client }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The top bar's part that names the shared store (hidden without one).
const STORE: &str = "document.getElementById('store')";

pub fn the_top_bar_names_the_fleet_and_warns_while_etcd_is_away() {
    let tools = tools();
    let _one = one_at_a_time();
    let data = tempfile::tempdir().expect("a temporary folder");
    let mut etcd = Etcd::start(data.path());
    let prefix = format!("/browser-{}/", std::process::id());
    let world = |site: &str| {
        Fixture::new()
            .yaml(&format!(
                "store:\n  etcd:\n    endpoints: [{}]\n    prefix: {prefix}\nsite: {site}",
                etcd.url()
            ))
            .build()
    };
    let (world_a, world_b) = (world("rack-a"), world("rack-b"));
    let (a, _b) = (world_a.serve(), world_b.serve());

    let browser = Browser::start("etcd_top_bar", &tools, 1280, 800);
    let c = browser.client();
    browser.run(async {
        open(&c, &a.base).await;
        // The page asks for the status every 10 s: both servers' presence shows within it.
        wait_until(
            &c,
            &format!(
                "!{STORE}.hidden && {STORE}.textContent === 'etcd: 2 servers (rack-a, rack-b)' && !{STORE}.classList.contains('warn')"
            ),
            "the top bar naming both servers",
        )
        .await;
        screenshot(&c, "page-etcd-fleet.png").await;

        // etcd away: the next status the page asks for says so, as a warning.
        etcd.kill();
        wait_until(
            &c,
            &format!(
                "{STORE}.textContent === 'etcd away: changes refused, list may be stale' && {STORE}.classList.contains('warn')"
            ),
            "the top bar's warning that etcd is away",
        )
        .await;
        let rows = shown_rows(&c).await;
        assert!(!rows.is_empty(), "the hosts stay listed from the mirror");
        screenshot(&c, "page-etcd-away.png").await;
    });
}
