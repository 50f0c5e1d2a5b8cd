# shellcheck shell=bash
# Installs what the local stack needs: Debian packages, the pinned Azurite from npm, and the pinned
# Nylas Node SDK of the SDK tour (tests/sdk-tour). Idempotent and quiet when everything is present
# (no apt-get update, no npm call).

# dnsmasq-base: the DNS server the tests' MX lookups ask (the binary only, no system service).
APT_PACKAGES=(mariadb-server dovecot-imapd dovecot-lmtpd postfix openssl curl dnsmasq-base)
AZURITE_DIR="$REPO/scripts/dev/azurite"
AZURITE_BIN="$AZURITE_DIR/node_modules/.bin/azurite"
SDK_TOUR_DIR="$REPO/tests/sdk-tour"
# Written after a successful npm ci: the SHA-256 of the package-lock.json it installed.
SDK_TOUR_STAMP="$SDK_TOUR_DIR/node_modules/.installed-lock-sha256"

missing_apt_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2> /dev/null) == "install ok installed" ]] || echo "$p"
  done
}

install_apt() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "missing packages: ${missing[*]}"
  # Answer postfix's install questions: local only, no relay host; we run our own instances
  # with their own config directories anyway.
  printf '%s\n' 'postfix postfix/main_mailer_type select Local only' \
    'postfix postfix/mailname string localhost' | debconf-set-selections
  # apt must not start system services (MariaDB on 3306, Postfix on 25, Dovecot on 143): we
  # run our own instances. Containers usually have a policy-rc.d that forbids it already;
  # elsewhere we add one for the duration of the install.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, added by nylas ./dev during apt-get install\nexit 101\n' > "$policy"
    chmod 755 "$policy"; added_policy=1
  fi
  local rc=0
  apt-get update -q || rc=$?
  if [[ $rc -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}" || rc=$?
  fi
  [[ $added_policy -eq 1 ]] && rm -f "$policy"
  [[ $rc -eq 0 ]] || step_fail "apt-get failed installing: ${missing[*]}"
  mapfile -t missing < <(missing_apt_packages)
  [[ ${#missing[@]} -eq 0 ]] || step_fail "still missing after apt-get install: ${missing[*]}"
  step_note "installed ${#APT_PACKAGES[@]} packages"
}

install_azurite() {
  [[ -x $AZURITE_BIN ]] && return 0
  command -v node > /dev/null 2>&1 || step_fail "node is not installed (needed for Azurite)"
  command -v npm > /dev/null 2>&1 || step_fail "npm is not installed (needed for Azurite)"
  (cd "$AZURITE_DIR" && npm ci --no-audit --no-fund)
  [[ -x $AZURITE_BIN ]] || step_fail "npm ci finished but $AZURITE_BIN is missing"
  step_note "installed azurite $(node -p 'require(process.argv[1]).version' "$AZURITE_DIR/node_modules/azurite/package.json")"
}

sdk_tour_lock_hash() { sha256sum < "$SDK_TOUR_DIR/package-lock.json" | cut -d' ' -f1; }

# True when node_modules holds exactly what the committed lock file pins.
sdk_tour_installed() {
  [[ -f $SDK_TOUR_STAMP && $(cat "$SDK_TOUR_STAMP") == "$(sdk_tour_lock_hash)" ]]
}

# npm ci (never npm install: the lock file is the contract), as the invoking user so that
# node_modules in the checkout is not root-owned; no install scripts (the SDK's optional native
# websocket helpers are not needed).
install_sdk_tour() {
  command -v node > /dev/null 2>&1 || step_fail "node is not installed (needed for the SDK tour)"
  command -v npm > /dev/null 2>&1 || step_fail "npm is not installed (needed for the SDK tour)"
  (cd "$SDK_TOUR_DIR" && as_user npm ci --no-audit --no-fund --ignore-scripts)
  sdk_tour_lock_hash | as_user tee "$SDK_TOUR_STAMP" > /dev/null
  step_note "installed nylas $(node -p 'require(process.argv[1]).version' "$SDK_TOUR_DIR/node_modules/nylas/package.json")"
}

# Both steps are serialized with a lock so that `./dev up` and `./dev test` started at the
# same moment do not run apt/npm concurrently.
install_all() {
  local log=$1 lock="$REPO/.dev/.install.lock"
  exec 9> "$lock"
  if ! flock -n 9; then
    say "(waiting for another ./dev to finish installing)"
    flock 9
  fi
  if [[ -n $(missing_apt_packages) ]]; then
    step "$log" "installing Debian packages (${APT_PACKAGES[*]})" install_apt
  fi
  if [[ ! -x $AZURITE_BIN ]]; then
    step "$log" "installing Azurite 3.37.0 (npm ci)" install_azurite
  fi
  if ! sdk_tour_installed; then
    step "$log" "installing the Nylas Node SDK 6.11.1 for the SDK tour (npm ci in tests/sdk-tour)" install_sdk_tour
  fi
  command -v dotnet > /dev/null 2>&1 || die "dotnet (the .NET SDK) is not on PATH"
  exec 9>&-
}
