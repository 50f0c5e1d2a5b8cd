# shellcheck shell=bash
# Azurite (Azure Storage emulator: blob, queue, table) from scripts/dev/azurite/node_modules.
#   dev instance:  data kept in $STATE/azurite
#   test instance: in $STATE/azurite too (.dev/test is wiped at the start of every ./dev test)
# --skipApiVersionCheck: current Azure SDKs send an API version newer than Azurite knows.

azurite_dir() { echo "$STATE/azurite"; }
azurite_pid() { running_pid "$STATE/azurite/azurite.pid" azurite; }

start_azurite() {
  local dir pid
  dir=$(azurite_dir)
  if pid=$(azurite_pid); then
    step_note "already running (pid $pid)"
    return 0
  fi
  require_free_ports Azurite "$BLOB_PORT:${PORT_VAR_PREFIX}BLOB_PORT" \
    "$QUEUE_PORT:${PORT_VAR_PREFIX}QUEUE_PORT" "$TABLE_PORT:${PORT_VAR_PREFIX}TABLE_PORT"
  mkdir -p "$dir"
  # The test instance keeps its data on disk too (wiped with .dev/test at each ./dev test): the fault tests stop
  # and start Azurite mid-sync, as a reboot would, and the queues and raw mail must survive that.
  local persistence=(--location "$dir")
  pid=$(launch "$dir/azurite.pid" "$dir/azurite.log" \
    node "$AZURITE_BIN" \
    --blobHost 127.0.0.1 --blobPort "$BLOB_PORT" \
    --queueHost 127.0.0.1 --queuePort "$QUEUE_PORT" \
    --tableHost 127.0.0.1 --tablePort "$TABLE_PORT" \
    "${persistence[@]}" --skipApiVersionCheck --loose --silent)
  echo "azurite pid $pid"
  local port
  for port in "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT"; do
    wait_port "$port" 60 "$pid" || { show_tail "$dir/azurite.log"; return 1; }
  done
  step_note "ok, pid $pid"
}

stop_azurite() {
  local pid log start deadline
  pid=$(azurite_pid) || { step_note "not running"; return 0; }
  log="$(azurite_dir)/azurite.log"
  start=$(( $(wc -l < "$log") + 1 ))
  kill -TERM "$pid" 2> /dev/null || true
  # SIGTERM, then up to 10 s for a clean exit, then SIGKILL. Azurite often keeps running
  # after it has closed all three services (and saved its data); once its log says so there
  # is nothing left to wait for.
  deadline=$(( EPOCHSECONDS + 10 ))
  while alive "$pid" && (( EPOCHSECONDS < deadline )); do
    if [[ $(tail -n +"$start" "$log" | grep -c 'service successfully closed') -ge 3 ]]; then
      sleep 0.3
      alive "$pid" && echo "all services closed but the process is still there: SIGKILL"
      break
    fi
    sleep 0.1
  done
  alive "$pid" && kill -KILL "$pid" 2> /dev/null
  wait_gone 5 "$pid" || return 1
  step_note "stopped (pid $pid)"
}

status_azurite() {
  local pid
  if pid=$(azurite_pid); then
    status_line Azurite "running (pid $pid, blob 127.0.0.1:$BLOB_PORT, queue $QUEUE_PORT, table $TABLE_PORT)"
  else
    status_line Azurite stopped
  fi
}
