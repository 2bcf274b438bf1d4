{#- Removes the agent: the timer, the package, its config, key and spool, and the repository
    definition this formula wrote. The host's identity (cert file, credential) stays unless
    assetkit:remove:identity is true.
      salt '*' state.apply assetkit.remove #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import assetkit, os_family with context %}

{%- if grains['init'] == 'systemd' %}
assetkit-remove-timer-dead:
  service.dead:
    - name: {{ assetkit.timer }}
    - enable: false
    - require_in:
      - pkg: assetkit-remove-pkg-removed
{%- else %}
assetkit-remove-timer-disabled:
  cmd.run:
    - name: systemctl disable {{ assetkit.timer }}
    - onlyif: systemctl is-enabled --quiet {{ assetkit.timer }}
    - require_in:
      - pkg: assetkit-remove-pkg-removed
{%- endif %}

assetkit-remove-pkg-removed:
{%- if os_family == 'Debian' %}
  pkg.purged:
{%- else %}
  pkg.removed:
{%- endif %}
    - name: {{ assetkit.pkg }}

{%- set paths = [
      assetkit.config_file,
      assetkit.config.key_file,
      assetkit.config.spool_dir,
      '/etc/systemd/system/' ~ assetkit.timer ~ '.d',
      '/etc/apt/sources.list.d/assetkit.list',
      '/etc/apt/keyrings/assetkit.gpg',
      '/etc/yum.repos.d/assetkit.repo',
      '/etc/pki/rpm-gpg/RPM-GPG-KEY-assetkit',
    ] %}
{%- if assetkit.remove.identity %}
{%-   do paths.extend([assetkit.config.cert_file, assetkit.config.host_key_file, assetkit.config.host_key_file ~ '.enrol']) %}
{%- endif %}
{%- for path in paths %}
assetkit-remove-{{ path }}-absent:
  file.absent:
    - name: {{ path }}
    - require:
      - pkg: assetkit-remove-pkg-removed
{%- endfor %}
