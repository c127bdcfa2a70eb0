//! Running the operator's commands (power management, discovery) safely.
//!
//! A command line is a template with the original's `{{.name}}` placeholders. It is expanded
//! in two steps: the operator's own text (adapter variables) as text first, then the line is
//! split into arguments, and only then are values (host variables, passwords, the BMC address)
//! put inside each argument. A value with spaces or `;` therefore stays one argument. Commands
//! run without a shell, with a timeout, and every message about them masks the secrets.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// The most output kept from a command, in bytes.
const MAX_OUTPUT: u64 = 64 * 1024;

/// A command ready to run: program and arguments, and the values to hide when reporting it.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The program and its arguments.
    pub argv: Vec<String>,
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
        Ok(CommandLine { argv, secrets })
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

    /// Runs the command without a shell, killing it after `timeout`.
    pub fn run(&self, timeout: Duration) -> Result<Output, CommandError> {
        let (program, args) = self.argv.split_first().ok_or(CommandError::Empty)?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CommandError::Spawn {
                command: self.display(),
                reason: e.to_string(),
            })?;
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let status = match child.wait_timeout(timeout) {
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
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        let output = Output {
            stdout: join(stdout),
            stderr: join(stderr),
        };
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

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe).take(MAX_OUTPUT).read_to_end(&mut bytes);
        // Keep reading to the end so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        String::from_utf8_lossy(&bytes).into_owned()
    })
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
