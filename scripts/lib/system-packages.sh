# Installs the Debian packages Stowage and its tests need, only those that are missing.
# Sourced by scripts/test.sh and scripts/start.sh.
ensure_debian_packages() {
  local missing=()
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
  command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v zstd >/dev/null 2>&1 || missing+=(zstd)
  for pkg in "$@"; do
    case "$pkg" in
      chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
      rclone) command -v rclone >/dev/null 2>&1 || missing+=(rclone) ;;
      age) command -v age >/dev/null 2>&1 || missing+=(age) ;;
      *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
    esac
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "==> installing Debian packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
