#!/usr/bin/env bash
# Stops, starts, hangs (SIGSTOP) or resumes (SIGCONT) one service of the running TEST instance,
# for the fault tests (tests/Nylas.Testing/Faults/ServiceControl.cs finds this script through
# NYLAS_TEST_SERVICE_CONTROL, which `./dev test` exports). Run as root, like ./dev test.
#   scripts/dev/service-control.sh stop|start|hang|resume mariadb|azurite|dovecot
# The ports are those `./dev test` recorded in .dev/test/ports.env when it started the instance.
set -euo pipefail
action=${1:-}
service=${2:-}
case $action in stop | start | hang | resume) ;; *) echo "usage: $0 stop|start|hang|resume mariadb|azurite|dovecot" >&2; exit 2 ;; esac
case $service in mariadb | azurite | dovecot) ;; *) echo "unknown service '$service' (mariadb, azurite or dovecot)" >&2; exit 2 ;; esac

# shellcheck source=../../dev
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/dev"
use_instance test
[[ -f $STATE/ports.env ]] || die "$STATE/ports.env is missing: is a test instance running (./dev test)?"
# shellcheck disable=SC1091
source "$STATE/ports.env"
use_instance test

# Every process of the service: a hang must freeze the workers too, not just the master.
service_pids() {
  local pid
  pid=$("${service}_pid") || die "$service is not running"
  echo "$pid"
  descendants "$pid"
}

case $action in
  stop) step "$LOGS/control-$service.log" "stopping $service (fault test)" "stop_$service" ;;
  start) step "$LOGS/control-$service.log" "starting $service (fault test)" "start_$service" ;;
  hang) service_pids | xargs -r kill -STOP; say "$service hung (SIGSTOP)" ;;
  resume) service_pids | xargs -r kill -CONT; say "$service resumed (SIGCONT)" ;;
esac
