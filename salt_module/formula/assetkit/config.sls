{#- agent.toml from pillar, and the secrets into 0600 files through contents_pillar. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import assetkit, has_key, has_credential with context %}
include:
  - .install

{%- if not assetkit.config.server or not ((assetkit.config.key_id and has_key) or has_credential) %}
assetkit-config-settings:
  test.fail_without_changes:
    - comment: 'set assetkit:config:server, and assetkit:config:key_id with the secret in assetkit:key (or a pre-enrolled assetkit:host_credential), in pillar'
{%- else %}

assetkit-config-file-managed:
  file.managed:
    - name: {{ assetkit.config_file }}
    - source: salt://{{ tplroot }}/files/agent.toml.jinja
    - template: jinja
    - context:
        config: {{ assetkit.config | json }}
        has_key: {{ has_key }}
    - mode: '0644'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.install

{%- if has_key %}
# The fleet key's secret: read from pillar on the minion at run time, never rendered into the
# state; a change shows as "<show_changes=False>", never as a diff.
assetkit-config-key-managed:
  file.managed:
    - name: {{ assetkit.config.key_file }}
    - contents_pillar: assetkit:key
    - mode: '0600'
    - user: root
    - group: root
    - makedirs: true
    - show_changes: false
{%- endif %}

{%- if has_credential %}
# A pre-enrolled host credential (the line `assetkitd hosts enrol HOST` prints): every report,
# the first included, is signed with it.
assetkit-config-credential-managed:
  file.managed:
    - name: {{ assetkit.config.host_key_file }}
    - contents_pillar: assetkit:host_credential
    - mode: '0600'
    - user: root
    - group: root
    - makedirs: true
    - show_changes: false
{%- endif %}
{%- endif %}
