//! `pxe-pilot-server --demo [DIR]`: a small world to see pxe-pilot work in one command.
//!
//! It writes a TFTP root with a `pxelinux` bootloader folder in the catalogue
//! (`pxelinux.cfg/conf/pxelinux/{local,ubuntu-24.04,grml-rescue}`), an `ipxe` one served over
//! HTTP (`pxelinux.cfg/conf/ipxe/http-installer`, a template), four hosts (`db-1` with three
//! NICs, the first one the MAC of the original's use case) and a configuration file that
//! listens on `127.0.0.1:3478`. `db-1` starts on the installer, as in the use case, and
//! `web-1` on the iPXE installer; the guide printed at start shows the installer's last step
//! (switch it to `local`), the QEMU command line that network-boots `web-1` over HTTP through
//! the demo (no TFTP nor DHCP server of its own: QEMU's user network hands out
//! `http://10.0.2.2:PORT/boot.ipxe`), and more to try. Without DIR the world lives in a temporary folder removed at exit; with DIR it
//! stays, and a second run in the same DIR reuses it as it was left.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use pxe_pilot_core::{Asker, Caller, DeployHost, HostSelector, Service};

/// The configuration file's name inside the demo folder.
pub const CONFIG_FILE: &str = "pxe-pilot.yml";
/// The MAC address the guide's seed request names (`db-1`'s first NIC, the use case's MAC).
pub const SEED_MAC: &str = "23:34:a3:e9:09:cc";

const CONFIG: &str = r#"# pxe-pilot demo configuration, written by `pxe-pilot-server --demo`.
# Paths are relative to this file's folder.
hosts:
  - name: db-1                       # three NICs: every one boots what the first one boots
    mac_addresses: ["23:34:a3:e9:09:cc", "23:34:a3:e9:09:cd", "23:34:a3:e9:09:ce"]
  - name: web-1                      # the demo's VM (see the guide's QEMU command line)
    mac_addresses: ["52:54:00:12:34:01"]
    vars: {role: web}
  - name: web-2
    mac_addresses: ["52:54:00:12:34:02"]
  - name: build-1
    mac_addresses: ["52:54:00:12:34:03"]
tftp:
  root: tftp
  serve: 127.0.0.1:6969              # pxe-pilot serves the root over TFTP (see the guide)
configuration:
  directory: tftp/pxelinux.cfg/conf
  bootloaders:
    - {name: pxelinux, file: pxelinux.0, config_path: pxelinux.cfg}
    - {name: ipxe, file: ipxe.efi, http: ipxe}   # fetched over HTTP: GET /v1/boot/ipxe/<mac>
server:
  listen: 127.0.0.1
  port: 3478
"#;

const CATALOGUE: [(&str, &str); 3] = [
    (
        "local",
        "# Boot from the first local disk.\nSAY pxe-pilot demo: PXELINUX boots the local disk\nDEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
    ),
    (
        "ubuntu-24.04",
        "# Automated Ubuntu install; the installer's last step switches the host to `local`.\nSAY pxe-pilot demo: PXELINUX boots the ubuntu-24.04 installer\nSAY (the demo has no kernel for it: PXELINUX stops at boot:)\nDEFAULT install\nLABEL install\n  KERNEL ubuntu/24.04/linux\n  APPEND initrd=ubuntu/24.04/initrd.gz auto=true url=http://pxe-server/ubuntu-24.04.seed\n",
    ),
    (
        "grml-rescue",
        "# Live rescue system in memory.\nDEFAULT grml\nLABEL grml\n  KERNEL grml/vmlinuz\n  APPEND initrd=grml/initrd.img boot=live fetch=http://pxe-server/grml.squashfs\n",
    ),
];

/// The iPXE catalogue: fetched over HTTP and rendered for the host that asks.
const IPXE_CATALOGUE: [(&str, &str); 1] = [(
    "http-installer",
    "#!ipxe\n\
# pxe-pilot demo: an installer served over HTTP, rendered for the host that fetches it.\n\
echo\n\
echo pxe-pilot demo: {{ host.name }} ({{ host.mac }}, role {{ host.vars.role }}) boots the installer\n\
echo A real installer loads its kernel here, e.g. kernel {{ server.url }}/...\n\
echo Its last step switches {{ host.mac }} to local (the demo's guide shows the curl line).\n\
echo Boot the VM again then: it gets a script that hands over to the next boot device, its disk.\n\
sleep 15\n\
exit\n",
)];

/// The MAC address of the demo's VM (`web-1`).
pub const VM_MAC: &str = "52:54:00:12:34:01";
/// The MAC address of the demo's PXELINUX VM (`build-1`), booted over pxe-pilot's TFTP.
pub const PXELINUX_VM_MAC: &str = "52:54:00:12:34:03";

