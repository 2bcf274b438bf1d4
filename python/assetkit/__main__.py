"""``python -m assetkit``: collect or report without the native ``assetkit`` binary (for hosts
where only the wheel is installed, e.g. by the Ansible role)."""

from __future__ import annotations

import argparse
import json
import sys

import assetkit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assetkit", description=__doc__)
    parser.add_argument("--config", help="agent config (default /etc/assetkit/agent.toml)")
    # --config is accepted after the subcommand too, as the native `assetkit` accepts it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="agent config")
    sub = parser.add_subparsers(dest="command", required=True)
    collect = sub.add_parser("collect", parents=[common], help="print this host's report as JSON")
    collect.add_argument("--only", help="comma-separated plugins")
    collect.add_argument("--snapshot", help="parse this snapshot directory instead")
    collect.add_argument("--pretty", action="store_true")
    report = sub.add_parser("report", parents=[common], help="collect and send to the receiver (agent mode)")
    report.add_argument("--mode", default="agent", choices=["agent", "salt", "ansible", "cli"])
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)

    try:
        if args.command == "version":
            print(assetkit.__version__)
        elif args.command == "collect":
            only = [p for p in args.only.split(",") if p] if args.only else None
            result = assetkit.collect(only=only, snapshot=args.snapshot, config=args.config)
            print(json.dumps(result, indent=2 if args.pretty else None))
        else:
            outcome = assetkit.report(config=args.config, mode=args.mode)
            answer = outcome["answer"]
            print(f"assetkit: reported as {outcome['cert_hostname']} (asset {answer['asset_id']}, {answer['action']})", file=sys.stderr)
    except assetkit.ConfigError as exc:
        print(f"assetkit: error: {exc}", file=sys.stderr)
        return 2
    except assetkit.AssetkitError as exc:
        print(f"assetkit: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
