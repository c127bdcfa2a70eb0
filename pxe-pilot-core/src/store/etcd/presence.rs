//! This server's presence in the fleet, and what `GET /v1/status` says of etcd and of the
//! mirror. The presence is a key under `servers/`, attached to a lease of [`TTL`] seconds and
//! written again every [`BEAT`] with the time: it goes by itself when the server stops (a
//! lease is for liveness only, never for a deployment).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::client::{put_leased, Etcd};
use crate::store::{ServerSeen, SharedStatus};

/// How often this server writes its presence again.
pub(super) const BEAT: Duration = Duration::from_secs(2);
/// How long a presence outlives its server's last beat, in seconds: its lease's TTL, renewed
/// at each beat.
const TTL: i64 = 10;
/// The last beat was written.
const UP: u8 = 1;
/// The last beat was not written.
const DOWN: u8 = 2;
/// How long after etcd's last answer it still counts as reachable.
const REACHABLE_FOR: Duration = Duration::from_secs(5);

/// This server's presence and what it knows of etcd's health and of the fleet.
pub(super) struct Presence {
    /// The full key of this server's presence.
    key: String,
    /// The prefix of every server's presence.
    servers_prefix: String,
    /// This server, as its presence says.
    me: ServerSeen,
    /// How long its lease outlives its last renewal, in seconds ([`TTL`]).
    ttl: i64,
    lease: Mutex<Option<i64>>,
    /// When etcd last answered a beat, and its revision then.
    answered: Mutex<Option<Instant>>,
    revision: AtomicI64,
    /// When the watch last delivered (the mirror was in step then), and whether it is up.
    in_step: Mutex<Instant>,
    watching: AtomicBool,
    /// Whether the last beat was written ([`UP`], [`DOWN`], or not known yet): a change of it
    /// is logged once.
    took_writes: AtomicU8,
    /// The servers whose presence the watch saw, by key.
    servers: RwLock<BTreeMap<String, ServerSeen>>,
}

impl Presence {
    /// The presence of this server (`site`, this machine, this process) under `prefix`.
    pub(super) fn new(prefix: &str, site: &str) -> Presence {
        let machine = crate::settings::machine_name();
        let servers_prefix = format!("{prefix}servers/");
        Presence {
            key: format!("{servers_prefix}{site}/{machine}:{}", std::process::id()),
            servers_prefix,
            me: ServerSeen {
                site: site.to_owned(),
                machine,
                version: env!("CARGO_PKG_VERSION").to_owned(),
                last_seen: SystemTime::now(),
            },
            ttl: TTL,
            lease: Mutex::new(None),
            answered: Mutex::new(None),
            revision: AtomicI64::new(0),
            in_step: Mutex::new(Instant::now()),
            watching: AtomicBool::new(false),
            took_writes: AtomicU8::new(0),
            servers: RwLock::new(BTreeMap::new()),
        }
    }

    /// Writes this server's presence: its lease renewed (a new one when it has none, or
    /// etcd let it expire), then its key with the time.
    pub(super) fn beat(&self, etcd: &Etcd) {
        let mut lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        // A put does not renew the lease of its key: without the keep-alive the presence
        // would go TTL seconds after its lease was granted, however often it is written.
        let kept = match *lease {
            Some(id) => etcd.keep_lease(id).map(|held| held.then_some(id)),
            None => Ok(None),
        };
        let id = match kept {
            Ok(Some(id)) => Ok(id),
            Ok(None) => etcd.grant_lease(self.ttl),
            Err(error) => Err(error),
        };
        let written = id.and_then(|id| {
            *lease = Some(id);
            let me = ServerSeen {
                last_seen: SystemTime::now(),
                ..self.me.clone()
            };
            let value = serde_json::to_vec(&me).unwrap_or_default();
            etcd.txn(Vec::new(), vec![put_leased(&self.key, &value, id)])
        });
        match written {
            Ok((_, revision)) => {
                if self.took_writes.swap(UP, Ordering::Relaxed) == DOWN {
                    tracing::info!(
                        revision,
                        "etcd answers: changes go through again, the mirror follows it"
                    );
                }
                self.answered(revision);
            }
            Err(error) => {
                if self.took_writes.swap(DOWN, Ordering::Relaxed) != DOWN {
                    tracing::warn!(%error, "etcd does not take this server's writes: changes answer 503, boots go on from the mirror");
                }
            }
        }
    }

