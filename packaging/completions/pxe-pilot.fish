# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pxe_pilot_global_optspecs
    string join \n s/server= o/output= token= token-file= retry-for= d/debug sysfs-net= h/help V/version
end

function __fish_pxe_pilot_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pxe_pilot_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pxe_pilot_using_subcommand
    set -l cmd (__fish_pxe_pilot_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -l sysfs-net -d 'Folder whose `*/address` files give this machine\'s MAC addresses for `--self` (a testing aid; the environment variable is the documented way to set it)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -s V -l version -d 'Print version'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "bootloader" -d 'Bootloaders the server knows (`bootloaders:` of its configuration file)'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "config" -d 'PXE configurations: list the catalogue, show one, deploy one to hosts'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "host" -d 'Hosts: list them with what they boot, power them, refresh their BMC addresses'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "version" -d 'Show the versions of this client and of the server'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "man" -d 'Print the manual page (roff) on stdout: `pxe-pilot man | man -l -`'
complete -c pxe-pilot -n "__fish_pxe_pilot_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -f -a "list" -d 'List the bootloaders: name, file DHCP hands out, where it reads its configuration'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and not __fish_seen_subcommand_from list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the bootloaders: name, file DHCP hands out, where it reads its configuration'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand bootloader; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -f -a "list" -d 'List the configurations of the catalogue and their bootloader'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -f -a "show" -d 'Print a configuration file as the hosts will read it'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -f -a "deploy" -d 'Make hosts boot a configuration from their next PXE boot on'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and not __fish_seen_subcommand_from list show deploy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -s n -l now -d 'Reboot (or power on) the hosts once their configuration is switched; where the BMC can, their next boot is made a network boot, once, first'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -l once -d 'Boot the configuration once: after the host\'s first fetch of it, the server switches it back to its fallback (`local`). For configurations served over HTTP, and PXELINUX or GRUB ones when the server serves TFTP itself (tftp.serve)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -l self -d 'Deploy to the machine this command runs on: the host that owns one of its MAC addresses (read from /sys/class/net). For an installer\'s last step'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from deploy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the configurations of the catalogue and their bootloader'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a configuration file as the hosts will read it'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "deploy" -d 'Make hosts boot a configuration from their next PXE boot on'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "list" -d 'List the hosts: configuration, MAC addresses, BMC address, power state'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "reboot" -d 'Reboot a host (power it on if it is off)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "on" -d 'Power a host on'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "off" -d 'Power a host off'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "refresh" -d 'Scan the management subnets so that BMC addresses are found in the ARP table'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "events" -d 'What happened to a host (deploys, power, boots...), newest first'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "unknown" -d 'The machines seen booting whose MAC address no host has, last seen first'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and not __fish_seen_subcommand_from list reboot on off refresh events unknown help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from reboot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from on" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from off" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from refresh" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -l limit -d 'How many events at most' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from unknown" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the hosts: configuration, MAC addresses, BMC address, power state'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "reboot" -d 'Reboot a host (power it on if it is off)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "on" -d 'Power a host on'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "off" -d 'Power a host off'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "refresh" -d 'Scan the management subnets so that BMC addresses are found in the ARP table'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "events" -d 'What happened to a host (deploys, power, boots...), newest first'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "unknown" -d 'The machines seen booting whose MAC address no host has, last seen first'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand host; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -s s -l server -d 'URL of the pxe-pilot server ("http://" is assumed when no scheme is given)' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -s o -l output -d 'How to print the answer: `table` for people, `json` (the server\'s JSON, pretty) for scripts' -r -f -a "table\t'ASCII tables, as the original PXE Pilot prints them'
json\t'The server\'s JSON answer, pretty-printed (nothing for answers without a body)'"
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -l token -d 'Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`. Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -l token-file -d 'A file whose first line is the token (the Debian package\'s /etc/pxe-pilot/token)' -r -F
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -l retry-for -d 'Keep retrying reads and deploys this long while the server cannot be reached or fails (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request' -r
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -s d -l debug -d 'Print each request and its answer\'s status on stderr'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "bootloader" -d 'Bootloaders the server knows (`bootloaders:` of its configuration file)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "config" -d 'PXE configurations: list the catalogue, show one, deploy one to hosts'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "host" -d 'Hosts: list them with what they boot, power them, refresh their BMC addresses'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "version" -d 'Show the versions of this client and of the server'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "man" -d 'Print the manual page (roff) on stdout: `pxe-pilot man | man -l -`'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and not __fish_seen_subcommand_from bootloader config host version completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from bootloader" -f -a "list" -d 'List the bootloaders: name, file DHCP hands out, where it reads its configuration'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "list" -d 'List the configurations of the catalogue and their bootloader'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print a configuration file as the hosts will read it'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "deploy" -d 'Make hosts boot a configuration from their next PXE boot on'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "list" -d 'List the hosts: configuration, MAC addresses, BMC address, power state'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "reboot" -d 'Reboot a host (power it on if it is off)'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "on" -d 'Power a host on'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "off" -d 'Power a host off'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "refresh" -d 'Scan the management subnets so that BMC addresses are found in the ARP table'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "events" -d 'What happened to a host (deploys, power, boots...), newest first'
complete -c pxe-pilot -n "__fish_pxe_pilot_using_subcommand help; and __fish_seen_subcommand_from host" -f -a "unknown" -d 'The machines seen booting whose MAC address no host has, last seen first'
