#!/usr/bin/env bash
# Makes sure the events warehouses the tests use answer: ClickHouse on
# 127.0.0.1:9000 (native protocol; Debian's clickhouse-server, installed
# when missing and started as its own user) and MariaDB on 127.0.0.1:3306
# (root without a password; installed when missing).
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name
  for _ in $(seq 1 60); do
    up "$1" && return 0
    sleep 1
  done
  echo "$2 did not come up on 127.0.0.1:$1" >&2
  exit 1
}

if ! up 9000; then
  if ! command -v clickhouse-server >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
  fi
  echo "starting clickhouse-server" >&2
  mkdir -p /var/log/clickhouse-server /var/lib/clickhouse
  chown -R clickhouse:clickhouse /var/log/clickhouse-server /var/lib/clickhouse
  # The whole background job is redirected, and the server replaces its
  # shell (exec): nothing keeps this script's stdout open, so a caller
  # reading it (a pipe, $(...)) sees the end when the script exits.
  (cd /var/lib/clickhouse && exec setpriv --reuid=clickhouse --regid=clickhouse --init-groups \
    /usr/sbin/clickhouse-server --config-file=/etc/clickhouse-server/config.xml) </dev/null >/dev/null 2>&1 &
  disown
  wait_for 9000 ClickHouse
fi

if ! up 3306; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  fi
  echo "starting MariaDB" >&2
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_for 3306 MariaDB
fi

# Debian's MariaDB lets root in over the socket only; the tests connect
# over TCP as root without a password.
if command -v mariadb >/dev/null && ! mariadb -uroot -h127.0.0.1 -e 'SELECT 1' >/dev/null 2>&1; then
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
fi
