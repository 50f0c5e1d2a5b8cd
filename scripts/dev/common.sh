# shellcheck shell=bash
# Shared helpers for ./dev: step runner, timing, port checks, pid handling, instance layout.
# Sourced by ./dev; expects REPO to be set to the repository root.

# ---------------------------------------------------------------------------
# Output and timing
# ---------------------------------------------------------------------------

now() { echo "${EPOCHREALTIME/,/.}"; }

# elapsed START -> "1.2"
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Inside a step: record the reason the step failed (shown prominently) and fail the step.
step_fail() {
  printf '%s\n' "$*" >&2
  printf '%s\n' "$*" > "$STEP_REASON_FILE"
  exit 1
}

# Inside a step: replace the "ok" shown at the end of the step line (e.g. "already running").
step_note() { printf '%s' "$*" > "$STEP_NOTE_FILE"; }

# step LOGFILE "description" command [args...]
#   Runs the command in a subshell with errexit on, output appended to LOGFILE, and prints
#   "==> description ... ok (1.2 s)". On failure prints the reason, the log path and the
#   last lines of the log, and exits the script.
#   Why a subshell with an explicit `set +e` around it: errexit is silently disabled inside
#   functions called from `if`/`||`, so we keep the step body out of any such context.
step() {
  local log=$1 desc=$2; shift 2
  local t0 rc note reason lines=${NYLAS_DEV_TAIL_LINES:-20}
  mkdir -p "$(dirname "$log")"
  STEP_NOTE_FILE=$(mktemp) STEP_REASON_FILE=$(mktemp)
  export STEP_NOTE_FILE STEP_REASON_FILE
  printf '==> %s ... ' "$desc"
  printf '\n### %s  %s\n' "$(date '+%F %T')" "$desc" >> "$log"
  t0=$(now)
  set +e
  ( set -euo pipefail; "$@" ) >> "$log" 2>&1 < /dev/null
  rc=$?
  set -e
  note=$(cat "$STEP_NOTE_FILE"); reason=$(cat "$STEP_REASON_FILE")
  rm -f "$STEP_NOTE_FILE" "$STEP_REASON_FILE"
  if [[ $rc -eq 0 ]]; then
    printf '%s (%s s)\n' "${note:-ok}" "$(elapsed "$t0")"
    return 0
  fi
  printf 'FAILED (%s s)\n' "$(elapsed "$t0")"
  {
    [[ -n $reason ]] && printf '    %s\n' "$reason"
    printf '    step "%s" failed (exit %s); log: %s\n' "$desc" "$rc" "$log"
    printf '    --- last %s lines of %s ---\n' "$lines" "$log"
    tail -n "$lines" "$log" | sed 's/^/    | /'
  } >&2
  exit 1
}

# ---------------------------------------------------------------------------
# Root
# ---------------------------------------------------------------------------

# The services need root (apt, chown to mysql/nobody/postfix, postfix/dovecot masters).
# If we are not root, re-run the whole command through sudo; dotnet build and the local host
# then drop back to the invoking user (see as_user) so bin/obj are not owned by root.
ensure_root() {
  [[ $EUID -eq 0 ]] && return 0
  if command -v sudo > /dev/null 2>&1; then
    say "(not root: re-running with sudo)"
    # sudo resets the environment: pass on PATH (dotnet, node may live in the user's PATH)
    # and our own settings explicitly.
    local -a keep=("PATH=$PATH")
    local v
    for v in $(compgen -e); do
      case $v in NYLAS_* | DOTNET_* | CI) keep+=("$v=${!v}") ;; esac
    done
    exec sudo env "${keep[@]}" bash "$REPO/dev" "$@"
  fi
  die "./dev needs root (it installs packages and starts MariaDB/Dovecot/Postfix); run it as root or install sudo"
}

