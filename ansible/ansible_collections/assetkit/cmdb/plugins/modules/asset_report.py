#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: assetkit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asset_report
short_description: Report the host's hardware inventory to the assetkit receiver
version_added: "0.1.0"
description:
  - Collects the host with the assetkit collectors and sends the signed report to C(assetkitd),
    exactly as the assetkit agent does; reports that cannot be sent wait in the spool and the
    cert file is updated from the receiver's answer.
  - Reports C(changed) when the receiver created the asset or recorded a change, and not when
    the inventory already matched the host.
  - In check mode the host is collected but nothing is sent.
options:
  server:
    description:
      - Receiver URL, for example C(https://cmdb.example.com:8600). Defaults to the config file.
    type: str
  key_id:
    description:
      - API key id (C(ak_...)). Defaults to the config file.
    type: str
  key_file:
    description:
      - File holding the key's secret, mode 0600. Defaults to the config file.
      - This fleet key only enrols the host. Once enrolled, the host signs with its own
        credential (C(host_key_file)) and the receiver refuses the fleet key for it.
    type: path
  host_key_file:
    description:
      - The host's own credential, on the target. The receiver's answer to the first report
        (signed with the fleet key) carries it, and it is stored here (one JSON line, mode 0600,
        written atomically); every later report is signed with it.
      - The fleet key is then needed again only for a re-enrolment an admin allows
        (C(assetkitd hosts reenrol)).
      - Defaults to the config file's C(host_key_file), else C(/etc/assetkit/host.key).
    type: path
  cert_file:
    description:
      - The cert file. Defaults to the config file's, else C(/etc/assetkit/cert).
    type: path
  spool_dir:
    description:
      - Where unsent reports wait. Defaults to the config file's, else C(/var/spool/assetkit).
    type: path
  only:
    description:
      - Plugins to run. Defaults to the config file's list, else all plugins.
    type: list
    elements: str
  config:
    description:
      - The assetkit config file. Defaults to C(/etc/assetkit/agent.toml) when it exists.
    type: path
requirements:
  - The C(assetkit) Python package (abi3 wheel) installed in the target's Python.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: partial
    details: Collects the host and returns the report; nothing is sent and C(changed) is false.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
author:
  - assetkit maintainers (@assetkit)
"""

EXAMPLES = r"""
- name: Report to the CMDB (enrols with the fleet key, then signs with the host's credential)
  assetkit.cmdb.asset_report:
    server: https://cmdb.example.com:8600
    key_id: ak_0123456789abcdef
    key_file: /etc/assetkit/key
    host_key_file: /etc/assetkit/host.key
  become: true

- name: Report with the settings of /etc/assetkit/agent.toml
  assetkit.cmdb.asset_report:
  become: true
"""

RETURN = r"""
asset_id:
  description: The receiver's id for the asset.
  returned: success, not in check mode
  type: int
  sample: 42
action:
  description: What the receiver did, C(created), C(updated) or C(unchanged).
  returned: success, not in check mode
  type: str
  sample: updated
cert_hostname:
  description: The hostname the receiver knows the host by, now stored in the cert file.
  returned: success, not in check mode
  type: str
  sample: web01
outcome:
  description: The whole outcome, including spooled reports delivered before this one.
  returned: success, not in check mode
  type: dict
report:
  description: The collected report (check mode only).
  returned: check mode
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import assetkit

    HAS_ASSETKIT = True
    ASSETKIT_IMPORT_ERROR = None
except ImportError:
    HAS_ASSETKIT = False
    ASSETKIT_IMPORT_ERROR = traceback.format_exc()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str"),
            key_id=dict(type="str"),
            key_file=dict(type="path", no_log=False),
            host_key_file=dict(type="path", no_log=False),
            cert_file=dict(type="path"),
            spool_dir=dict(type="path"),
            only=dict(type="list", elements="str"),
            config=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if not HAS_ASSETKIT:
        module.fail_json(msg=missing_required_lib("assetkit"), exception=ASSETKIT_IMPORT_ERROR)
    p = module.params
    try:
        if module.check_mode:
            report = assetkit.collect(only=p["only"], config=p["config"], mode="ansible")
            module.exit_json(changed=False, report=report)
        outcome = assetkit.report(
            config=p["config"],
            mode="ansible",
            server=p["server"],
            key_id=p["key_id"],
            key_file=p["key_file"],
            host_key_file=p["host_key_file"],
            cert_file=p["cert_file"],
            spool_dir=p["spool_dir"],
            plugins=p["only"],
        )
    except assetkit.AssetkitError as exc:
        module.fail_json(msg="assetkit: {0}".format(exc))
    answer = outcome["answer"]
    module.exit_json(
        changed=answer["action"] in ("created", "updated"),
        asset_id=answer["asset_id"],
        action=answer["action"],
        cert_hostname=outcome.get("cert_hostname"),
        outcome=outcome,
    )


if __name__ == "__main__":
    main()
