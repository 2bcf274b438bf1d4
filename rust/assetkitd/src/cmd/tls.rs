//! `assetkitd tls self-signed`: HTTPS for a trial without a company CA. It makes a small
//! certificate authority and a server certificate that authority signs, because an agent (like
//! any TLS client) refuses a self-signed CA certificate served as the server's own
//! ("CaUsedAsEndEntity"): the server serves `server.pem`, the agents trust `ca.pem`.

use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

use crate::out;

/// The `tls` subcommands.
#[derive(Subcommand)]
pub enum TlsCommand {
    /// Make a trial CA (ca.pem) and a server certificate it signs (server.pem, server.key):
    /// serve with --tls-cert server.pem --tls-key server.key, and give the agents ca.pem
    /// (ca_file in agent.toml). The CA's private key is not kept: nothing else can be signed
    /// with it. For production, use a certificate from your own CA.
    #[command(after_help = "Example:\n  \
        assetkitd tls self-signed --host cmdb.example.com --ip 192.0.2.10 --out /etc/assetkit/tls\n  \
        assetkitd serve --tls-cert /etc/assetkit/tls/server.pem --tls-key /etc/assetkit/tls/server.key\n  \
        # on each host, in /etc/assetkit/agent.toml:\n  \
        #   server = \"https://cmdb.example.com:8600\"\n  \
        #   ca_file = \"/etc/assetkit/ca.pem\"   (a copy of /etc/assetkit/tls/ca.pem)")]
    SelfSigned(SelfSignedArgs),
}

/// Arguments of `tls self-signed`.
#[derive(Args)]
pub struct SelfSignedArgs {
    /// A DNS name the agents use in `server` (repeat it, or separate names with commas).
    #[arg(long, required = true, value_delimiter = ',', value_name = "NAME")]
    host: Vec<String>,
    /// An IP address the agents may use instead (repeat it, or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "ADDR")]
    ip: Vec<IpAddr>,
    /// The directory to write ca.pem, server.pem and server.key into (created, mode 0700, if
    /// missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How long the certificates are valid.
    #[arg(long, default_value = "365d", value_parser = super::duration, value_name = "DURATION")]
    valid_for: Duration,
    /// Replace files already in DIR.
    #[arg(long)]
    force: bool,
}

/// Runs `tls`.
pub fn run(cmd: TlsCommand) -> anyhow::Result<()> {
    let TlsCommand::SelfSigned(args) = cmd;
    let made = self_signed(&args.host, &args.ip, args.valid_for)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let files = [
        ("ca.pem", &made.ca_pem, 0o644),
        ("server.pem", &made.server_pem, 0o644),
        ("server.key", &made.key_pem, 0o600),
    ];
    if !args.force
        && let Some((name, _, _)) = files.iter().find(|(name, _, _)| args.out.join(name).exists())
    {
        anyhow::bail!("{} exists; pass --force to replace it", args.out.join(name).display());
    }
    for (name, text, mode) in files {
        write(&args.out.join(name), text, mode)?;
    }
    let shown = std::path::absolute(&args.out).unwrap_or(args.out.clone());
    let d = shown.display();
    out!("wrote {d}/ca.pem      the CA: copy it to each host and set ca_file = \"/etc/assetkit/ca.pem\" in agent.toml");
    out!("wrote {d}/server.pem  the server's certificate, signed by that CA, for {}", names(&args.host, &args.ip));
    out!("wrote {d}/server.key  its private key (mode 0600)");
    out!("serve with: assetkitd serve --tls-cert {d}/server.pem --tls-key {d}/server.key");
    Ok(())
}

fn names(hosts: &[String], ips: &[IpAddr]) -> String {
    hosts.iter().cloned().chain(ips.iter().map(ToString::to_string)).collect::<Vec<_>>().join(", ")
}

fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// A CA certificate, and a server certificate it signed with that server's key, as PEM.
pub struct SelfSigned {
    /// The CA certificate (what the agents trust).
    pub ca_pem: String,
    /// The server's certificate.
    pub server_pem: String,
    /// The server's private key.
    pub key_pem: String,
}

/// Makes a CA and a server certificate for `hosts` and `ips`, valid from an hour ago (clocks
/// differ) for `valid_for`.
pub fn self_signed(hosts: &[String], ips: &[IpAddr], valid_for: Duration) -> anyhow::Result<SelfSigned> {
    let now = time::OffsetDateTime::now_utc();
    let (from, until) = (now - Duration::from_secs(3600), now + valid_for);
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.distinguished_name.push(DnType::CommonName, format!("assetkit trial CA for {}", hosts.join(", ")));
    (ca.not_before, ca.not_after) = (from, until);
    let ca_key = KeyPair::generate()?;
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(hosts.to_vec()).context("a --host is not a valid DNS name")?;
    server.subject_alt_names.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    server.distinguished_name.push(DnType::CommonName, hosts[0].clone());
    (server.not_before, server.not_after) = (from, until);
    let key = KeyPair::generate()?;
    let server_pem = server.signed_by(&key, &issuer)?.pem();
    Ok(SelfSigned { ca_pem, server_pem, key_pem: key.serialize_pem() })
}
