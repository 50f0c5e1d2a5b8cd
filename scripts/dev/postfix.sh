# shellcheck shell=bash
# Postfix: SMTP on 127.0.0.1:$SMTP_PORT, relaying mail for example.com into our Dovecot over
# LMTP, and submission on 127.0.0.1:$SUBMISSION_PORT as a mail provider runs it: STARTTLS (Dovecot's
# certificate) before anything else, then AUTH checked by Dovecot's passdb (the IMAP password, or
# XOAUTH2/OAUTHBEARER on the test instance), and only authenticated clients may send. Each instance
# has its own config_directory, queue_directory and data_directory under $STATE/postfix, so the dev
# and test instances run side by side and /etc/postfix is
# never changed. (alternate_config_directories in /etc/postfix/main.cf is only needed by the
# set-gid tools postdrop/postqueue for non-root users; `postfix -c DIR` as root works without.)

postfix_dir() { echo "$STATE/postfix"; }
postfix_etc() { echo "$STATE/postfix/etc"; }
postfix_pid() { running_pid "$STATE/postfix/queue/pid/master.pid" postfix; }

postfix_write_config() {
  local dir=$1 etc=$2
  mkdir -p "$etc" "$dir/queue" "$dir/data"
  chmod 755 "$dir"
  # master.lock and the TLS/cache databases live in data_directory, owned by the mail owner.
  chown postfix "$dir/data"
  chmod 700 "$dir/data"
  # Start from Debian's stock files on every start (not from our previous edits, and not
  # from whatever someone did to /etc/postfix: master.cf services are reset below anyway).
  local main=/etc/postfix/main.cf master=/etc/postfix/master.cf
  [[ -f /usr/share/postfix/main.cf.debian ]] && main=/usr/share/postfix/main.cf.debian
  [[ -f /usr/share/postfix/master.cf.dist ]] && master=/usr/share/postfix/master.cf.dist
  cp "$main" "$etc/main.cf"
  cp "$master" "$etc/master.cf"
  # (dynamicmaps.cf and postfix-files stay in /etc/postfix: meta_directory.)

  # shellcheck disable=SC2016  # $myhostname is a Postfix parameter reference
  postconf -c "$etc" -e \
    "queue_directory = $dir/queue" \
    "data_directory = $dir/data" \
    "maillog_file = $dir/postfix.log" \
    "maillog_file_prefixes = $dir" \
    "syslog_name = postfix-nylas-$INSTANCE" \
    'compatibility_level = 3.6' \
    'myhostname = mail.nylas.test' \
    'mydomain = nylas.test' \
    'myorigin = $myhostname' \
    'inet_interfaces = 127.0.0.1' \
    'inet_protocols = ipv4' \
    'mydestination =' \
    'local_recipient_maps =' \
    'alias_maps =' \
    'alias_database =' \
    'mynetworks = 127.0.0.0/8' \
    'relayhost =' \
    'relay_domains = example.com' \
    "relay_transport = lmtp:inet:127.0.0.1:$LMTP_PORT" \
    'default_transport = error:this test server only delivers to example.com' \
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination' \
    'smtpd_tls_security_level = none' \
    'smtpd_tls_cert_file =' \
    'smtpd_tls_key_file =' \
    'smtp_tls_security_level = none' \
    'message_size_limit = 52428800' \
    'queue_run_delay = 5s' 'minimal_backoff_time = 5s' 'maximal_backoff_time = 10s'
  # Drop every network listener of the template (port 25, submission, ...) and add ours.
  local svc
  while read -r svc; do
    [[ -n $svc ]] && postconf -c "$etc" -MX "$svc/inet"
  done < <(postconf -c "$etc" -M | awk '$2 == "inet" { print $1 }')
  postconf -c "$etc" -M "127.0.0.1:$SMTP_PORT/inet=127.0.0.1:$SMTP_PORT inet n - n - - smtpd"
  local tls
  tls="$(dovecot_dir)/tls"
  postconf -c "$etc" -M "127.0.0.1:$SUBMISSION_PORT/inet=127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd \
    -o syslog_name=postfix-nylas-$INSTANCE/submission \
    -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes \
    -o smtpd_tls_cert_file=$tls/cert.pem -o smtpd_tls_key_file=$tls/key.pem \
    -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=$(dovecot_dir)/run/auth-postfix \
    -o smtpd_client_restrictions=permit_sasl_authenticated,reject \
    -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  # No chroot: Debian's init script that populates the chroot is not used.
  postconf -c "$etc" -F '*/*/chroot = n'
}

start_postfix() {
  local dir etc pid
  dir=$(postfix_dir); etc=$(postfix_etc)
  if pid=$(postfix_pid); then
    step_note "already running (pid $pid)"
    return 0
  fi
  require_free_ports Postfix "$SMTP_PORT:${PORT_VAR_PREFIX}SMTP_PORT" "$SUBMISSION_PORT:${PORT_VAR_PREFIX}SUBMISSION_PORT"
  postfix_write_config "$dir" "$etc"
  # `postfix start` checks the config and creates the queue folders with the right owners.
  postfix -c "$etc" start || { show_tail "$dir/postfix.log"; return 1; }
  for _ in $(seq 1 100); do pid=$(postfix_pid) && break; sleep 0.05; done
  [[ -n $pid ]] || { echo "postfix did not write its master.pid"; show_tail "$dir/postfix.log"; return 1; }
  echo "postfix master pid $pid"
  wait_port "$SMTP_PORT" 30 "$pid" || { show_tail "$dir/postfix.log"; return 1; }
  wait_port "$SUBMISSION_PORT" 30 "$pid" || { show_tail "$dir/postfix.log"; return 1; }
  step_note "ok, pid $pid"
}

stop_postfix() {
  local pid
  pid=$(postfix_pid) || { step_note "not running"; return 0; }
  stop_tree "$pid" 20 postfix -c "$(postfix_etc)" stop || return 1
  step_note "stopped (pid $pid)"
}

status_postfix() {
  local pid
  if pid=$(postfix_pid); then
    status_line Postfix "running (pid $pid, smtp 127.0.0.1:$SMTP_PORT, submission $SUBMISSION_PORT -> lmtp $LMTP_PORT)"
  else
    status_line Postfix stopped
  fi
}