    /// Whether etcd answered within [`REACHABLE_FOR`].
    pub(super) fn reachable(&self) -> bool {
        self.answered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < REACHABLE_FOR)
    }

    /// etcd answered at `revision`.
    pub(super) fn answered(&self, revision: i64) {
        *self.answered.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.revision.fetch_max(revision, Ordering::Relaxed);
    }

    /// The watch delivered: the mirror is in step.
    pub(super) fn in_step(&self) {
        *self.in_step.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.watching.store(true, Ordering::Relaxed);
    }

    /// The watch stopped: the mirror may fall behind from now on.
    pub(super) fn watch_down(&self) {
        self.watching.store(false, Ordering::Relaxed);
    }

    /// Applies a watched or read key, when it is a presence; false when it is not one.
    pub(super) fn apply(&self, key: &str, value: &[u8], deleted: bool) -> bool {
        if !key.starts_with(&self.servers_prefix) {
            return false;
        }
        let mut servers = self.servers.write().unwrap_or_else(|p| p.into_inner());
        match (deleted, serde_json::from_slice::<ServerSeen>(value)) {
            (false, Ok(seen)) => {
                servers.insert(key.to_owned(), seen);
            }
            _ => {
                servers.remove(key);
            }
        }
        true
    }

    /// Removes this server's presence now (at a clean stop).
    pub(super) fn leave(&self, etcd: &Etcd) {
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(id) = lease {
            if let Err(error) = etcd.revoke_lease(id) {
                tracing::debug!(%error, "this server's presence stays until its lease expires");
            }
        }
    }

    /// What `GET /v1/status` shows, with the mirror at `mirror_revision` and `buffered` boot
    /// events waiting.
    pub(super) fn status(
        &self,
        mirror_revision: i64,
        buffered: usize,
        dropped: u64,
    ) -> SharedStatus {
        let reachable = self.reachable();
        let watching = self.watching.load(Ordering::Relaxed);
        let lag = match reachable && watching {
            true => 0.0,
            false => {
                let since = self.in_step.lock().unwrap_or_else(|p| p.into_inner());
                (since.elapsed().as_secs_f64() * 10.0).round() / 10.0
            }
        };
        let mut servers: Vec<ServerSeen> = self
            .servers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        if !servers
            .iter()
            .any(|s| s.machine == self.me.machine && s.site == self.me.site)
        {
            servers.push(ServerSeen {
                last_seen: SystemTime::now(),
                ..self.me.clone()
            });
        }
        servers.sort_by(|a, b| (&a.site, &a.machine).cmp(&(&b.site, &b.machine)));
        SharedStatus {
            reachable,
            revision: self.revision.load(Ordering::Relaxed).max(mirror_revision),
            mirror_revision,
            lag_seconds: lag,
            buffered_events: buffered,
            dropped_events: dropped,
            servers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::test_etcd;

    #[test]
    fn a_presence_stays_while_its_server_beats_and_goes_when_it_stops() {
        let Some(settings) = test_etcd::fresh_prefix() else {
            return;
        };
        let etcd = Etcd::new(&settings).unwrap();
        // etcd's shortest lease (1.5 election timeouts) is 2 s.
        let presence = Presence {
            ttl: 2,
            ..Presence::new(&settings.prefix, "rack-a")
        };
        let held = || {
            !etcd
                .range(&presence.key, false, 1, false)
                .unwrap()
                .0
                .is_empty()
        };
        presence.beat(&etcd);
        assert!(held());
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(700));
            presence.beat(&etcd);
            assert!(held(), "the presence went while its server beat");
        }
        assert_eq!(presence.took_writes.load(Ordering::Relaxed), UP);
        // The server stops without leaving: its presence goes with the lease.
        std::thread::sleep(Duration::from_secs(4));
        assert!(!held(), "the presence outlived its lease");
        // Its lease expired: the next beat takes a new one, and the presence is back.
        presence.beat(&etcd);
        assert!(held());
        assert_eq!(presence.took_writes.load(Ordering::Relaxed), UP);
        presence.leave(&etcd);
        assert!(!held());
    }
}