# When run through sudo, dotnet commands drop back to the invoking user (USER_PREFIX) so
# that bin/, obj/ and ~/.nuget are not filled with root-owned files. setpriv execs (no extra
# process), so a pid recorded for a daemon started this way is the daemon's own.
USER_PREFIX=()
if [[ $EUID -eq 0 && -n ${SUDO_USER:-} && ${SUDO_USER} != root && -n ${SUDO_UID:-} ]]; then
  USER_PREFIX=(setpriv "--reuid=$SUDO_UID" "--regid=$SUDO_GID" --init-groups
    env "HOME=$(getent passwd "$SUDO_USER" | cut -d: -f6)" "USER=$SUDO_USER")
fi
as_user() { "${USER_PREFIX[@]}" "$@"; }

# Give a file/dir we created back to the invoking user when run through sudo.
give_back() {
  if [[ -n ${SUDO_USER:-} && ${SUDO_USER} != root ]]; then chown "$SUDO_USER" "$@" 2> /dev/null || true; fi
}

# After running dotnet as root under sudo: hand root-owned build outputs (bin/, obj/,
# TestResults/) back to the invoking user, so their own builds keep working.
give_back_tree() {
  [[ -n ${SUDO_USER:-} && ${SUDO_USER} != root && -n ${SUDO_UID:-} ]] || return 0
  find "$REPO" \( -name .git -o -name .dev -o -name node_modules \) -prune -o -uid 0 -print0 \
    | xargs -0 -r chown -h "$SUDO_UID:$SUDO_GID" 2> /dev/null || true
}

# ---------------------------------------------------------------------------
# State folder
# ---------------------------------------------------------------------------

# True if uid/gid 65534 (nobody) can traverse DIR (and thus every parent of it). Dovecot's
# mail processes (uid 65534), mariadbd (mysql) and postfix's daemons (postfix) chdir into
# folders under the state dir, so every parent must be world-traversable.
traversable_by_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$1" 2> /dev/null
}

