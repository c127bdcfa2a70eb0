//! Running the operator's commands (power management, discovery) safely.
//!
//! A command line is a template with the original's `{{.name}}` placeholders. It is expanded
//! in two steps: the operator's own text (adapter variables) as text first, then the line is
//! split into arguments, and only then are values (host variables, passwords, the BMC address)
//! put inside each argument. A value with spaces or `;` therefore stays one argument. Commands
//! run without a shell, with a timeout that covers the whole process tree (each command is the
//! leader of its own process group, and the group is killed when the command ends or times
//! out), and every message about them masks the secrets. Secrets a tool can read from its
//! environment (`ipmitool -E` reads `IPMI_PASSWORD`) are passed there, never on the command
//! line, which every local user can read in `ps`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// The most output kept from a command, in bytes.
const MAX_OUTPUT: u64 = 64 * 1024;

/// A command ready to run: program and arguments, its extra environment, and the values to
/// hide when reporting it.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Variables added to the command's environment (a password for `ipmitool -E`); never
    /// shown.
    pub env: Vec<(String, String)>,
    /// Values never to show (passwords, host variables).
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for CommandLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// What a command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Why a command could not be built or did not succeed; secrets are masked in every message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The template uses a placeholder no variable defines.
    #[error("command template {template:?} uses {{{{.{name}}}}}, which no variable defines")]
    UndefinedVariable {
        /// The template (masked).
        template: String,
        /// The placeholder's name.
        name: String,
    },
    /// The template does not split into arguments (an unclosed quote).
    #[error("command template {template:?} has an unclosed quote")]
    Unsplittable {
        /// The template (masked).
        template: String,
    },
    /// The template is empty.
    #[error("the command is empty")]
    Empty,
    /// The program could not be started.
    #[error("cannot run {command}: {reason}")]
    Spawn {
        /// The command line (masked).
        command: String,
        /// The system's reason.
        reason: String,
    },
    /// The command ran longer than the timeout and was killed.
    #[error("{command} did not finish within {seconds} s and was stopped")]
    Timeout {
        /// The command line (masked).
        command: String,
        /// The timeout.
        seconds: u64,
    },
    /// The command exited with a failure.
    #[error("{command} failed ({status}): {stderr}")]
    Failed {
        /// The command line (masked).
        command: String,
        /// The exit status.
        status: String,
        /// The end of its standard error (masked).
        stderr: String,
    },
}

