"""Drives the service through openstacksdk's baremetal_introspection proxy.

Run with Debian's /usr/bin/python3 (python3-openstacksdk). The cloud comes from
the clouds.yaml named by OS_CLIENT_CONFIG_FILE, so the same script runs with no
auth or with Keystone. Prints one JSON document on stdout: what each SDK call
returned, or the exception it raised, for the vitest suite to assert on.

    openstacksdk_client.py --cloud NAME --node NODE --manual-node NODE --unknown UUID
    openstacksdk_client.py --cloud NAME --list-only

--node         introspected to the end: start, get, wait, list, data
--manual-node  started with manage_boot=False (nothing boots it), then aborted
--unknown      a node the service never introspected
--list-only    only lists introspections: for a caller the service must refuse
"""

import argparse
import json
import sys
import time

import openstack
from openstack import exceptions


def status(intro):
    return {
        "id": intro.id,
        "state": intro.state,
        "error": intro.error,
        "is_finished": intro.is_finished,
        "started_at": intro.started_at,
        "finished_at": intro.finished_at,
        "links": intro.links,
    }


def failure(exc):
    return {
        "exception": type(exc).__name__,
        "status_code": getattr(exc, "status_code", None),
        "message": str(exc),
    }


def wait_for_state(bi, node, state, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        intro = bi.get_introspection(node)
        if intro.state == state:
            return intro
        if time.monotonic() > deadline:
            raise RuntimeError(f"{node} still {intro.state} after {timeout} s, not {state}")
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloud", required=True)
    parser.add_argument("--list-only", action="store_true")
    parser.add_argument("--node")
    parser.add_argument("--manual-node")
    parser.add_argument("--unknown")
    args = parser.parse_args()

    bi = openstack.connect(cloud=args.cloud).baremetal_introspection
    out = {"sdk_version": openstack.version.__version__}

    if args.list_only:
        try:
            out["listed"] = [status(i) for i in bi.introspections()]
        except exceptions.SDKException as exc:
            out["list_failure"] = failure(exc)
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return
    if not (args.node and args.manual_node and args.unknown):
        parser.error("--node, --manual-node and --unknown are required without --list-only")

    out["started"] = status(bi.start_introspection(args.node))
    out["waited"] = status(bi.wait_for_introspection(args.node, timeout=60))
    out["fetched"] = status(bi.get_introspection(out["waited"]["id"]))
    out["listed"] = [status(i) for i in bi.introspections()]
    # limit=1 makes the SDK follow the marker page by page until a page comes back short.
    out["listed_paged"] = [i.id for i in bi.introspections(limit=1)]
    out["data"] = bi.get_introspection_data(args.node)
    out["unprocessed"] = bi.get_introspection_data(args.node, processed=False)

    bi.start_introspection(args.manual_node, manage_boot=False)
    out["manual_waiting"] = status(wait_for_state(bi, args.manual_node, "waiting"))
    bi.abort_introspection(args.manual_node, ignore_missing=False)
    out["aborted"] = status(
        bi.wait_for_introspection(args.manual_node, timeout=60, ignore_error=True)
    )
    try:
        bi.wait_for_introspection(args.manual_node, timeout=5)
        out["wait_on_error"] = None
    except exceptions.SDKException as exc:
        out["wait_on_error"] = failure(exc)

    try:
        bi.get_introspection(args.unknown)
        out["unknown"] = None
    except exceptions.SDKException as exc:
        out["unknown"] = failure(exc)

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
