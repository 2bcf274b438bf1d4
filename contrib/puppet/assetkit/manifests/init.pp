# @summary Installs, configures and enables the assetkit agent.
#
# The agent package comes from the signed assetkit repository or a package file; agent.toml is
# written from these parameters, the fleet key (or a pre-enrolled host credential) into a 0600
# file that Puppet never shows; the report timer is enabled and one first report is sent.
#
# @example From the repository, the key from Hiera (eyaml)
#   class { 'assetkit':
#     server        => 'https://cmdb.example.com:8600',
#     key_id        => 'ak_0123456789abcdef',
#     key           => Sensitive(lookup('assetkit::fleet_key')),
#     repo_url      => 'https://repo.example.com/assetkit',
#     repo_key_source => 'https://repo.example.com/assetkit/assetkit-archive-keyring.gpg',
#   }
#
# @param server
#   The receiver's URL.
# @param key_id
#   The fleet key's id (`assetkitd keys create --scope agent`); it enrols each host once.
# @param key
#   The fleet key's secret. Give it or key_source.
# @param key_source
#   Where Puppet fetches the fleet key's secret file (puppet:///..., a path on the node).
# @param host_credential
#   A pre-enrolled host credential: the line `assetkitd hosts enrol HOST` prints,
#   {"key_id": "hk_...", "secret": "..."}; with it the fleet key is not needed.
# @param plugins
#   The plugins to run; empty: every built-in one.
# @param report_interval
#   How often the timer reports (OnUnitActiveSec); undef keeps the package's hourly schedule.
#   (Not `schedule`: that name is a Puppet metaparameter.)
# @param splay
#   The agent's random delay before reporting.
# @param install_from
#   repo (the signed repository), file (package_file) or none.
# @param package_file
#   A .deb or .rpm on the node, for install_from => 'file'.
# @param repo_url
#   Base URL of `make repo`'s output (apt/ and yum/ beneath it).
# @param repo_key_source
#   The repository's public key: assetkit-archive-keyring.gpg (apt) or RPM-GPG-KEY-assetkit (yum).
# @param package_ensure
#   The package's ensure (installed, latest or a version).
# @param config_file
#   agent.toml.
# @param key_file
#   Where the fleet key's secret goes (0600).
# @param host_key_file
#   The host's own credential (0600; written by the agent at enrolment, or from host_credential).
# @param cert_file
#   The cert file the agent keeps the host's name in.
# @param spool_dir
#   Where unsent reports wait.
# @param timeout
#   The agent's deadline for a whole run.
# @param first_report
#   Send one report as soon as the agent is configured (once: until the cert file exists).
# @param manage_timer
#   Enable the report timer.
class assetkit (
  Pattern[/\Ahttps?:\/\//] $server,
  Optional[String[1]] $key_id = undef,
  Optional[Sensitive[String[1]]] $key = undef,
  Optional[String[1]] $key_source = undef,
  Optional[Sensitive[String[1]]] $host_credential = undef,
  Array[String[1]] $plugins = [],
  Optional[Pattern[/\A[0-9]+(s|min|h|d)?\z/]] $report_interval = undef,
  Pattern[/\A[0-9]+(s|m|h)?\z/] $splay = '0s',
  Enum['repo', 'file', 'none'] $install_from = 'repo',
  Optional[Pattern[/\A\//]] $package_file = undef,
  Optional[Pattern[/\A(https?|file):\/\//]] $repo_url = undef,
  Optional[String[1]] $repo_key_source = undef,
  String[1] $package_ensure = 'installed',
  Pattern[/\A\//] $config_file = '/etc/assetkit/agent.toml',
  Pattern[/\A\//] $key_file = '/etc/assetkit/key',
  Pattern[/\A\//] $host_key_file = '/etc/assetkit/host.key',
  Pattern[/\A\//] $cert_file = '/etc/assetkit/cert',
  Pattern[/\A\//] $spool_dir = '/var/spool/assetkit',
  Pattern[/\A[0-9]+(s|m)?\z/] $timeout = '20s',
  Boolean $first_report = true,
  Boolean $manage_timer = true,
) {
  if $host_credential == undef and ($key_id == undef or ($key == undef and $key_source == undef)) {
    fail('assetkit: set key_id with key (or key_source), or a pre-enrolled host_credential')
  }
  if $key != undef and $key_source != undef {
    fail('assetkit: give key or key_source, not both')
  }
  if $install_from == 'file' and $package_file == undef {
    fail("assetkit: install_from => 'file' needs package_file")
  }
  if $install_from == 'repo' and ($repo_url == undef or $repo_key_source == undef) {
    fail("assetkit: install_from => 'repo' needs repo_url and repo_key_source")
  }

  contain assetkit::install
  contain assetkit::config
  contain assetkit::service

  Class['assetkit::install']
  -> Class['assetkit::config']
  -> Class['assetkit::service']
}
