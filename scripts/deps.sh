#!/usr/bin/env bash
# Installs what the test suite needs, idempotently: Debian packages (sshd for SSH mode, Chromium
# for the console, shellcheck for Cobbler snippets, rpm for package checks, PostgreSQL for the
# scale-out engine: the tests start throw-away clusters of their own; jq, which the book's
# examples use, and linkchecker, which checks the book's links; for installing the way the fleet
# does: puppet and puppet-lint, man-db, systemd's offline tools (systemd-analyze,
# systemd-sysusers), gnupg, apt-utils, createrepo-c and dnf for the signed repositories,
# python3-apt for Ansible's apt module) and a Python venv in .venv with requirements-test.txt.
# Cargo tools for packages and mdBook for the book come from crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openssh-server openssh-client shellcheck rpm chromium chromium-driver iproute2 curl python3-venv postgresql strace jq linkchecker
  puppet puppet-lint man-db systemd gnupg apt-utils createrepo-c dnf python3-apt)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
if ! cmp -s requirements-test.txt .venv/.requirements-installed 2>/dev/null; then
  echo "deps: installing Python test tools into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  # Cobbler's own templar, for rendering the snippet exactly as a Cobbler server does; without the
  # server's dependencies (mod_wsgi needs Apache headers, python-ldap needs libldap).
  .venv/bin/pip install -q --disable-pip-version-check --no-deps cobbler==3.3.7
  .venv/bin/pip install -q --disable-pip-version-check netaddr==1.3.0 schema==0.7.7 distro==1.9.0
  cp requirements-test.txt .venv/.requirements-installed
fi

for tool in cargo-deb:3.8.0 cargo-generate-rpm:0.21.1 cargo-fuzz:0.13.2; do
  name=${tool%%:*}
  if ! cargo "${name#cargo-}" --version >/dev/null 2>&1; then
    echo "deps: cargo install $name (once)" >&2
    cargo install --locked -q "$name@${tool##*:}"
  fi
done

# mdBook for the book (make docs): the HTML renderer and its search, without the default `watch`
# and `serve` features (a file watcher and an HTTP server that CI never runs). Once per machine:
# about 1m40s on the CI kind of machine (2 vCPU), into ~/.cargo/bin.
mdbook_version=0.5.4
if [[ $(mdbook --version 2>/dev/null) != "mdbook v$mdbook_version" ]]; then
  echo "deps: cargo install mdbook $mdbook_version (once)" >&2
  cargo install --locked -q "mdbook@$mdbook_version" --no-default-features --features search
fi
