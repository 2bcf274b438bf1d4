# @summary The agent package, from the signed repository or a package file.
#
# @api private
class assetkit::install {
  $family = $facts['os']['family']

  case $assetkit::install_from {
    'repo': {
      if $family == 'Debian' {
        file { '/etc/apt/keyrings/assetkit.gpg':
          ensure => file,
          source => $assetkit::repo_key_source,
          mode   => '0644',
        }
        file { '/etc/apt/sources.list.d/assetkit.list':
          ensure  => file,
          mode    => '0644',
          content => "deb [signed-by=/etc/apt/keyrings/assetkit.gpg] ${assetkit::repo_url}/apt stable main\n",
        }
        # Only this repository's lists, and only when its source or key changed.
        $only_this_list = '-o Dir::Etc::SourceList=sources.list.d/assetkit.list -o Dir::Etc::SourceParts=-'
        exec { 'assetkit apt-get update':
          command     => "apt-get update ${only_this_list} -o APT::Get::List-Cleanup=0",
          path        => ['/usr/bin', '/bin'],
          refreshonly => true,
          subscribe   => File['/etc/apt/keyrings/assetkit.gpg', '/etc/apt/sources.list.d/assetkit.list'],
        }
        package { 'assetkit':
          ensure  => $assetkit::package_ensure,
          require => Exec['assetkit apt-get update'],
        }
      } else {
        file { '/etc/pki/rpm-gpg/RPM-GPG-KEY-assetkit':
          ensure => file,
          source => $assetkit::repo_key_source,
          mode   => '0644',
        }
        file { '/etc/yum.repos.d/assetkit.repo':
          ensure  => file,
          mode    => '0644',
          content => epp('assetkit/assetkit.repo.epp', { 'url' => $assetkit::repo_url }),
        }
        package { 'assetkit':
          ensure  => $assetkit::package_ensure,
          require => File['/etc/pki/rpm-gpg/RPM-GPG-KEY-assetkit', '/etc/yum.repos.d/assetkit.repo'],
        }
      }
    }
    'file': {
      $provider = $family ? {
        'Debian' => 'dpkg',
        default  => 'rpm',
      }
      package { 'assetkit':
        ensure   => installed,
        provider => $provider,
        source   => $assetkit::package_file,
      }
    }
    default: {}
  }
}
