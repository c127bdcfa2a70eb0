//! `GET /metrics`: what operators graph, in the Prometheus text format (0.0.4). Requests by
//! route and status and their durations are counted by [`observe_requests`]; deploys, power
//! actions, network boots and boot fetches by their result as each event is recorded
//! (the core service's [`Observer`]); hosts by configuration and the power commands running
//! are given to each scrape ([`Metrics::render`]). Labels take only bounded values: route
//! patterns, not paths. The registry is a plain value: it reads nothing of the service.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use pxe_pilot_core::{Deployment, EventKind, NewEvent, Observer, StoreStatus};

/// The server's counters and gauges.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    deploys: IntCounterVec,
    power_actions: IntCounterVec,
    netboots: IntCounterVec,
    boot_fetches: IntCounterVec,
    unknown_fetches: IntCounter,
    power_running: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("a valid metric definition: {e}"));
    let _ = registry.register(Box::new(counter.clone()));
    counter
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "pxe_pilot_http_request_duration_seconds",
                "How long requests took to answer, by route.",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
            &["route"],
        )
        .unwrap_or_else(|e| unreachable!("a valid metric definition: {e}"));
        let _ = registry.register(Box::new(durations.clone()));
        let unknown_fetches = IntCounter::new(
            "pxe_pilot_unknown_boot_fetches_total",
            "Boot fetches for MAC addresses no host has (GET /v1/unknown-machines lists them).",
        )
        .unwrap_or_else(|e| unreachable!("a valid metric definition: {e}"));
        let _ = registry.register(Box::new(unknown_fetches.clone()));
        let power_running = IntGauge::new(
            "pxe_pilot_power_commands_running",
            "BMC commands running now (at most power.max_parallel).",
        )
        .unwrap_or_else(|e| unreachable!("a valid metric definition: {e}"));
        let _ = registry.register(Box::new(power_running.clone()));
        Metrics {
            requests: counter(
                &registry,
                "pxe_pilot_http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
                &["route", "method", "status"],
            ),
            deploys: counter(
                &registry,
                "pxe_pilot_deploys_total",
                "Changes of what hosts boot, by kind (deploy, self_service, once_fallback, undeploy) and result.",
                &["kind", "result"],
            ),
            power_actions: counter(
                &registry,
                "pxe_pilot_power_actions_total",
                "Power actions asked of BMCs, by action and result.",
                &["action", "result"],
            ),
            netboots: counter(
                &registry,
                "pxe_pilot_netboots_total",
                "Network boots once asked of BMCs before a reboot, by result.",
                &["result"],
            ),
            boot_fetches: counter(
                &registry,
                "pxe_pilot_boot_fetches_total",
                "Boot scripts fetched over HTTP, by bootloader and answer (script, hand_over, error).",
                &["bootloader", "answer"],
            ),
            durations,
            unknown_fetches,
            power_running,
            registry,
        }
    }

    /// Counts what `event` records.
    pub fn count(&self, event: &NewEvent) {
        let result = if event.result.is_ok() { "ok" } else { "error" };
        match event.kind {
            EventKind::Deploy
            | EventKind::SelfService
            | EventKind::OnceFallback
            | EventKind::Undeploy => self
                .deploys
                .with_label_values(&[event.kind.as_str(), result])
                .inc(),
            EventKind::Power => {
                let action = event
                    .detail
                    .as_deref()
                    .filter(|a| matches!(*a, "on" | "off" | "reboot"))
                    .unwrap_or("other");
                self.power_actions
                    .with_label_values(&[action, result])
                    .inc()
            }
            EventKind::Netboot => self.netboots.with_label_values(&[result]).inc(),
            EventKind::Boot => {
                let (bootloader, answer) = match (&event.result, &event.to) {
                    (r, _) if !r.is_ok() => ("-", "error"),
                    (_, Some(_)) => (event.detail.as_deref().unwrap_or("-"), "script"),
                    (_, None) => (event.detail.as_deref().unwrap_or("-"), "hand_over"),
                };
                self.boot_fetches
                    .with_label_values(&[bootloader, answer])
                    .inc()
            }
        }
    }

    /// Counts an answered request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.durations.with_label_values(&[route]).observe(seconds);
    }

    /// The text of a scrape, with what each host boots now (`deployments`) and the BMC
    /// commands running. The hosts by configuration are counted into a gauge of this scrape
    /// only: concurrent scrapes never see each other's half-counted values.
    pub fn render<'a>(
        &self,
        deployments: impl Iterator<Item = &'a Deployment>,
        commands_running: usize,
        store: &StoreStatus,
    ) -> Result<String, String> {
        let hosts = IntGaugeVec::new(
            Opts::new(
                "pxe_pilot_hosts",
                "Hosts by what their entries lead to: a configuration's name, `none` (nothing deployed) or `dangling`.",
            ),
            &["configuration"],
        )
        .map_err(|e| e.to_string())?;
        for deployment in deployments {
            let label = match deployment {
                Deployment::NotDeployed => "none".to_owned(),
                Deployment::Deployed(c) => c.name.to_string(),
                Deployment::Dangling(_) => "dangling".to_owned(),
            };
            hosts.with_label_values(&[&label]).inc();
        }
        self.power_running.set(commands_running as i64);
        let mut families = self.registry.gather();
        families.extend(prometheus::core::Collector::collect(&hosts));
        families.extend(store_families(store)?);
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// The store's gauges of one scrape: its kind, and with etcd whether it answers, the
/// revisions, the mirror's lag, the buffered boot events and the servers seen; and the
/// count of dropped boot events.
fn store_families(store: &StoreStatus) -> Result<Vec<prometheus::proto::MetricFamily>, String> {
    let fail = |e: prometheus::Error| e.to_string();
    let kind = IntGaugeVec::new(
        Opts::new(
            "pxe_pilot_store",
            "The store in use: 1 for its kind (`files`, `memory`, `etcd`).",
        ),
        &["kind"],
    )
    .map_err(fail)?;
    kind.with_label_values(&[store.kind]).set(1);
    let mut families = prometheus::core::Collector::collect(&kind);
    let Some(shared) = &store.shared else {
        return Ok(families);
    };
    let gauges: [(&str, &str, f64); 6] = [
        (
            "pxe_pilot_etcd_reachable",
            "1 when etcd answered within the last seconds, else 0.",
            f64::from(u8::from(shared.reachable)),
        ),
        (
            "pxe_pilot_etcd_revision",
            "etcd's revision when it last answered.",
            shared.revision as f64,
        ),
        (
            "pxe_pilot_mirror_revision",
            "The etcd revision this server's TFTP root and caches have applied.",
            shared.mirror_revision as f64,
        ),
        (
            "pxe_pilot_mirror_lag_seconds",
            "Seconds the mirror has not been following etcd (0 while it does).",
            shared.lag_seconds,
        ),
        (
            "pxe_pilot_buffered_boot_events",
            "Boot events waiting for etcd.",
            shared.buffered_events as f64,
        ),
        (
            "pxe_pilot_servers_seen",
            "Servers sharing the store that announced themselves lately, this one included.",
            shared.servers.len() as f64,
        ),
    ];
    for (name, help, value) in gauges {
        let gauge = prometheus::Gauge::new(name, help).map_err(fail)?;
        gauge.set(value);
        families.extend(prometheus::core::Collector::collect(&gauge));
    }
    let dropped = prometheus::IntCounter::new(
        "pxe_pilot_dropped_boot_events_total",
        "Boot events dropped since the start: the buffer for etcd was full.",
    )
    .map_err(fail)?;
    dropped.inc_by(shared.dropped_events);
    families.extend(prometheus::core::Collector::collect(&dropped));
    Ok(families)
}

impl Observer for Metrics {
    fn recorded(&self, event: &NewEvent) {
        self.count(event);
    }

    fn unknown_fetch(&self) {
        self.unknown_fetches.inc();
    }
}

/// Middleware (for [`actix_web::middleware::from_fn`]): counts every answered request by its
/// route pattern (`/v1/hosts/{name}`; `unmatched` for no route), method and status.
pub async fn observe_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<std::sync::Arc<Metrics>>>()
        .cloned();
    let method = req.method().as_str().to_owned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let known = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"];
        let method = if known.contains(&method.as_str()) {
            method.as_str()
        } else {
            "other"
        };
        metrics.observe(
            &route,
            method,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(response)
}
