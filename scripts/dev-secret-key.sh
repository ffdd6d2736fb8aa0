#!/bin/sh
# dev-secret-key.sh: the development WAYPOST_SECRET_KEY that `make run` uses
# when none is set. It prints the key kept in .waypost-dev-secret (in the
# current directory, git-ignored), generating it the first time (32 random
# bytes, base64, readable by the owner only) and saying so on stderr. The
# key encrypts events-database passwords; in production set
# WAYPOST_SECRET_KEY yourself (the binary never generates one).
set -eu
f=.waypost-dev-secret
if [ ! -s "$f" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 >"$f.tmp" && mv "$f.tmp" "$f")
  echo "make run: generated a development WAYPOST_SECRET_KEY in $f (git-ignored; it encrypts events-database passwords). In production set WAYPOST_SECRET_KEY yourself." >&2
fi
cat "$f"
