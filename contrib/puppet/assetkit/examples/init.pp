# puppet apply --modulepath=contrib/puppet examples/init.pp (after editing the values)
class { 'assetkit':
  server          => 'https://cmdb.example.com:8600',
  key_id          => 'ak_0123456789abcdef',
  key             => Sensitive('CHANGE-ME'),
  repo_url        => 'https://repo.example.com/assetkit',
  repo_key_source => 'https://repo.example.com/assetkit/assetkit-archive-keyring.gpg',
  report_interval => '1h',
}
