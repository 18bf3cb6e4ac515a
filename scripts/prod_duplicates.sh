#!/usr/bin/env bash
# Issue 13's duplication limit, measured the one agreed way: every git-tracked .py/.html/.js/.css file outside
# migrations, tests/, bench/ and scripts/ copied (paths kept) into an empty temp dir that is not a git repo,
# then `duplicates` over it. Done means: at most 20 pairs.
# Extra arguments go to `duplicates` (default: --most 80 --seconds 120).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cd "$ROOT"
git ls-files -z -- '*.py' '*.html' '*.js' '*.css' \
    | grep -zv -e '/piccolo_migrations/' -e '^tests/' -e '^bench/' -e '^scripts/' \
    | while IFS= read -r -d '' path; do
        # A file deleted in the working tree but still tracked is skipped.
        [ -f "$path" ] || continue
        mkdir -p "$TMP/$(dirname "$path")"
        cp "$path" "$TMP/$path"
    done

cd "$TMP"
if [ "$#" -eq 0 ]; then set -- --most 80 --seconds 120; fi
duplicates "$@"
