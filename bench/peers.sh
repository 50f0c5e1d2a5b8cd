#!/usr/bin/env bash
# Peer comparison (issue #13): one mailbox built from the corpus on the test stack's Dovecot, then, one after
# the other on it: a raw IMAP fetch, mbsync → Maildir + `notmuch new`, mbsync → Maildir + `mu index`, and the
# product end to end (the local host in-process: connect → every message served by the API). Prints msgs/s and
# CPU per message per process for each, with the ratios; writes bench/results/peers.md.
# See bench/Nylas.SyncBench/README.md ("Peer comparison").
#
# Usage: bench/peers.sh [--messages N] [other Nylas.SyncBench arguments, e.g. --set Key=Value]
#
# Installs isync, notmuch and maildir-utils (Debian packages) if missing. Uses the test stack whose
# NYLAS_TEST_* variables are exported; without them it starts one with `./dev test --services-only` (ports from
# the NYLAS_DEV_TEST_*_PORT variables, see ./dev) and stops it at the end with `./dev down --test`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

missing=()
command -v mbsync > /dev/null 2>&1 || missing+=(isync)
command -v notmuch > /dev/null 2>&1 || missing+=(notmuch)
command -v mu > /dev/null 2>&1 || missing+=(maildir-utils)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing the Debian packages ${missing[*]} ..." >&2
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null \
    || { "${sudo[@]}" apt-get update > /dev/null && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null; }
fi

# A stack of our own when none is exported; stopped however this script ends (also on Ctrl+C).
own_stack=0
stop_stack() {
  if [[ $own_stack -eq 1 ]]; then
    own_stack=0
    echo "stopping the test stack (./dev down --test) ..." >&2
    ./dev down --test > /dev/null 2>&1 || echo "warning: ./dev down --test failed; run it by hand" >&2
  fi
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [[ -z ${NYLAS_TEST_MYSQL:-} || -z ${NYLAS_TEST_STORAGE:-} || -z ${NYLAS_TEST_IMAP_PORT:-} ]]; then
  log=$(mktemp "${TMPDIR:-/tmp}/peers-stack.XXXXXX")
  echo "no NYLAS_TEST_* variables: starting a test stack (./dev test --services-only, output in $log) ..." >&2
  own_stack=1
  if ! ./dev test --services-only > "$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "error: ./dev test --services-only failed (log $log)" >&2
    exit 2
  fi
  eval "$(grep -E '^export (NYLAS_TEST_[A-Z_]+|DOTNET_PROCESSOR_COUNT)=' "$log")"
fi

# Published ReadyToRun, as ./dev up runs the local host (precompiled: a fresh process JITs less).
dotnet publish bench/Nylas.SyncBench -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true \
  -o bench/Nylas.SyncBench/bin/Release/publish --nologo -v q >&2

# The test stack's exports set DOTNET_PROCESSOR_COUNT=16 (for the DurableTask test host); the host under test
# must see the machine's real core count. Not exec: the trap stops our own stack afterwards.
rc=0
env -u DOTNET_PROCESSOR_COUNT dotnet bench/Nylas.SyncBench/bin/Release/publish/Nylas.SyncBench.dll --peers "$@" || rc=$?
exit "$rc"
