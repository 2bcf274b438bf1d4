# @summary The report timer (its interval, enabled) and one first report.
#
# @api private
class assetkit::service {
  $timer = 'assetkit-report.timer'
  $dropin = "/etc/systemd/system/${timer}.d"
  $systemd_runs = $facts['assetkit_init'] == 'systemd'

  if $assetkit::report_interval != undef {
    file { $dropin:
      ensure => directory,
      mode   => '0755',
    }
    file { "${dropin}/schedule.conf":
      ensure  => file,
      mode    => '0644',
      content => @("DROPIN"),
        # Managed by Puppet (assetkit): the report interval.
        [Timer]
        OnUnitActiveSec=
        OnUnitActiveSec=${assetkit::report_interval}
        | DROPIN
    }
  } else {
    file { $dropin:
      ensure  => absent,
      recurse => true,
      force   => true,
    }
  }

  if $assetkit::manage_timer {
    if $systemd_runs {
      exec { 'assetkit systemctl daemon-reload':
        command     => 'systemctl daemon-reload',
        path        => ['/usr/bin', '/bin'],
        refreshonly => true,
        subscribe   => File[$dropin],
      }
      service { $timer:
        ensure    => running,
        enable    => true,
        subscribe => Exec['assetkit systemctl daemon-reload'],
      }
    } else {
      # Without systemd as PID 1 (a container, an image build) the timer is enabled for the
      # next boot: `systemctl enable` only makes its symlink.
      exec { "systemctl enable ${timer}":
        path   => ['/usr/bin', '/bin'],
        unless => "systemctl is-enabled --quiet ${timer}",
      }
    }
  }

  if $assetkit::first_report {
    # Exit 1: the receiver was not reached; the report waits in the spool for the timer.
    exec { 'assetkit first report':
      command => "/usr/bin/assetkit --config ${assetkit::config_file} report --no-splay",
      creates => $assetkit::cert_file,
      returns => [0, 1],
    }
  }
}
