#!/usr/bin/env bash
# Checks the links of the built book, offline: every page reached from index.html, every link
# between pages and every #anchor (linkchecker's AnchorCheck). Links to other sites are not
# followed (CI reaches no network but package registries); a broken page link or a missing
# anchor is an error and exits 1.
#
#   scripts/check_links.sh [BOOK_DIR]      BOOK_DIR defaults to target/book (make docs)
set -euo pipefail
cd "$(dirname "$0")/.."
book=$(realpath "${1:-target/book}")
[[ -f $book/index.html ]] || { echo "check_links: no book in $book (run mdbook build docs)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As root, linkchecker drops its privileges to `nobody`: give it a copy it can read.
cp -r "$book" "$work/book"
chmod -R a+rX "$work"
cat >"$work/linkcheckerrc" <<'CONF'
[filtering]
# Other sites are not fetched: only file:// links are checked.
ignore=
  ^https?://
  ^mailto:
  print\.html
checkextern=0

[AnchorCheck]
CONF
chmod a+r "$work/linkcheckerrc"

if ! linkchecker --no-status -f "$work/linkcheckerrc" "file://$work/book/index.html" >"$work/out.txt" 2>&1; then
  sed -n '/^URL /,/^$/p' "$work/out.txt" | grep -B6 -A2 -E '^(Result +Error|Warning)' || cat "$work/out.txt"
  grep -E '^That.s it' "$work/out.txt" >&2 || true
  echo "check_links: broken links or anchors in the book (above)" >&2
  exit 1
fi
grep -E '^That.s it' "$work/out.txt"
