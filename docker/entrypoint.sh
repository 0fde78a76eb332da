#!/bin/sh
# The image's entry point. The admin listener (publisher in admin mode, statistics, presence,
# metrics) is reachable from the container's network only when an admin key protects it; without
# HERALD_ADMIN_KEY it listens on loopback, where the health check reaches it.
set -e
if [ -n "${HERALD_ADMIN_KEY:-}" ]; then
    export HERALD_ADMIN_HOST="${HERALD_ADMIN_HOST:-0.0.0.0}"
else
    case "${HERALD_ADMIN_HOST:-127.0.0.1}" in
    127.0.0.1 | ::1 | localhost) ;;
    *) echo "herald: HERALD_ADMIN_HOST=$HERALD_ADMIN_HOST needs HERALD_ADMIN_KEY; the admin listener stays on 127.0.0.1" >&2 ;;
    esac
    export HERALD_ADMIN_HOST=127.0.0.1
fi
exec herald "$@"