/// Replaces every `{{.name}}` whose name `lookup` knows; others are left as they are.
fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find("}}") {
            Some(end) => {
                let inner = after[2..end].trim();
                match inner.strip_prefix('.').and_then(|name| lookup(name.trim())) {
                    Some(value) => out.push_str(&value),
                    None => out.push_str(&after[..end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The names of the `{{.name}}` placeholders in `text`.
fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        if let Some(name) = inner.strip_prefix('.') {
            names.push(name.trim().to_owned());
        }
        rest = &rest[start + end + 2..];
    }
    names
}

impl CommandLine {
    /// Builds a command from `template`: `text_vars` (the operator's command fragments) are
    /// expanded as text, the line is split like a shell would split it (quotes respected, no
    /// expansion), then `values` are substituted inside each argument. `secrets` are masked
    /// in every message.
    pub fn build(
        template: &str,
        text_vars: &[(String, String)],
        values: &[(String, String)],
        secrets: Vec<String>,
    ) -> Result<Self, CommandError> {
        let find = |vars: &[(String, String)], name: &str| {
            vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        };
        // Adapter variables may refer to each other; a few rounds settle any sane nesting.
        let mut text = template.to_owned();
        for _ in 0..4 {
            let next = substitute(&text, &|name| find(text_vars, name));
            if next == text {
                break;
            }
            text = next;
        }
        let mask = |s: &str| mask_secrets(s, &secrets);
        let words = shlex::split(&text).ok_or_else(|| CommandError::Unsplittable {
            template: mask(template),
        })?;
        let argv: Vec<String> = words
            .iter()
            .map(|word| substitute(word, &|name| find(values, name)))
            .collect();
        let undefined = words
            .iter()
            .flat_map(|w| placeholders(w))
            .find(|name| find(values, name).is_none());
        if let Some(name) = undefined {
            return Err(CommandError::UndefinedVariable {
                template: mask(template),
                name,
            });
        }
        if argv.is_empty() {
            return Err(CommandError::Empty);
        }
        Ok(CommandLine {
            argv,
            env: Vec::new(),
            secrets,
        })
    }

    /// The same command with `name=value` added to its environment.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The command line as text, secrets masked, arguments quoted where needed.
    pub fn display(&self) -> String {
        let quoted: Vec<String> = self
            .argv
            .iter()
            .map(|a| {
                let masked = mask_secrets(a, &self.secrets);
                shlex::try_quote(&masked)
                    .map(|q| q.into_owned())
                    .unwrap_or(masked)
            })
            .collect();
        quoted.join(" ")
    }

    /// Runs the command without a shell. It leads a process group of its own: when it exits,
    /// or when `timeout` has passed, the whole group is killed (a background child it left
    /// cannot outlive it, nor keep its output open), and its output is read until the same
    /// deadline at most.
    pub fn run(&self, timeout: Duration) -> Result<Output, CommandError> {
        let (program, args) = self.argv.split_first().ok_or(CommandError::Empty)?;
        let deadline = Instant::now() + timeout;
        let mut child = Command::new(program)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| CommandError::Spawn {
                command: self.display(),
                reason: e.to_string(),
            })?;
        let (sender, outputs) = mpsc::channel();
        let mut readers = 0;
        if let Some(stdout) = child.stdout.take() {
            drain(stdout, Stream::Stdout, sender.clone());
            readers += 1;
        }
        if let Some(stderr) = child.stderr.take() {
            drain(stderr, Stream::Stderr, sender);
            readers += 1;
        }
        let status = child.wait_timeout(timeout);
        // The group's other members (background children) go with the command.
        kill_group(child.id());
        let status = match status {
            Ok(Some(status)) => status,
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CommandError::Timeout {
                    command: self.display(),
                    seconds: timeout.as_secs(),
                });
            }
        };
        let mut output = Output {
            stdout: String::new(),
            stderr: String::new(),
        };
        for _ in 0..readers {
            let left = deadline.saturating_duration_since(Instant::now());
            match outputs.recv_timeout(left.max(Duration::from_millis(100))) {
                Ok((Stream::Stdout, text)) => output.stdout = text,
                Ok((Stream::Stderr, text)) => output.stderr = text,
                // A process that left the group still holds the pipe: its output is lost.
                Err(_) => break,
            }
        }
        if status.success() {
            Ok(output)
        } else {
            let stderr = mask_secrets(output.stderr.trim(), &self.secrets);
            let tail: String = stderr
                .lines()
                .last()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            Err(CommandError::Failed {
                command: self.display(),
                status: status.to_string(),
                stderr: tail,
            })
        }
    }
}

/// Which output of a command.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Kills every process of the group `leader` leads; a group already gone is fine.
fn kill_group(leader: u32) {
    let group = i32::try_from(leader)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// Reads `pipe` on a thread of its own (at most [`MAX_OUTPUT`] bytes kept, the rest read and
/// dropped so the writer never blocks) and sends the text when the pipe closes.
fn drain(
    mut pipe: impl Read + Send + 'static,
    stream: Stream,
    done: mpsc::Sender<(Stream, String)>,
) {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe).take(MAX_OUTPUT).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        let _ = done.send((stream, String::from_utf8_lossy(&bytes).into_owned()));
    });
}

