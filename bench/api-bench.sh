#!/usr/bin/env bash
# API benchmark (issue #5): GET /messages?limit=100 and GET /threads?limit=100 on an account with 100,000
# messages, served by the local host (Release) and loaded with wrk at 16 connections, against the same SQL
# run directly with MySqlConnector. Results: bench/results/api.md. See bench/Nylas.ApiBench/README.md.
#
# Needs the test stack: ./dev test --services-only, then export the NYLAS_TEST_* variables it prints.
# Arguments are passed to bench/Nylas.ApiBench (--help lists them).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ART=${NYLAS_APIBENCH_ARTIFACTS:-${TMPDIR:-/tmp}/nylas-apibench-artifacts}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk not found: installing the Debian package ..." >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null || { sudo apt-get update >/dev/null && sudo apt-get install -y wrk >/dev/null; }
  fi
fi

# Release builds outside the source tree (others may be building in it at the same time); the host published
# ReadyToRun, as ./dev up runs it.
dotnet publish -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true --nologo -v q \
  "$REPO/functions/Nylas.LocalHost/Nylas.LocalHost.csproj" --artifacts-path "$ART" -o "$ART/publish/Nylas.LocalHost" >&2
dotnet build -c Release --nologo -v q "$REPO/bench/Nylas.ApiBench/Nylas.ApiBench.csproj" --artifacts-path "$ART" >&2

# The test stack's exports set DOTNET_PROCESSOR_COUNT=16 (for the DurableTask test host); neither the
# benchmark nor the host under test runs that way.
exec env -u DOTNET_PROCESSOR_COUNT dotnet "$ART/bin/Nylas.ApiBench/release/Nylas.ApiBench.dll" \
  --host-dll "$ART/publish/Nylas.LocalHost/Nylas.LocalHost.dll" "$@"
