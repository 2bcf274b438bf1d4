"""make repo (scripts/repo.sh): the signed apt repository installs both packages on this machine
with apt-get and `signed-by=`; the signed yum repository is checked by dnf (repo_gpgcheck for
repomd.xml.asc, gpgcheck for the packages) installing both into an installroot, and by rpm.
The signing key is a throw-away one made here, passed the way a real key is (ASSETKIT_REPO_KEY
in GNUPGHOME)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from installed import installed_version, package, packages_removed_after, run

SCRIPT = REPO / "scripts" / "repo.sh"


def new_key(home: Path, name: str) -> str:
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    run("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", f"{name} <{name}@assetkit.invalid>", "rsa3072", "sign", "1d", env=env)
    listing = run("gpg", "--list-keys", "--with-colons", env=env).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    package("assetkit_*.deb"), package("assetkitd-*.rpm")
    base = tmp_path_factory.mktemp("repo")
    fingerprint = new_key(base / "gnupg", "assetkit-test-repo")
    out = base / "out"
    done = run(str(SCRIPT), str(out), env={**os.environ, "GNUPGHOME": str(base / "gnupg"), "ASSETKIT_REPO_KEY": fingerprint})
    assert f"signed by {fingerprint}" in done.stdout and "throw-away" not in done.stderr, done.stderr
    assert not (out / "gnupg").exists(), "a given key: no key material in the repository"
    return out


class Apt:
    """apt-get with its sources, lists and cache in a temporary directory: the machine's own
    apt configuration is neither read nor changed; packages install into the machine's dpkg."""

    def __init__(self, root: Path, line: str):
        for d in ("lists/partial", "cache/archives/partial"):
            (root / d).mkdir(parents=True, exist_ok=True)
        for d in (root, *root.rglob("*")):
            if d.is_dir():
                d.chmod(0o755)  # apt drops to _apt for file: sources
        (root / "sources.list").write_text(line + "\n")
        self.options = [
            "-o", f"Dir::Etc::SourceList={root / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/nonexistent",
            "-o", f"Dir::State::Lists={root / 'lists'}", "-o", f"Dir::Cache={root / 'cache'}",
        ]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("apt-get", *self.options, *args, check=check, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def test_apt_get_installs_both_from_the_signed_repository(repo, tmp_path):
    keyring = tmp_path / "assetkit.gpg"
    shutil.copyfile(repo / "assetkit-archive-keyring.gpg", keyring)
    keyring.chmod(0o644)
    (repo / "apt").chmod(0o755)
    run("gpgv", "--keyring", str(keyring), str(repo / "apt/dists/stable/InRelease"))

    # A key that did not sign it: apt refuses the repository.
    stranger = tmp_path / "stranger"
    new_key(stranger, "stranger")
    wrong = tmp_path / "wrong.gpg"
    wrong.write_bytes(run("gpg", "--export", env={**os.environ, "GNUPGHOME": str(stranger)}, text=False).stdout)
    wrong.chmod(0o644)
    refused = Apt(tmp_path / "refused", f"deb [signed-by={wrong}] file:{repo / 'apt'} stable main")("update", check=False)
    assert refused.returncode == 100 and "NO_PUBKEY" in refused.stdout + refused.stderr, refused.stderr

    apt = Apt(tmp_path / "apt", f"deb [signed-by={keyring}] file:{repo / 'apt'} stable main")
    with packages_removed_after("assetkit", "assetkitd"):
        updated = apt("update")
        assert "stable InRelease" in updated.stdout, updated.stdout
        apt("install", "-y", "--no-install-recommends", "assetkit", "assetkitd")
        assert installed_version("assetkit") and installed_version("assetkitd")
        assert run("/usr/bin/assetkit", "--version").stdout.startswith("assetkit ")
        assert run("/usr/bin/assetkitd", "--version").stdout.startswith("assetkitd ")
        assert Path("/etc/assetkit/assetkitd/server.key").exists(), "the receiver's package set itself up"
        run("dpkg", "--purge", "assetkit", "assetkitd")
        assert not installed_version("assetkit") and not installed_version("assetkitd")


def base_repo(tmp_path: Path, rpms: list[Path]) -> Path:
    """A stand-in for the OS repository: one package providing what ours require of the OS
    (glibc's and libgcc's libraries), so that dnf can resolve them in an empty installroot."""
    needs = sorted({r for p in rpms for r in run("rpm", "-qpR", str(p)).stdout.split("\n") if r and not r.startswith(("rpmlib(", "config("))})
    spec = tmp_path / "base.spec"
    spec.write_text(
        "Name: os-base\nVersion: 1\nRelease: 1\nSummary: stands in for the OS\nLicense: MIT\nBuildArch: noarch\n"
        + "".join(f"Provides: {r}\n" for r in needs)
        + "%description\nstands in for the OS\n%files\n"
    )
    run("rpmbuild", "--quiet", "--define", f"_topdir {tmp_path / 'build'}", "-bb", str(spec))
    repo = tmp_path / "base"
    repo.mkdir()
    for rpm in (tmp_path / "build" / "RPMS" / "noarch").glob("*.rpm"):
        shutil.copy(rpm, repo)
    run("createrepo_c", "--quiet", str(repo))
    return repo


def dnf(root: Path, yum: Path, key: Path, base: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(
        "dnf", "-y", f"--installroot={root}", "--releasever=1", "--setopt=reposdir=/nonexistent",
        f"--setopt=cachedir={root}/var/cache/dnf", "--setopt=tsflags=noscripts",
        f"--repofrompath=base,file://{base}", "--setopt=base.gpgcheck=0",
        f"--repofrompath=assetkit,file://{yum}", "--setopt=assetkit.gpgcheck=1", "--setopt=assetkit.repo_gpgcheck=1", "--setopt=assetkit.skip_if_unavailable=0",
        f"--setopt=assetkit.gpgkey=file://{key}", *args, check=check,
    )


def test_yum_repository_signed_metadata_and_packages(repo, tmp_path):
    yum, key = repo / "yum", repo / "RPM-GPG-KEY-assetkit"
    rpms = sorted(yum.glob("*.rpm"))
    assert [p.name.split("-0")[0] for p in rpms] == ["assetkit", "assetkitd"]

    # rpm: each package carries a signature by the repository key (an unsigned one would say
    # only "digests OK").
    db = tmp_path / "rpmdb"
    db.mkdir()
    before = run("rpmkeys", "--dbpath", str(db), "-Kv", *map(str, rpms), check=False)
    assert "NOKEY" in before.stdout + before.stderr
    run("rpmkeys", "--dbpath", str(db), "--import", str(key))
    checked = run("rpmkeys", "--dbpath", str(db), "-K", *map(str, rpms)).stdout
    assert checked.count("digests signatures OK") == 2, checked

    # dnf: repomd.xml.asc verified (repo_gpgcheck), the packages' signatures verified (gpgcheck),
    # both installed into an empty root.
    base = base_repo(tmp_path, rpms)
    root = tmp_path / "root"
    out = dnf(root, yum, key, base, "install", "assetkit", "assetkitd")
    assert "Importing GPG key" in out.stdout + out.stderr and "Complete!" in out.stdout, out.stdout
    for binary in ("assetkit", "assetkitd"):
        assert (root / "usr" / "bin" / binary).is_file()
    assert (root / "usr/lib/systemd/system/assetkitd.service").is_file()
    assert "gpg-pubkey-" in run("rpm", "--root", str(root), "-qa").stdout

    # Metadata changed after signing: dnf refuses the repository.
    tampered = tmp_path / "tampered"
    shutil.copytree(yum, tampered)
    repomd = tampered / "repodata" / "repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>1"))
    refused = dnf(tmp_path / "root2", tampered, key, base, "makecache", check=False)
    assert refused.returncode != 0 and "GPG signature verification error" in refused.stdout + refused.stderr, refused.stderr


def test_without_a_key_it_signs_with_a_throw_away_one_and_says_so(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("ASSETKIT_REPO_KEY", "GNUPGHOME")}
    done = run(str(SCRIPT), str(out), env=env)
    assert "WARNING: signed with a throw-away key" in done.stderr
    run("gpgv", "--keyring", str(out / "assetkit-archive-keyring.gpg"), str(out / "apt/dists/stable/InRelease"))
