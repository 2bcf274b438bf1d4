{#- The agent package: from the signed assetkit repository, or from a given .deb/.rpm. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import assetkit, os_family with context %}

{%- if assetkit.install_from == 'repo' %}
{%-   if not assetkit.repo.url or not assetkit.repo.key_url %}
assetkit-install-repo-settings:
  test.fail_without_changes:
    - comment: 'install_from: repo needs assetkit:repo:url and assetkit:repo:key_url in pillar (or install_from: file with package_file)'
{%-   elif os_family == 'Debian' %}
{%-     set keyring = '/etc/apt/keyrings/assetkit.gpg' %}
assetkit-install-repo-key:
  file.managed:
    - name: {{ keyring }}
    - source: {{ assetkit.repo.key_url }}
{%-     if assetkit.repo.key_hash %}
    - source_hash: {{ assetkit.repo.key_hash }}
{%-     else %}
    - skip_verify: true
{%-     endif %}
    - mode: '0644'
    - makedirs: true

assetkit-install-repo-list:
  file.managed:
    - name: /etc/apt/sources.list.d/assetkit.list
    - contents: 'deb [signed-by={{ keyring }}] {{ assetkit.repo.url | regex_replace('/$', '') }}/apt {{ assetkit.repo.suite }} main'
    - mode: '0644'

# Only this repository's lists: when its source or key changed, and when a pinned version is
# not installed yet (a new release to roll out). Never the machine's other sources.
{%-     set refresh = 'apt-get update -o Dir::Etc::SourceList=sources.list.d/assetkit.list -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0' %}
assetkit-install-repo-refresh:
  cmd.run:
    - name: {{ refresh }}
    - onchanges:
      - file: assetkit-install-repo-key
      - file: assetkit-install-repo-list
{%-     if assetkit.version %}

assetkit-install-repo-refresh-for-version:
  cmd.run:
    - name: {{ refresh }}
    - unless: test "$(dpkg-query -W -f='${Version}' {{ assetkit.pkg }} 2>/dev/null)" = '{{ assetkit.version }}'
    - require:
      - cmd: assetkit-install-repo-refresh
    - require_in:
      - pkg: assetkit-install-pkg-installed
{%-     endif %}
{%-   else %}
assetkit-install-repo-key:
  file.managed:
    - name: /etc/pki/rpm-gpg/RPM-GPG-KEY-assetkit
    - source: {{ assetkit.repo.key_url }}
{%-     if assetkit.repo.key_hash %}
    - source_hash: {{ assetkit.repo.key_hash }}
{%-     else %}
    - skip_verify: true
{%-     endif %}
    - mode: '0644'
    - makedirs: true

assetkit-install-repo-list:
  file.managed:
    - name: /etc/yum.repos.d/assetkit.repo
    - mode: '0644'
    - contents: |
        [assetkit]
        name=assetkit
        baseurl={{ assetkit.repo.url | regex_replace('/$', '') }}/yum
        enabled=1
        gpgcheck=1
        repo_gpgcheck=1
        gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-assetkit
{%-   endif %}

assetkit-install-pkg-installed:
  pkg.installed:
    - name: {{ assetkit.pkg }}
    # The repository's lists are refreshed above; not every source of the machine on each run.
    - refresh: false
{%-   if assetkit.version %}
    - version: {{ assetkit.version }}
{%-   endif %}
    - require:
      - file: assetkit-install-repo-list
{%-   if os_family == 'Debian' %}
      - cmd: assetkit-install-repo-refresh
{%-   endif %}

{%- elif assetkit.install_from == 'file' %}
assetkit-install-pkg-installed:
  pkg.installed:
    - sources:
      - {{ assetkit.pkg }}: {{ assetkit.package_file }}

{%- else %}
assetkit-install-pkg-installed:
  test.nop:
    - name: 'install_from: {{ assetkit.install_from }}: the agent is installed some other way'
{%- endif %}
