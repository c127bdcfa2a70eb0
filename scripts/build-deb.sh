#!/usr/bin/env bash
# Builds the Debian package target/debian/pxe-pilot_<version>-1_amd64.deb: the static client
# first (the package ships it as /usr/bin/pxe-pilot and the server hands it to installers),
# then `cargo deb` builds the server in release and packs everything
# ([package.metadata.deb] of pxe-pilot-server/Cargo.toml). Prints the package's path last.
#
# Needs: cargo-deb (`cargo install cargo-deb --locked`), dpkg-deb, the musl target
# (`rustup target add x86_64-unknown-linux-musl`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deb --version >/dev/null 2>&1; then
  echo "build-deb: cargo-deb is missing: cargo install cargo-deb --locked" >&2
  exit 1
fi
cargo build -p pxe-pilot-cli --profile release-small --target x86_64-unknown-linux-musl
# PXE_PILOT_DEB_PROFILE picks another cargo profile for the server (CI: deb-check).
cargo deb -p pxe-pilot-server --profile "${PXE_PILOT_DEB_PROFILE:-release}" "$@" | tail -n 1
