{#- The report timer: its schedule, enabled (and started where systemd runs), and one first
    report as soon as the agent is configured. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import assetkit with context %}
include:
  - .config

{%- set dropin = '/etc/systemd/system/' ~ assetkit.timer ~ '.d/schedule.conf' %}
{%- if assetkit.schedule %}
assetkit-service-schedule-managed:
  file.managed:
    - name: {{ dropin }}
    - makedirs: true
    - mode: '0644'
    - contents: |
        # Managed by Salt (formula assetkit): the report interval.
        [Timer]
        OnUnitActiveSec=
        OnUnitActiveSec={{ assetkit.schedule }}
{%- else %}
assetkit-service-schedule-managed:
  file.absent:
    - name: {{ dropin }}
{%- endif %}

{%- if grains['init'] == 'systemd' %}
assetkit-service-timer-running:
  service.running:
    - name: {{ assetkit.timer }}
    - enable: true
    - watch:
      - file: assetkit-service-schedule-managed
    - require:
      - sls: {{ tplroot }}.config
{%- else %}
# Without systemd as PID 1 (a container, an image being built) the timer is enabled for the
# next boot: `systemctl enable` only makes its symlink.
assetkit-service-timer-enabled:
  cmd.run:
    - name: systemctl enable {{ assetkit.timer }}
    - unless: systemctl is-enabled --quiet {{ assetkit.timer }}
    - require:
      - sls: {{ tplroot }}.config
{%- endif %}

{%- if assetkit.first_report %}
# Once, until the receiver has answered (the agent then writes the cert file). Exit 1 means the
# receiver was not reached: the report waits in the spool for the timer, the state is not failed.
assetkit-service-first-report:
  cmd.run:
    - name: /usr/bin/assetkit --config {{ assetkit.config_file }} report --no-splay
    - creates: {{ assetkit.config.cert_file }}
    - success_retcodes: [1]
    - require:
      - sls: {{ tplroot }}.config
{%- endif %}
