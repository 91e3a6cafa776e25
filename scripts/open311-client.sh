#!/usr/bin/env bash
# Open311 GeoReport v2 against a real client library: the PyPI `georeport` client (pinned) and
# `requests` drive /open311/v2 of a demo county this script starts (scripts/open311-client.py).
# Uses the debug binary the tests built (target/debug/jiesu).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
work=target/open311-client
mkdir -p "$work"
need_venv "$work/venv" "georeport==0.3.1" "requests==2.32.5" "xmltodict==0.14.2"
start_demo "$work/demo.log"
"$work/venv/bin/python" scripts/open311-client.py "$demo_base" "$demo_data"
