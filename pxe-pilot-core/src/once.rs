//! "Boot this once, then the fallback": the hosts deployed with `once`, and the configuration
//! each boots once. When such a host fetches that configuration over HTTP, the server switches
//! it to `server.once_fallback` (`local` by default) and forgets it here; any other deploy to
//! the host forgets it too.
//!
//! Kept in `<state_dir>/once.json` when a state folder is configured (written to a temporary
//! file, synced, renamed over), so that a restart between the deploy and the boot keeps the
//! promise; in memory otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::names::{ConfigName, HostName};

/// The file of the list, in the state folder.
pub const FILE_NAME: &str = "once.json";

/// Why the list cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {reason}: give the service write access to state_dir")]
pub struct OnceError {
    action: &'static str,
    path: PathBuf,
    reason: String,
}

/// The hosts that boot a configuration once.
#[derive(Debug)]
pub struct OnceList {
    file: Option<PathBuf>,
    hosts: Mutex<BTreeMap<HostName, ConfigName>>,
}

impl OnceList {
    /// The list kept in `state_dir` (loaded now), or in memory only.
    pub fn open(state_dir: Option<&Path>) -> Result<Self, OnceError> {
        let file = state_dir.map(|d| d.join(FILE_NAME));
        let mut hosts = BTreeMap::new();
        if let Some(file) = &file {
            match std::fs::read_to_string(file) {
                Ok(text) => match serde_json::from_str::<BTreeMap<String, String>>(&text) {
                    Ok(map) => {
                        for (host, configuration) in map {
                            if let (Ok(h), Ok(c)) =
                                (HostName::parse(&host), ConfigName::parse(&configuration))
                            {
                                hosts.insert(h, c);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(file = %file.display(), "once list unreadable, starting empty: {e}")
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(OnceError {
                        action: "read",
                        path: file.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(OnceList {
            file,
            hosts: Mutex::new(hosts),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<HostName, ConfigName>> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `host` boots `configuration` once (`Some`), or no longer (`None`).
    pub fn set(
        &self,
        host: &HostName,
        configuration: Option<&ConfigName>,
    ) -> Result<(), OnceError> {
        let mut hosts = self.lock();
        let changed = match configuration {
            Some(c) => hosts.insert(host.clone(), c.clone()).as_ref() != Some(c),
            None => hosts.remove(host).is_some(),
        };
        if changed {
            self.save(&hosts)?;
        }
        Ok(())
    }

    /// The configuration `host` boots once, if any.
    pub fn get(&self, host: &HostName) -> Option<ConfigName> {
        self.lock().get(host).cloned()
    }

    /// True, and `host` is forgotten, when it was to boot `configuration` once: this boot was
    /// that once.
    pub fn take(&self, host: &HostName, configuration: &ConfigName) -> Result<bool, OnceError> {
        let mut hosts = self.lock();
        if hosts.get(host) != Some(configuration) {
            return Ok(false);
        }
        hosts.remove(host);
        self.save(&hosts)?;
        Ok(true)
    }

    fn save(&self, hosts: &BTreeMap<HostName, ConfigName>) -> Result<(), OnceError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let map: BTreeMap<&str, &str> = hosts
            .iter()
            .map(|(h, c)| (h.as_str(), c.as_str()))
            .collect();
        let failed = |action, e: &dyn std::fmt::Display| OnceError {
            action,
            path: file.clone(),
            reason: e.to_string(),
        };
        let text = serde_json::to_string_pretty(&map).map_err(|e| failed("write", &e))?;
        let temporary = file.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut out = std::fs::File::create(&temporary)?;
            out.write_all(text.as_bytes())?;
            out.sync_all()?;
            std::fs::rename(&temporary, file)?;
            if let Some(folder) = file.parent() {
                std::fs::File::open(folder)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| failed("write", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_boots_its_configuration_once_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let (h1, rescue, local) = (
            HostName::parse("h1").unwrap(),
            ConfigName::parse("rescue").unwrap(),
            ConfigName::parse("local").unwrap(),
        );
        let list = OnceList::open(Some(dir.path())).unwrap();
        list.set(&h1, Some(&rescue)).unwrap();
        let reopened = OnceList::open(Some(dir.path())).unwrap();
        assert_eq!(reopened.get(&h1), Some(rescue.clone()));
        assert!(
            !reopened.take(&h1, &local).unwrap(),
            "another configuration: not the once"
        );
        assert!(reopened.take(&h1, &rescue).unwrap());
        assert!(!reopened.take(&h1, &rescue).unwrap(), "once only");
        assert_eq!(OnceList::open(Some(dir.path())).unwrap().get(&h1), None);
        let memory = OnceList::open(None).unwrap();
        memory.set(&h1, Some(&rescue)).unwrap();
        memory.set(&h1, None).unwrap();
        assert_eq!(memory.get(&h1), None);
    }
}
