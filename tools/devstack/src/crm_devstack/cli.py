"""``crm-stack``: start, stop and inspect the local Kafka and PostgreSQL.

crm-stack up       start what is not running; print where everything is
crm-stack down     stop what the project started
crm-stack status   what runs where (exit status 3 when something is down)
crm-stack env      export lines for KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL
"""

from __future__ import annotations

import argparse
import shlex
import sys

from crm_devstack.stack import Endpoints, Stack


def _exports(endpoints: Endpoints) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in endpoints.as_env().items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm-stack", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "env", "token"])
    parser.add_argument(
        "client",
        nargs="?",
        default="ada@acme",
        help="token: the issuer's client (person@tenant, or a service account)",
    )
    args = parser.parse_args(argv)
    stack = Stack()

    if args.command == "token":
        issuer = stack.issuer.issuer()
        if args.client not in issuer.clients:
            print(f"no client {args.client}: one of {', '.join(issuer.clients)}", file=sys.stderr)
            return 2
        print(issuer.token_for(args.client))
        return 0

    if args.command == "up":
        endpoints = stack.up()
        stack.up_services(endpoints)
        for row in stack.status():
            print(f"{row.name:9} running at {row.where}" + (f" (pid {row.pid})" if row.pid else ""))
        print(_exports(endpoints))
        return 0
    if args.command == "down":
        stack.down()
        print("stopped")
        return 0
    if args.command == "status":
        rows = stack.status()
        for row in rows:
            state = "running" if row.running else "stopped"
            pid = f" pid {row.pid}" if row.pid else ""
            print(f"{row.name:9} {state:8} {row.where}{pid}")
        return 0 if all(row.running for row in rows) else 3
    rows = stack.status()
    if not all(row.running for row in rows):
        print("the stack is not running: ./crm up", file=sys.stderr)
        return 3
    print(_exports(stack.endpoints()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
