#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: assetkit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asset_facts
short_description: Collect server hardware inventory facts with assetkit
version_added: "0.1.0"
description:
  - Collects the host's hardware and OS facts with the assetkit Rust collectors in milliseconds
    (hostname, OS, system, baseboard and BIOS serials, CPU, memory modules, disks including
    MegaRAID drives, NICs) and the installed packages of dpkg, rpm and apk (read from their
    databases, nothing run), and returns them as C(ansible_facts.assetkit).
  - Changes nothing on the host.
  - Can be used as a facts module of C(gather_facts) through C(ansible_facts_modules).
options:
  only:
    description:
      - Plugins to run. Defaults to the config file's list, else all plugins.
      - Built-in plugins are C(os), C(board), C(cpu), C(memory), C(disk), C(nic), C(bmc), C(gpu) and
        C(packages) (installed packages of dpkg, rpm and apk); C(custom) runs the executables of the
        plugins directory, C(custom.<name>) one of them.
    type: list
    elements: str
  snapshot:
    description:
      - Parse this snapshot directory (captured by C(assetkit snapshot)) instead of the live host.
    type: path
  config:
    description:
      - The assetkit config file. Defaults to C(/etc/assetkit/agent.toml) when it exists.
    type: path
requirements:
  - The C(assetkit) Python package (abi3 wheel) installed in the target's Python.
notes:
  - Serial numbers and memory modules need root (the SMBIOS table is root-only); use C(become).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
author:
  - assetkit maintainers (@assetkit)
"""

EXAMPLES = r"""
- name: Collect hardware facts
  assetkit.cmdb.asset_facts:
  become: true

- name: Show the serial number
  ansible.builtin.debug:
    var: ansible_facts.assetkit.facts.system.serial_number

- name: Only CPU and memory
  assetkit.cmdb.asset_facts:
    only: [cpu, memory]

# As part of fact gathering:
# ansible_facts_modules: [ansible.builtin.setup, assetkit.cmdb.asset_facts]
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    assetkit:
      description:
        - The assetkit report (schema_version 1), as C(assetkit collect) prints it.
      returned: always
      type: dict
      sample:
        schema_version: 1
        agent: {name: assetkit, version: 0.1.0, mode: ansible}
        host: {hostname: web01, cert_hostname: null}
        facts:
          system: {manufacturer: Dell Inc., product_name: PowerEdge R640, serial_number: 2RJF153, virtual: false}
          cpu: {model: Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz, sockets: 2, physical_cores: 16, logical_cores: 32, mhz: 3600}
        errors: []
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
            only=dict(type="list", elements="str"),
            snapshot=dict(type="path"),
            config=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if not HAS_ASSETKIT:
        module.fail_json(msg=missing_required_lib("assetkit"), exception=ASSETKIT_IMPORT_ERROR)
    try:
        report = assetkit.collect(
            only=module.params["only"], snapshot=module.params["snapshot"], config=module.params["config"], mode="ansible"
        )
    except assetkit.AssetkitError as exc:
        module.fail_json(msg="assetkit: {0}".format(exc))
    module.exit_json(changed=False, ansible_facts=dict(assetkit=report))


if __name__ == "__main__":
    main()
