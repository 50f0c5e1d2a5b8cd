# shellcheck shell=bash
# MariaDB: a private server (no /etc/mysql config, no systemd) with its datadir under
# $STATE/mysql, listening on 127.0.0.1:$MYSQL_PORT and on a unix socket for root.

mariadb_dir() { echo "$STATE/mysql"; }
mariadb_socket() { echo "$STATE/mysql/run/mysqld.sock"; }
mariadb_pid() { running_pid "$STATE/mysql/run/mysqld.pid" mariadbd; }

# shellcheck disable=SC2120  # used with a heredoc on stdin
mariadb_root() { mariadb --no-defaults --socket="$(mariadb_socket)" -uroot "$@"; }

start_mariadb() {
  local dir pid
  dir=$(mariadb_dir)
  if pid=$(mariadb_pid); then
    step_note "already running (pid $pid)"
    return 0
  fi
  require_free_ports MariaDB "$MYSQL_PORT:${PORT_VAR_PREFIX}MYSQL_PORT"
  mkdir -p "$dir/data" "$dir/run"
  chmod 755 "$dir"
  # mariadbd drops to the mysql user: it must own the datadir and the folder of its error
  # log (otherwise it silently writes no log at all).
  chown -R mysql:mysql "$dir/data" "$dir/run"
  rm -f "$dir/run/mysqld.sock" "$dir/run/mysqld.sock.lock"
  if [[ ! -d $dir/data/mysql ]]; then
    echo "initializing datadir $dir/data"
    mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db > "$dir/install-db.log" 2>&1 \
      || { show_tail "$dir/install-db.log"; return 1; }
  fi
  # --no-defaults keeps Debian's /etc/mysql out of the way. No binlog: one server, no replicas.
  # The dev instance (the product ./dev up runs) writes its redo log to disk at every commit: an OS
  # crash must not take back what ingest committed after its queue message was deleted. A test
  # instance's databases are thrown away: it flushes once a second. (The flush per commit cost
  # nothing measurable: BENCHMARKS.md, "Tried on the warm host".)
  local flush_at_commit=1
  [[ ${INSTANCE:-dev} == test ]] && flush_at_commit=2
  pid=$(launch "$dir/run/launcher.pid" "$dir/run/mysqld.out" \
    mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
    --bind-address=127.0.0.1 --port="$MYSQL_PORT" --socket="$dir/run/mysqld.sock" \
    --pid-file="$dir/run/mysqld.pid" --log-error="$dir/run/mysqld.err" \
    --skip-name-resolve --skip-log-bin --innodb-flush-log-at-trx-commit="$flush_at_commit" \
    --innodb-buffer-pool-size=256M --max-connections=500 --max-allowed-packet=64M \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci)
  echo "mariadbd pid $pid"
  wait_port "$MYSQL_PORT" 60 "$pid" || { show_tail "$dir/run/mysqld.err"; return 1; }
  for _ in $(seq 1 100); do
    mariadb-admin --no-defaults --socket="$dir/run/mysqld.sock" -uroot ping > /dev/null 2>&1 && break
    sleep 0.1
  done
  # Databases for the local host, and a user that may create any nylas_* database (the
  # tests create their own nylas_t... databases). Both hosts, because of --skip-name-resolve.
  mariadb_root <<'SQL'
CREATE DATABASE IF NOT EXISTS nylas_global;
CREATE DATABASE IF NOT EXISTS nylas_shard0;
CREATE DATABASE IF NOT EXISTS nylas_shard1;
CREATE USER IF NOT EXISTS 'nylas'@'127.0.0.1' IDENTIFIED BY 'nylas';
CREATE USER IF NOT EXISTS 'nylas'@'localhost' IDENTIFIED BY 'nylas';
GRANT ALL PRIVILEGES ON `nylas\_%`.* TO 'nylas'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `nylas\_%`.* TO 'nylas'@'localhost';
FLUSH PRIVILEGES;
SQL
  step_note "ok, pid $pid"
}

stop_mariadb() {
  local pid
  pid=$(mariadb_pid) || { step_note "not running"; return 0; }
  stop_tree "$pid" 60 mariadb-admin --no-defaults --socket="$(mariadb_socket)" -uroot shutdown || return 1
  step_note "stopped (pid $pid)"
}

status_mariadb() {
  local pid
  if pid=$(mariadb_pid); then
    status_line MariaDB "running (pid $pid, 127.0.0.1:$MYSQL_PORT)"
  else
    status_line MariaDB stopped
  fi
}
