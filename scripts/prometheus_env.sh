#!/usr/bin/env bash
# Make sure Prometheus and promtool are installed for `make test-prometheus` (tests/prometheus/).
#
# Debian's `prometheus` package brings both (bookworm: 2.42). As root with apt-get it is
# installed when missing, without its recommends (node exporter) and without starting its
# service: the tier starts its own Prometheus on 127.0.0.1 with a config of its own.
# Prints the version on its last line.
set -euo pipefail

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "prometheus_env: prometheus/promtool missing; install Debian's prometheus package" \
            "(apt-get install prometheus) or put both on PATH" >&2
        exit 1
    fi
    echo "prometheus_env: installing Debian's prometheus package" >&2
    start=$(date +%s)
    # The package's postinst starts the service unless policy-rc.d says no: keep it stopped.
    policy=/usr/sbin/policy-rc.d
    added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        added_policy=1
    fi
    trap '[ "$added_policy" = 1 ] && rm -f "$policy"' EXIT
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
        >/dev/null
    echo "prometheus_env: installed in $(($(date +%s) - start)) s" >&2
fi
prometheus --version 2>&1 | head -1