/// `text` with every non-empty secret replaced by `***`.
pub fn mask_secrets(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn adapter_text_expands_first_then_values_stay_one_argument_each() {
        let adapter = vars(&[(
            "command",
            "ipmitool -I lanplus -U {{.username}} -P {{.password}} -H {{.ip_address}}",
        )]);
        let host = vars(&[
            ("username", "admin user"),
            ("password", "x; rm -rf /"),
            ("ip_address", "10.0.0.1"),
        ]);
        let line = CommandLine::build(
            "{{.command}} power on",
            &adapter,
            &host,
            vec!["x; rm -rf /".into()],
        )
        .unwrap();
        assert_eq!(
            line.argv,
            [
                "ipmitool",
                "-I",
                "lanplus",
                "-U",
                "admin user",
                "-P",
                "x; rm -rf /",
                "-H",
                "10.0.0.1",
                "power",
                "on"
            ]
        );
        assert!(!line.display().contains("rm -rf"), "{}", line.display());
        assert!(
            line.display().contains("'admin user'"),
            "{}",
            line.display()
        );
    }

    #[test]
    fn an_undefined_placeholder_is_an_error_naming_it() {
        let err = CommandLine::build("ping {{.nope}}", &[], &[], vec![]).unwrap_err();
        assert!(err.to_string().contains("{{.nope}}"), "{err}");
        assert_eq!(
            CommandLine::build("  ", &[], &[], vec![]).unwrap_err(),
            CommandError::Empty
        );
        assert!(matches!(
            CommandLine::build("a 'b", &[], &[], vec![]),
            Err(CommandError::Unsplittable { .. })
        ));
    }

    #[test]
    fn a_value_containing_braces_is_not_read_again() {
        let line =
            CommandLine::build("echo {{.a}}", &[], &vars(&[("a", "{{.b}}")]), vec![]).unwrap();
        assert_eq!(line.argv, ["echo", "{{.b}}"]);
    }

    #[test]
    fn the_timeout_covers_the_whole_process_tree() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-survived");
        let script = format!("(sleep 2; touch {}) & echo on", marker.display());
        // The command exits at once but its background child holds the output pipe.
        let line =
            CommandLine::build("sh -c {{.s}}", &[], &vars(&[("s", &script)]), vec![]).unwrap();
        let started = Instant::now();
        let output = line.run(Duration::from_secs(5)).unwrap();
        assert_eq!(output.stdout, "on\n");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        // The command hangs with a background child: both go at the timeout.
        let script = format!("(sleep 2; touch {}) & sleep 20", marker.display());
        let line =
            CommandLine::build("sh -c {{.s}}", &[], &vars(&[("s", &script)]), vec![]).unwrap();
        let started = Instant::now();
        assert!(matches!(
            line.run(Duration::from_millis(500)),
            Err(CommandError::Timeout { .. })
        ));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_secs(3));
        assert!(!marker.exists(), "a background child outlived its command");
    }

    #[test]
    fn the_environment_carries_secrets_off_the_command_line() {
        let line = CommandLine::build(
            "sh -c {{.s}}",
            &[],
            &vars(&[("s", "echo $IPMI_PASSWORD")]),
            vec!["hunter2".into()],
        )
        .unwrap()
        .with_env("IPMI_PASSWORD", "hunter2");
        assert!(!line.argv.iter().any(|a| a.contains("hunter2")));
        assert!(!format!("{line:?}").contains("hunter2"));
        assert_eq!(
            line.run(Duration::from_secs(5)).unwrap().stdout,
            "hunter2\n"
        );
    }

    #[test]
    fn commands_run_without_a_shell_with_a_timeout_and_masked_errors() {
        let line =
            CommandLine::build("echo {{.v}}", &[], &vars(&[("v", "a;b $HOME")]), vec![]).unwrap();
        assert_eq!(
            line.run(Duration::from_secs(5)).unwrap().stdout,
            "a;b $HOME\n"
        );
        let slow = CommandLine::build("sleep 5", &[], &[], vec![]).unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            slow.run(Duration::from_millis(200)),
            Err(CommandError::Timeout { .. })
        ));
        assert!(started.elapsed() < Duration::from_secs(4));
        let failing = CommandLine::build(
            "sh -c {{.script}}",
            &[],
            &vars(&[("script", "echo hunter2 >&2; exit 3")]),
            vec!["hunter2".into()],
        )
        .unwrap();
        let err = failing.run(Duration::from_secs(5)).unwrap_err().to_string();
        assert!(err.contains("***") && !err.contains("hunter2"), "{err}");
        let missing = CommandLine::build("/nonexistent/tool", &[], &[], vec![]).unwrap();
        assert!(matches!(
            missing.run(Duration::from_secs(1)),
            Err(CommandError::Spawn { .. })
        ));
    }
}
