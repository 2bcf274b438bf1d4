# @summary agent.toml, and the secrets in 0600 files that Puppet never shows.
#
# @api private
class assetkit::config {

  file { $assetkit::config_file:
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('assetkit/agent.toml.epp', {
      'server'        => $assetkit::server,
      'key_id'        => $assetkit::key_id,
      'key_file'      => $assetkit::key_file,
      'host_key_file' => $assetkit::host_key_file,
      'cert_file'     => $assetkit::cert_file,
      'spool_dir'     => $assetkit::spool_dir,
      'plugins'       => $assetkit::plugins,
      'splay'         => $assetkit::splay,
      'timeout'       => $assetkit::timeout,
    }),
  }

  if $assetkit::key != undef {
    file { $assetkit::key_file:
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      content   => Sensitive("${assetkit::key.unwrap}\n"),
      show_diff => false,
    }
  } elsif $assetkit::key_source != undef {
    file { $assetkit::key_file:
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      source    => $assetkit::key_source,
      show_diff => false,
    }
  }

  if $assetkit::host_credential != undef {
    file { $assetkit::host_key_file:
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      content   => $assetkit::host_credential,
      show_diff => false,
    }
  }
}