/// Where systems keep PXELINUX and its first module: Debian's `pxelinux` and
/// `syslinux-common`, then Fedora's `syslinux-tftpboot`.
const PXELINUX_FILES: [(&str, &[&str]); 2] = [
    (
        "pxelinux.0",
        &[
            "/usr/lib/PXELINUX/pxelinux.0",
            "/usr/share/syslinux/pxelinux.0",
            "/tftpboot/pxelinux.0",
        ],
    ),
    (
        "ldlinux.c32",
        &[
            "/usr/lib/syslinux/modules/bios/ldlinux.c32",
            "/usr/share/syslinux/ldlinux.c32",
            "/tftpboot/ldlinux.c32",
        ],
    ),
];

/// A demo world on disk.
#[derive(Debug)]
pub struct Demo {
    /// The folder that holds everything.
    pub dir: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
    /// True when this run wrote it (false: a previous demo in the same DIR is reused).
    pub fresh: bool,
    // The temporary folder, removed on drop; `None` for a DIR the user gave.
    temporary: Option<tempfile::TempDir>,
}

impl Demo {
    /// Builds the demo in `dir` (created if needed; it must be empty or hold a previous demo),
    /// or in a new temporary folder when `dir` is `None`.
    pub fn create(dir: Option<&Path>) -> Result<Demo, String> {
        let (dir, temporary) = match dir {
            Some(dir) => (dir.to_owned(), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("pxe-pilot-demo-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let config = dir.join(CONFIG_FILE);
        if config.is_file() {
            return Ok(Demo {
                dir,
                config,
                fresh: false,
                temporary,
            });
        }
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let not_empty = fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .next()
            .is_some();
        if not_empty {
            return Err(format!(
                "{} is not empty and holds no {CONFIG_FILE}: give a new or empty folder",
                dir.display()
            ));
        }
        write_world(&dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        Ok(Demo {
            dir,
            config,
            fresh: true,
            temporary,
        })
    }

    /// The TFTP root's `pxelinux.cfg/` folder, where the per-MAC links are.
    pub fn pxelinux_cfg(&self) -> PathBuf {
        self.dir.join("tftp/pxelinux.cfg")
    }

    /// Puts a fresh demo in its starting state: `db-1` boots the installer. Deployed through
    /// the service, as any change: the deploys are in the demo's events.
    pub fn seed(&self, service: &Service) -> Result<(), String> {
        if !self.fresh {
            return Ok(());
        }
        let demo = Asker::new(Caller::Open, None);
        for (host, configuration) in [("db-1", "ubuntu-24.04"), ("web-1", "http-installer")] {
            let host = DeployHost {
                selector: HostSelector::parse(Some(host), None).map_err(|e| e.to_string())?,
                reboot: false,
                once: false,
            };
            let report = service
                .deploy(configuration, &[host], &demo)
                .map_err(|e| e.to_string())?;
            if let Some(failure) = report.failure {
                return Err(failure);
            }
        }
        Ok(())
    }

    /// Whether the demo's TFTP root holds a real PXELINUX (copied from this system).
    pub fn has_pxelinux(&self) -> bool {
        fs::read(self.dir.join("tftp/pxelinux.0")).is_ok_and(|b| !b.starts_with(PLACEHOLDER))
    }

    /// What to read and try, for a server listening on `addr` and serving TFTP on `tftp`.
    pub fn guide(&self, addr: SocketAddr, tftp: Option<SocketAddr>) -> String {
        let url = format!("http://{addr}");
        let kept = if self.temporary.is_some() {
            "a temporary folder, removed when the server stops"
        } else {
            "kept after the server stops"
        };
        format!(
            "\
pxe-pilot demo: 4 hosts, 4 configurations (local, ubuntu-24.04, grml-rescue; http-installer over HTTP)
  folder:             {dir} ({kept})
  configuration file: {config}
  per-MAC links:      {links}
db-1 (3 NICs) is installing ubuntu-24.04. Try:
  curl -s {url}/v1/hosts
  curl -i -X PUT {url}/configurations/local/deploy -d '{{\"hosts\":[{{\"macAddress\":\"{SEED_MAC}\"}}]}}'
  pxe-pilot -s {url} config deploy grml-rescue web-2
then look at the links:
  ls -l {links}
web-1 boots http-installer over HTTP. Boot it in a VM (QEMU's iPXE, no TFTP nor DHCP server of yours):
  qemu-system-x86_64 -accel tcg -m 256 -nographic -netdev user,id=n0,bootfile=http://10.0.2.2:{port}/boot.ipxe -device virtio-net-pci,netdev=n0,mac={VM_MAC}
  (quit QEMU with Ctrl-A then X; the page at {url}/ shows its last boot). Its installer's last step:
  curl -i -X PUT {url}/configurations/local/deploy -d '{{\"hosts\":[{{\"macAddress\":\"{VM_MAC}\"}}]}}'
{pxelinux}Stop with Ctrl-C.",
            pxelinux = self.pxelinux_guide(&url, tftp),
            port = addr.port(),
            dir = self.dir.display(),
            config = self.config.display(),
            links = self.pxelinux_cfg().display(),
        )
    }
}

impl Demo {
    /// The guide's lines for the PXELINUX VM, booted with pxe-pilot as its only TFTP server.
    fn pxelinux_guide(&self, url: &str, tftp: Option<SocketAddr>) -> String {
        let Some(tftp) = tftp else {
            return String::new();
        };
        let missing = if self.has_pxelinux() {
            ""
        } else {
            "  (this demo has no PXELINUX: install it (Debian: pxelinux syslinux-common) and start a new demo)\n"
        };
        format!(
            "\
build-1 is a PXELINUX host and pxe-pilot serves TFTP on {tftp}. Boot the installer once, then its disk:
  pxe-pilot -s {url} config deploy --once ubuntu-24.04 build-1
  qemu-system-x86_64 -accel tcg -m 256 -nographic -netdev user,id=n0,bootfile=tftp://10.0.2.2:{port}/pxelinux.0 -device virtio-net-pci,netdev=n0,mac={PXELINUX_VM_MAC}
{missing}  (quit QEMU with Ctrl-A then X, boot it again: `pxe-pilot host events build-1` shows both TFTP boots)
",
            port = tftp.port(),
        )
    }
}

/// The first bytes of the demo's stand-in `pxelinux.0` when the system has no PXELINUX.
const PLACEHOLDER: &[u8] = b"placeholder:";

fn write_world(dir: &Path) -> std::io::Result<()> {
    let tftp = dir.join("tftp");
    let conf = tftp.join("pxelinux.cfg/conf/pxelinux");
    fs::create_dir_all(&conf)?;
    for (name, text) in CATALOGUE {
        fs::write(conf.join(name), text)?;
    }
    let ipxe = tftp.join("pxelinux.cfg/conf/ipxe");
    fs::create_dir_all(&ipxe)?;
    for (name, text) in IPXE_CATALOGUE {
        fs::write(ipxe.join(name), text)?;
    }
    for (name, places) in PXELINUX_FILES {
        let copied = places
            .iter()
            .any(|from| fs::copy(from, tftp.join(name)).is_ok());
        if !copied {
            let mut text = PLACEHOLDER.to_vec();
            text.extend_from_slice(
                b" a real TFTP root has PXELINUX here (Debian: pxelinux, syslinux-common)\n",
            );
            fs::write(tftp.join(name), text)?;
        }
    }
    fs::write(
        tftp.join("pxelinux.cfg/default"),
        "# What a host without a per-MAC entry boots.\nDEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
    )?;
    fs::write(dir.join(CONFIG_FILE), CONFIG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxe_pilot_core::{Deployment, Pilot, Settings};

    #[test]
    fn a_demo_loads_and_starts_with_db1_on_the_installer() {
        let demo = Demo::create(None).unwrap();
        let (settings, warnings) = Settings::load(&demo.config).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings.inventory.hosts().len(), 4);
        assert_eq!(
            settings.paths.tftp_serve,
            Some("127.0.0.1:6969".parse().unwrap()),
            "the demo serves TFTP on a port a user can bind"
        );
        let pilot = Pilot::open(settings).unwrap();
        let kept = pxe_pilot_core::Kept::new(std::sync::Arc::new(pxe_pilot_core::NoObserver));
        let service = Service::new(pilot, kept);
        demo.seed(&service).unwrap();
        let pilot = service.pilot();
        let names: Vec<String> = pilot
            .configurations()
            .unwrap()
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(
            names,
            ["grml-rescue", "local", "ubuntu-24.04", "http-installer"]
        );
        let db1 = pilot
            .host_by_mac(&pxe_pilot_core::MacAddress::parse(SEED_MAC).unwrap())
            .unwrap();
        assert_eq!(db1.host.name.as_str(), "db-1");
        assert!(
            matches!(db1.deployment, Deployment::Deployed(ref c) if c.name.as_str() == "ubuntu-24.04")
        );
        let guide = demo.guide(
            "127.0.0.1:3478".parse().unwrap(),
            Some("127.0.0.1:6969".parse().unwrap()),
        );
        assert!(guide.contains("curl -i -X PUT http://127.0.0.1:3478/configurations/local/deploy"));
        assert!(
            guide.contains("bootfile=tftp://10.0.2.2:6969/pxelinux.0"),
            "{guide}"
        );
        let dir = demo.dir.clone();
        drop(demo);
        assert!(!dir.exists(), "the temporary demo is removed on drop");
    }

    #[test]
    fn a_given_folder_is_reused_and_a_foreign_one_refused() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("demo");
        assert!(Demo::create(Some(&dir)).unwrap().fresh);
        let again = Demo::create(Some(&dir)).unwrap();
        assert!(!again.fresh);
        drop(again);
        assert!(dir.join(CONFIG_FILE).is_file(), "a given folder is kept");
        fs::write(parent.path().join("other"), "x").unwrap();
        let error = Demo::create(Some(parent.path())).unwrap_err();
        assert!(error.contains("is not empty"), "{error}");
    }
}
