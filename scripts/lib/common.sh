# Shared bits for carecard's scripts. Source it; it sets REPO and a few helpers.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO

if [[ -t 1 ]]; then
  BOLD=$'\e[1m'; RED=$'\e[31m'; GREEN=$'\e[32m'; YELLOW=$'\e[33m'; RESET=$'\e[0m'
else
  BOLD=""; RED=""; GREEN=""; YELLOW=""; RESET=""
fi

say() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
warn() { printf '%swarning:%s %s\n' "$YELLOW" "$RESET" "$*" >&2; }
die() { printf '%serror:%s %s\n' "$RED" "$RESET" "$*" >&2; exit 1; }

# Runs cargo with the machine's toolchain even when ~/.cargo/bin is not on PATH (CI shells).
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# PIDs of processes (other than this shell) that mention folder $1 on their command line or
# use a pcscd socket inside it: everything a run started while TMPDIR pointed there.
pids_using_dir() {
  local dir="$1" proc pid
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    if grep -qsF -- "$dir" "$proc/cmdline" || grep -qsF -- "PCSCLITE_CSOCK_NAME=$dir" "$proc/environ"; then
      echo "$pid"
    fi
  done
}
