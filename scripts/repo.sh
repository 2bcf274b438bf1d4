#!/usr/bin/env bash
# make repo: signed apt and yum repositories of the packages in target/packages (make packages
# first), in OUT (default target/repo):
#   OUT/apt/    dists/stable/{InRelease,Release,Release.gpg}, dists/stable/main/binary-amd64/Packages(.gz), pool/main/*.deb
#   OUT/yum/    *.rpm (each signed), repodata/ with repomd.xml.asc (a detached signature)
#   OUT/assetkit-archive-keyring.gpg   the public key for apt's signed-by=
#   OUT/RPM-GPG-KEY-assetkit           the public key for yum/dnf's gpgkey=
#   OUT/assetkit.list, OUT/assetkit.repo   client configs to edit (the URL) and install
#
# The signing key: ASSETKIT_REPO_KEY (a key id or fingerprint) in the keyring of GNUPGHOME
# (default ~/.gnupg); ASSETKIT_REPO_PASSPHRASE_FILE if the key has a passphrase and no agent
# holds it. Without ASSETKIT_REPO_KEY a THROW-AWAY key is made in OUT/gnupg: fine for a test,
# never for hosts you install from (a new key each run, expiring in a day).
#
# Uses apt-ftparchive (apt-utils), gpg, rpmsign (rpm) and createrepo_c (createrepo-c).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/repo}
packages=${ASSETKIT_PACKAGES_DIR:-target/packages}
suite=${ASSETKIT_REPO_SUITE:-stable}
component=main
arch=amd64

die() { echo "repo: $*" >&2; exit 1; }
for tool in apt-ftparchive gpg rpmsign createrepo_c; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh installs apt-utils, gnupg, rpm, createrepo-c)"
done
shopt -s nullglob
debs=("$packages"/*.deb)
rpms=("$packages"/*.rpm)
((${#debs[@]} && ${#rpms[@]})) || die "no .deb or .rpm in $packages: run make packages first"

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -z ${ASSETKIT_REPO_KEY:-} ]]; then
  export GNUPGHOME=$out/gnupg
  mkdir -m 0700 "$GNUPGHOME"
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'assetkit throw-away repository key <repo@assetkit.invalid>' rsa3072 sign 1d
  ASSETKIT_REPO_KEY=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
  echo "repo: WARNING: signed with a throw-away key ($ASSETKIT_REPO_KEY, expires in a day);" \
    "set ASSETKIT_REPO_KEY (and GNUPGHOME) to sign with your repository key" >&2
fi
key=$ASSETKIT_REPO_KEY
gpg --batch --list-secret-keys "$key" >/dev/null 2>&1 || die "no secret key $key in ${GNUPGHOME:-~/.gnupg}"
sign_opts=(--batch --yes --local-user "$key")
rpm_extra=""
if [[ -n ${ASSETKIT_REPO_PASSPHRASE_FILE:-} ]]; then
  sign_opts+=(--pinentry-mode loopback --passphrase-file "$ASSETKIT_REPO_PASSPHRASE_FILE")
  rpm_extra="--pinentry-mode loopback --passphrase-file $ASSETKIT_REPO_PASSPHRASE_FILE"
fi
gpg --export "$key" > "$out/assetkit-archive-keyring.gpg"
gpg --armor --export "$key" > "$out/RPM-GPG-KEY-assetkit"

# apt: a pool and one suite, Release signed inline (InRelease) and detached (Release.gpg).
apt=$out/apt
dist=$apt/dists/$suite
mkdir -p "$apt/pool/$component" "$dist/$component/binary-$arch"
cp "${debs[@]}" "$apt/pool/$component/"
(cd "$apt" && apt-ftparchive packages "pool/$component" > "dists/$suite/$component/binary-$arch/Packages")
gzip -9nk "$dist/$component/binary-$arch/Packages"
# Written beside, then moved in: apt-ftparchive would otherwise hash its own half-written output.
apt-ftparchive \
  -o APT::FTPArchive::Release::Origin=assetkit -o APT::FTPArchive::Release::Label=assetkit \
  -o APT::FTPArchive::Release::Suite="$suite" -o APT::FTPArchive::Release::Codename="$suite" \
  -o APT::FTPArchive::Release::Architectures="$arch" -o APT::FTPArchive::Release::Components="$component" \
  -o APT::FTPArchive::Release::Description="assetkit packages" \
  release "$dist" > "$out/Release.new"
mv "$out/Release.new" "$dist/Release"
gpg "${sign_opts[@]}" --clearsign -o "$dist/InRelease" "$dist/Release"
gpg "${sign_opts[@]}" --armor --detach-sign -o "$dist/Release.gpg" "$dist/Release"

# yum/dnf: each package signed (before createrepo_c: signing changes the checksums it records),
# then the metadata, then a detached signature of repomd.xml for repo_gpgcheck.
yum=$out/yum
mkdir -p "$yum"
cp "${rpms[@]}" "$yum/"
# rpm's own default for gpg is /usr/bin/gpg2, which only Debian's transitional gnupg2 package
# provides: name the gpg this script checked for above.
rpmsign --define "__gpg $(command -v gpg)" --define "_gpg_name $key" --define "_gpg_path ${GNUPGHOME:-$HOME/.gnupg}" \
  ${rpm_extra:+--define "_gpg_sign_cmd_extra_args $rpm_extra"} --addsign "$yum"/*.rpm \
  > /dev/null 2> >(grep -v 'Could not set GPG_TTY' >&2)
createrepo_c --quiet "$yum"
gpg "${sign_opts[@]}" --armor --detach-sign -o "$yum/repodata/repomd.xml.asc" "$yum/repodata/repomd.xml"

# Client configs: replace the URL with where the repository is served from.
cat > "$out/assetkit.list" <<EOF
# /etc/apt/sources.list.d/assetkit.list (the key: /etc/apt/keyrings/assetkit.gpg, from assetkit-archive-keyring.gpg)
deb [signed-by=/etc/apt/keyrings/assetkit.gpg] https://repo.example.com/assetkit/apt $suite $component
EOF
cat > "$out/assetkit.repo" <<EOF
# /etc/yum.repos.d/assetkit.repo
[assetkit]
name=assetkit
baseurl=https://repo.example.com/assetkit/yum
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=https://repo.example.com/assetkit/RPM-GPG-KEY-assetkit
EOF
echo "repo: $out (apt: ${#debs[@]} packages, yum: ${#rpms[@]} packages, signed by $key)"