# Create .dev (the root of all state) if needed. If the repository lives somewhere the
# service users cannot reach (e.g. under /root, mode 700) or its path is too long for unix
# sockets, .dev becomes a symlink to a folder under /var/tmp and the daemons are given the
# resolved path.
ensure_state_root() {
  local top="$REPO/.dev"
  if [[ ! -e $top ]]; then
    if traversable_by_nobody "$REPO" && [[ ${#REPO} -le 60 ]]; then
      mkdir -p "$top"
    else
      local alt
      alt="/var/tmp/nylas-dev-$(printf '%s' "$REPO" | sha1sum | cut -c1-12)"
      mkdir -p "$alt"
      ln -s "$alt" "$top"
      say "(state folder .dev -> $alt: the repository path is not reachable by service users or too long)"
    fi
    give_back "$top"
  fi
  chmod 755 "$top/" 2> /dev/null || true
}

# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

# pid_from FILE -> pid on stdout if the file exists and holds a number.
pid_from() {
  local f=$1 p
  [[ -r $f ]] || return 1
  read -r p < "$f" || true
  p=${p//[[:space:]]/}
  [[ $p =~ ^[0-9]+$ ]] || return 1
  echo "$p"
}

# running_pid FILE PATTERN -> pid on stdout if the process in FILE is alive and its
# command line matches PATTERN (guards against a recycled pid).
running_pid() {
  local p cmd
  p=$(pid_from "$1") || return 1
  [[ -r /proc/$p/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null) || return 1
  [[ $cmd == *$2* ]] || return 1
  echo "$p"
}

# alive PID -> true if the process exists and is not a zombie (builtins only: called in loops).
alive() {
  local line
  { read -r line < "/proc/$1/stat"; } 2> /dev/null || return 1
  line=${line##*) }
  [[ ${line:0:1} != Z ]]
}

# All descendants of PID (children, grandchildren, ...), one per line. One pass over /proc
# with builtins only (no ps: it is not on every bare machine).
descendants() {
  local -A kids=()
  local f line rest pid ppid
  for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2> /dev/null || continue
    pid=${line%% *}
    rest=${line##*) }          # "S ppid pgrp ..." (comm may contain spaces and parens)
    ppid=${rest#* }; ppid=${ppid%% *}
    kids[$ppid]+=" $pid"
  done
  local -a todo=("$1")
  local p c
  while [[ ${#todo[@]} -gt 0 ]]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    for c in ${kids[$p]:-}; do echo "$c"; todo+=("$c"); done
  done
}

# wait_gone TIMEOUT PID... -> 0 when none of the pids is alive any more, 1 on timeout.
wait_gone() {
  local timeout=$1; shift
  local deadline=$(( EPOCHSECONDS + timeout )) p left
  while :; do
    left=0
    for p in "$@"; do alive "$p" && left=1; done
    [[ $left -eq 0 ]] && return 0
    (( EPOCHSECONDS >= deadline )) && return 1
    sleep 0.1
  done
}

# stop_tree PID TIMEOUT [STOP_COMMAND...]
#   Stops a daemon and everything it spawned: runs STOP_COMMAND (default: kill -TERM PID),
#   waits up to TIMEOUT seconds for the whole tree to exit, then SIGKILLs what is left.
stop_tree() {
  local pid=$1 timeout=$2; shift 2
  local tree
  mapfile -t tree < <(echo "$pid"; descendants "$pid")
  if [[ $# -gt 0 ]]; then
    "$@" || kill -TERM "$pid" 2> /dev/null || true
  else
    kill -TERM "$pid" 2> /dev/null || true
  fi
  if ! wait_gone "$timeout" "${tree[@]}"; then
    echo "still running after ${timeout}s, sending SIGKILL: ${tree[*]}"
    kill -KILL "${tree[@]}" 2> /dev/null || true
    wait_gone 5 "${tree[@]}" || return 1
  fi
}

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Who listens on PORT (best effort, for error messages).
port_owner() {
  command -v ss > /dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2> /dev/null | grep -o 'users:(([^)]*' | head -n1 | sed 's/users:((//'
}

# require_free_ports SERVICE "PORT:ENVVAR" ... -> fails the step with a clear message if one
# of the ports already accepts connections (called only when our own instance is not running).
require_free_ports() {
  local svc=$1; shift
  local spec port var owner
  for spec in "$@"; do
    port=${spec%%:*}; var=${spec#*:}
    if port_open "$port"; then
      owner=$(port_owner "$port")
      step_fail "port $port ($svc) is already in use by another process${owner:+ ($owner)}; stop it or change $var"
    fi
  done
}

# wait_port PORT TIMEOUT [PID] -> waits until 127.0.0.1:PORT accepts connections. Gives up
# early if PID (the daemon we just started) died.
wait_port() {
  local port=$1 timeout=$2 pid=${3:-}
  local deadline=$(( EPOCHSECONDS + timeout ))
  until port_open "$port"; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      echo "process $pid exited before port $port accepted connections"
      return 1
    fi
    if (( EPOCHSECONDS >= deadline )); then
      echo "port $port did not accept connections within ${timeout}s"
      return 1
    fi
    sleep 0.1
  done
}

# launch PIDFILE LOGFILE COMMAND... -> starts COMMAND as a daemon in its own session (so a
# Ctrl-C in the terminal that ran ./dev does not reach it), stdio to LOGFILE, and records its
# pid in PIDFILE (the wrapper execs the command, so the recorded pid is the daemon's own).
launch() {
  local pidfile=$1 log=$2; shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016
  setsid -f bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >> "$log" 2>&1 < /dev/null
  for _ in $(seq 1 100); do [[ -s $pidfile ]] && break; sleep 0.02; done
  pid_from "$pidfile" || { echo "no pid file $pidfile after starting $1" >&2; return 1; }
}

# Append the tail of a daemon's own log to the step log (so it shows up on failure).
show_tail() {
  local f=$1 n=${2:-15}
  [[ -f $f ]] || return 0
  echo "--- last $n lines of $f ---"
  tail -n "$n" "$f"
}

# Single-quote a value for a sourceable shell file.
shquote() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

# Azurite connection string with explicit endpoints (our ports are not the defaults).
azurite_connection_string() {
  local blob=$1 queue=$2 table=$3
  local key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
  printf 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%s/devstoreaccount1;QueueEndpoint=http://127.0.0.1:%s/devstoreaccount1;TableEndpoint=http://127.0.0.1:%s/devstoreaccount1;' \
    "$key" "$blob" "$queue" "$table"
}
