//! The manual page and the shell completion scripts of `pxe-pilot`, generated from the clap
//! definition in [`crate::args`] (clap_mangen, clap_complete), so that they never drift from
//! the command line. The hidden commands `pxe-pilot man` and `pxe-pilot completions SHELL`
//! print them; the Debian package ships copies kept in `packaging/` (a test checks they are
//! what these functions generate).

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::Cli;

/// Writes the completion script of `shell` for `pxe-pilot`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "pxe-pilot", out);
}

/// Writes the manual page `pxe-pilot(1)` (roff): the synopsis, the options, every command.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    // Every command, with its own options: `config deploy`, `host list`...
    writeln!(out, ".SH COMMANDS")?;
    for group in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        let leaves: Vec<_> = group.get_subcommands().collect();
        if leaves.is_empty() {
            write_command(out, &[group.get_name()], group)?;
        }
        for leaf in leaves {
            write_command(out, &[group.get_name(), leaf.get_name()], leaf)?;
        }
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    for (var, text) in [
        ("PXE_PILOT_SERVER", "The server, as --server."),
        ("PXE_PILOT_TOKEN", "The bearer token, as --token."),
        ("PXE_PILOT_RETRY_FOR", "As --retry-for."),
    ] {
        writeln!(out, ".TP\n\\fB{var}\\fR\n{text}")?;
    }
    writeln!(
        out,
        ".SH EXIT STATUS\n0 done; 1 the server refused the request or it cannot be made; 2 the server \
         could not be reached, or kept failing, until \\-\\-retry\\-for ran out; 64 wrong usage."
    )?;
    man.render_version_section(out)?;
    writeln!(
        out,
        ".SH SEE ALSO\n\\fBpxe-pilot-server\\fR, /usr/share/doc/pxe-pilot/README.md and docs/, \
         http://SERVER:3478/v1/openapi.json"
    )
}

/// One command of the COMMANDS section: its synopsis, what it does, its arguments.
fn write_command(out: &mut dyn Write, path: &[&str], command: &clap::Command) -> io::Result<()> {
    let mut synopsis = format!("pxe-pilot {}", path.join(" "));
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let name = arg.get_id().as_str();
        if arg.is_positional() {
            let value = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map(|v| v.to_string())
                .unwrap_or_else(|| name.to_uppercase());
            let many = matches!(arg.get_num_args(), Some(r) if r.max_values() > 1);
            synopsis.push_str(&format!(" {value}{}", if many { "..." } else { "" }));
        } else if let Some(long) = arg.get_long() {
            synopsis.push_str(&format!(" [--{long}]"));
        }
    }
    writeln!(out, ".TP\n\\fB{}\\fR", roff_escape(&synopsis))?;
    if let Some(about) = command.get_about() {
        writeln!(out, "{}", roff_escape(&about.to_string()))?;
    }
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(help) = arg.get_help() else { continue };
        let name = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}, --{l}"),
            (None, Some(l)) => format!("--{l}"),
            _ => arg
                .get_value_names()
                .and_then(|v| v.first())
                .map(|v| v.to_string())
                .unwrap_or_else(|| arg.get_id().to_string()),
        };
        writeln!(
            out,
            ".RS\n.TP\n{}\n{}\n.RE",
            roff_escape(&name),
            roff_escape(&help.to_string())
        )?;
    }
    Ok(())
}

/// Text as roff reads it literally: dashes and backslashes escaped, no line starting with a
/// control character.
fn roff_escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_lists_every_command() {
        let mut page = Vec::new();
        man_page(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..80]);
        for command in [
            "pxe\\-pilot config deploy",
            "pxe\\-pilot host list",
            "pxe\\-pilot bootloader list",
            "pxe\\-pilot version",
            "\\-\\-self",
            "PXE_PILOT_SERVER",
        ] {
            assert!(page.contains(command), "{command} missing");
        }
        assert!(
            !page.contains("completions"),
            "hidden commands stay out of it"
        );
    }

    #[test]
    fn completions_know_the_commands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            completions(shell, &mut script);
            let script = String::from_utf8(script).unwrap();
            for word in ["deploy", "refresh", "server"] {
                assert!(script.contains(word), "{shell}: {word}");
            }
        }
    }
}
