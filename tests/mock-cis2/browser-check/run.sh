#!/usr/bin/env bash
# Drives the mock site's pages in Debian's Chromium without the extension: a stand-in carecard.js
# signs with WebCrypto (ES256, raw r||s) using a key and certificate made here with OpenSSL, so the
# login page, /api/login, /home and the card-removed logout are exercised in a real browser with
# the real CSP, independently of the Rust test PKI.
#
# Needs: openssl, node, /usr/lib/chromium/chromium, playwright-core in tests/e2e/node_modules
# (npm ci there), and a built mock-cis2 (cargo build -p carecard-mock-cis2).
# Usage: tests/mock-cis2/browser-check/run.sh [path/to/mock-cis2]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/mock-cis2}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A CA and a login certificate with the profile the verifier requires.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
  -subj "/CN=browser-check CA" -days 2 -outform DER -out "$work/ca.der" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -subj "/CN=Bob Tester/GN=Bob/SN=Tester/serialNumber=700000000001" -out "$work/leaf.csr" 2>/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.der" -CAform DER -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/ext.cnf" -outform DER -out "$work/leaf.der" 2>/dev/null

node "$here/make-carecard.mjs" "$work/leaf.key" "$work/leaf.der" >"$work/carecard.js"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" --listen "127.0.0.1:$port" --ca "$work/ca.der" --carecard-js "$work/carecard.js" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

if ! NODE_PATH="$root/tests/e2e/node_modules" node "$here/check.mjs" "http://localhost:$port"; then
  echo "--- server log" >&2
  cat "$work/server.log" >&2
  exit 1
fi
