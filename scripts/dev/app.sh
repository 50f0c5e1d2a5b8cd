# shellcheck shell=bash
# The application side of `./dev up`: secrets, build, local host, demo app and demo mailbox,
# and the .dev/env file. Contract with the C# code (functions/Nylas.LocalHost,
# tools/Nylas.DevTool) is the environment built in host_env and the command lines below.

# `./dev up` runs a Release build: what a user measures or keeps running should be the fast build
# (Debug costs about a third more CPU per message); `./dev test` builds Debug into its own folders.
# Published ReadyToRun (precompiled): a fresh host JITs less; see BENCHMARKS.md, "Fourth session: the local host compiled ahead of time".
HOST_DLL="functions/Nylas.LocalHost/bin/Release/publish/Nylas.LocalHost.dll"
DEVTOOL_DLL="tools/Nylas.DevTool/bin/Release/net10.0/Nylas.DevTool.dll"

# The solution file (Nylas.Functions.sln; .slnx accepted too, the .NET 10 default format).
find_solution() {
  local s
  for s in Nylas.Functions.sln Nylas.Functions.slnx; do
    [[ -f $REPO/$s ]] && { echo "$s"; return 0; }
  done
  return 1
}

# Read KEY from a KEY=VALUE file (tolerates quotes and `export `), without sourcing it.
read_kv() {
  local file=$1 key=$2 line v
  [[ -r $file ]] || return 1
  line=$(grep -E "^(export[[:space:]]+)?$key=" "$file" | tail -n1) || return 1
  v=${line#*=}
  v=${v%$'\r'}
  if [[ $v == \'*\' ]]; then v=${v:1:-1}; v=${v//\'\\\'\'/\'}
  elif [[ $v == \"*\" ]]; then v=${v:1:-1}
  fi
  [[ -n $v ]] || return 1
  printf '%s' "$v"
}

# .dev/secrets.env: demo passwords and the encryption key, generated once and reused.
load_secrets() {
  local file="$STATE/secrets.env" changed=0
  DEMO_PASSWORD=$(read_kv "$file" DEMO_PASSWORD) || { DEMO_PASSWORD=$(openssl rand -hex 8); changed=1; }
  DEMO2_PASSWORD=$(read_kv "$file" DEMO2_PASSWORD) || { DEMO2_PASSWORD=$(openssl rand -hex 8); changed=1; }
  NYLAS_ENCRYPTION_KEY=$(read_kv "$file" NYLAS_ENCRYPTION_KEY) || { NYLAS_ENCRYPTION_KEY=$(openssl rand -base64 32); changed=1; }
  if [[ $changed -eq 1 ]]; then
    (
      umask 077
      {
        echo "# Generated once by ./dev; delete this file (and ./dev down --purge) to start over."
        echo "DEMO_PASSWORD=$(shquote "$DEMO_PASSWORD")"
        echo "DEMO2_PASSWORD=$(shquote "$DEMO2_PASSWORD")"
        echo "NYLAS_ENCRYPTION_KEY=$(shquote "$NYLAS_ENCRYPTION_KEY")"
      } > "$file"
    )
    give_back "$file"
  fi
  export DEMO_PASSWORD DEMO2_PASSWORD NYLAS_ENCRYPTION_KEY
}

# Environment of the local host (and of `admin create-app`, which must see the same config).
host_env() {
  local db="Server=127.0.0.1;Port=$MYSQL_PORT;User ID=nylas;Password=nylas;SslMode=None"
  HOST_ENV=(
    "ASPNETCORE_URLS=http://127.0.0.1:$API_PORT"
    "Nylas__Database__Global=$db;Database=nylas_global"
    "Nylas__Database__Shards__0=$db;Database=nylas_shard0"
    "Nylas__Database__Shards__1=$db;Database=nylas_shard1"
    "Nylas__Storage__ConnectionString=$(azurite_connection_string "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT")"
    "Nylas__Security__EncryptionKey=$NYLAS_ENCRYPTION_KEY"
    "Nylas__Durable__TaskHub=nylasdev"
    # The README's webhook receiver listens on 127.0.0.1: the dev stack lets callbacks reach loopback over http.
    "Nylas__Webhooks__AllowHttpLoopback=true"
    "Nylas__Webhooks__AllowedPrivateNetworks=127.0.0.0/8,::1/128"
  )
  # Raw MIME and attachments as files in .dev/blobs (no storage request per blob; queues and Durable stay on Azurite).
  # A .dev set up before that keeps its blobs on Azurite until `./dev down --purge`.
  if [[ -d $STATE/blobs || ! -f $STATE/app.env ]]; then
    [[ -d $STATE/blobs ]] || { mkdir -p -m 700 "$STATE/blobs" && give_back "$STATE/blobs"; }
    HOST_ENV+=("Nylas__Storage__BlobStore=FileSystem" "Nylas__Storage__BlobDirectory=$STATE/blobs")
  fi
}

localhost_pid() { running_pid "$STATE/localhost.pid" Nylas.LocalHost; }

# Only what `up` runs: the local host and the demo tool (the tests and benchmarks build on their own).
build_solution() {
  cd "$REPO" || return 1
  # ReadyToRun needs a runtime identifier: this machine's (--use-current-runtime); the framework stays shared.
  as_user dotnet publish functions/Nylas.LocalHost -c Release --use-current-runtime --self-contained false \
    -p:PublishReadyToRun=true -o "$(dirname "$HOST_DLL")" -nologo -v q
  as_user dotnet build tools/Nylas.DevTool -c Release -nologo -v q
}

start_localhost() {
  local pid log="$STATE/logs/localhost.log"
  if pid=$(localhost_pid); then
    step_note "already running (pid $pid)"
    return 0
  fi
  require_free_ports "local host" "$API_PORT:NYLAS_DEV_API_PORT"
  [[ -f $REPO/$HOST_DLL ]] || step_fail "$HOST_DLL not found (did the build produce it?)"
  host_env
  cd "$REPO" || return 1
  printf '\n===== %s starting local host =====\n' "$(date '+%F %T')" >> "$log"
  give_back "$log"
  pid=$(launch "$STATE/localhost.pid" "$log" "${USER_PREFIX[@]}" env "${HOST_ENV[@]}" dotnet "$HOST_DLL")
  echo "local host pid $pid, log $log"
  # The host applies the DB migrations before it answers /health.
  local deadline=$(( EPOCHSECONDS + 90 ))
  until curl -fsS -o /dev/null "http://127.0.0.1:$API_PORT/health" 2> /dev/null; do
    if ! alive "$pid"; then
      show_tail "$log" 30
      step_fail "the local host exited during startup; see $log"
    fi
    if (( EPOCHSECONDS >= deadline )); then
      show_tail "$log" 30
      step_fail "the local host did not answer http://127.0.0.1:$API_PORT/health within 90 s; see $log"
    fi
    sleep 0.5
  done
  step_note "ok, pid $pid"
}

stop_localhost() {
  local pid
  pid=$(localhost_pid) || { step_note "not running"; return 0; }
  stop_tree "$pid" 20 || return 1
  step_note "stopped (pid $pid)"
}

status_localhost() {
  local pid
  if pid=$(localhost_pid); then
    status_line "Local host" "running (pid $pid, http://127.0.0.1:$API_PORT)"
  else
    status_line "Local host" stopped
  fi
}

create_app() {
  local file="$STATE/app.env" out id secret
  if [[ -f $file ]] && read_kv "$file" NYLAS_CLIENT_ID > /dev/null && read_kv "$file" NYLAS_CLIENT_SECRET > /dev/null; then
    step_note "already done ($file)"
    return 0
  fi
  host_env
  cd "$REPO" || return 1
  out=$(as_user env "${HOST_ENV[@]}" dotnet "$HOST_DLL" admin create-app --name "Local demo app") \
    || step_fail "'Nylas.LocalHost admin create-app' failed"
  printf '%s\n' "$out" | sed 's/\(SECRET=\).*/\1***/'
  id=$(printf '%s\n' "$out" | sed -n 's/^NYLAS_CLIENT_ID=//p' | tail -n1)
  secret=$(printf '%s\n' "$out" | sed -n 's/^NYLAS_CLIENT_SECRET=//p' | tail -n1)
  [[ -n $id && -n $secret ]] \
    || step_fail "'admin create-app' did not print NYLAS_CLIENT_ID=... and NYLAS_CLIENT_SECRET=..."
  (
    umask 077
    printf 'NYLAS_CLIENT_ID=%s\nNYLAS_CLIENT_SECRET=%s\n' "$(shquote "$id")" "$(shquote "$secret")" > "$file"
  )
  give_back "$file"
}

demo_mailbox() {
  local id secret
  [[ -f $REPO/$DEVTOOL_DLL ]] \
    || step_fail "$DEVTOOL_DLL not found: tools/Nylas.DevTool has not been written or built yet"
  id=$(read_kv "$STATE/app.env" NYLAS_CLIENT_ID)
  secret=$(read_kv "$STATE/app.env" NYLAS_CLIENT_SECRET)
  cd "$REPO" || return 1
  touch "$STATE/demo.env"; chmod 600 "$STATE/demo.env"; give_back "$STATE/demo.env"
  # Seeds the mailbox if empty, connects the account unless demo.env has a working token,
  # waits for the first sync, and writes NYLAS_ACCESS_TOKEN / NYLAS_ACCOUNT_ID to --state.
  as_user timeout 900 dotnet "$DEVTOOL_DLL" demo --api "http://127.0.0.1:$API_PORT" \
    --client-id "$id" --client-secret "$secret" \
    --imap-host 127.0.0.1 --imap-port "$IMAP_PORT" --imaps-port "$IMAPS_PORT" \
    --cert "$STATE/dovecot/tls/cert.pem" \
    --user demo@example.com --password "$DEMO_PASSWORD" --state "$STATE/demo.env" \
    || {
      localhost_pid > /dev/null \
        || step_fail "the demo tool failed, and the local host is no longer running: see $STATE/logs/localhost.log"
      step_fail "the demo tool (tools/Nylas.DevTool demo) failed"
    }
  read_kv "$STATE/demo.env" NYLAS_ACCESS_TOKEN > /dev/null \
    || step_fail "the demo tool did not write NYLAS_ACCESS_TOKEN to $STATE/demo.env"
  read_kv "$STATE/demo.env" NYLAS_ACCOUNT_ID > /dev/null \
    || step_fail "the demo tool did not write NYLAS_ACCOUNT_ID to $STATE/demo.env"
}

write_env_file() {
  local file="$STATE/env" k v
  local -A vals=(
    [NYLAS_API_URL]="http://127.0.0.1:$API_PORT"
    [NYLAS_ACCESS_TOKEN]=$(read_kv "$STATE/demo.env" NYLAS_ACCESS_TOKEN)
    [NYLAS_ACCOUNT_ID]=$(read_kv "$STATE/demo.env" NYLAS_ACCOUNT_ID)
    [NYLAS_CLIENT_ID]=$(read_kv "$STATE/app.env" NYLAS_CLIENT_ID)
    [NYLAS_CLIENT_SECRET]=$(read_kv "$STATE/app.env" NYLAS_CLIENT_SECRET)
    [DEMO_IMAP_HOST]=127.0.0.1
    [DEMO_IMAP_PORT]=$IMAP_PORT
    [DEMO_IMAPS_PORT]=$IMAPS_PORT
    [DEMO_SMTP_PORT]=$SMTP_PORT
    [DEMO_SUBMISSION_PORT]=$SUBMISSION_PORT
    [DEMO_USER]=demo@example.com
    [DEMO_PASSWORD]=$DEMO_PASSWORD
    [DEMO2_USER]=demo2@example.com
    [DEMO2_PASSWORD]=$DEMO2_PASSWORD
  )
  (
    umask 077
    {
      echo "# Written by ./dev up. Use: source .dev/env"
      for k in NYLAS_API_URL NYLAS_ACCESS_TOKEN NYLAS_CLIENT_ID NYLAS_CLIENT_SECRET NYLAS_ACCOUNT_ID \
        DEMO_IMAP_HOST DEMO_IMAP_PORT DEMO_IMAPS_PORT DEMO_SMTP_PORT DEMO_SUBMISSION_PORT \
        DEMO_USER DEMO_PASSWORD DEMO2_USER DEMO2_PASSWORD; do
        v=${vals[$k]}
        echo "export $k=$(shquote "$v")"
      done
    } > "$file"
  )
  give_back "$file"
}
