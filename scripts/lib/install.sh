# Installs what carecard's build and tests need on a Debian machine, skipping what is there
# already so reruns are quick. Source after common.sh.
# shellcheck shell=bash

# Debian packages: PC/SC daemon and headers, the vpcd driver, OpenSC (interop tests and the
# benchmark's pkcs11-tool), Chromium (browser tests), Node (extension and e2e), util-linux
# (unshare/setpriv for isolated stacks), pkg-config and a C toolchain for pcsc-sys.
CARECARD_DEBS=(pcscd libpcsclite-dev vsmartcard-vpcd opensc chromium nodejs npm util-linux python3 shellcheck
  pkg-config build-essential ca-certificates)
# scripts/test e2e-firefox: Debian's Firefox ESR (never a downloaded browser) and openssl (the refused-origin
# test's throw-away certificate).
CARECARD_FIREFOX_DEBS=(firefox-esr openssl)
# scripts/package: dpkg-deb, dpkg-shlibdeps and lintian (.deb), the MinGW linker for the Windows host, wixl and
# msiinfo (.msi), zip (extension), openssl (throw-away test key).
CARECARD_PACKAGE_DEBS=(dpkg-dev lintian gcc-mingw-w64-x86-64 msitools wixl zip openssl)

deb_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# A package counts as present when installed, or (for Node) when its command already works:
# a machine may carry Node from elsewhere, whose npm conflicts with Debian's.
have_package() {
  case "$1" in
    nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
  esac
  deb_installed "$1"
}

# ensure_debs [PACKAGE...]: the given Debian packages, or CARECARD_DEBS.
ensure_debs() {
  local missing=() pkg wanted=("$@")
  ((${#wanted[@]} > 0)) || wanted=("${CARECARD_DEBS[@]}")
  for pkg in "${wanted[@]}"; do
    have_package "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  say "installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_rust_tools() {
  command -v rustup >/dev/null 2>&1 || die "rustup is needed (https://rustup.rs)"
  local installed
  installed="$(rustup component list --installed 2>/dev/null || true)"
  for component in rustfmt clippy; do
    grep -q "^$component" <<<"$installed" || rustup component add "$component"
  done
}

# Windows and macOS: checked (not linked) so the host keeps compiling where Chrome and Edge run.
CARECARD_OTHER_TARGETS=(x86_64-pc-windows-gnu x86_64-apple-darwin)

ensure_other_targets() {
  local installed target
  installed="$(rustup target list --installed 2>/dev/null || true)"
  for target in "${CARECARD_OTHER_TARGETS[@]}"; do
    grep -qx "$target" <<<"$installed" || rustup target add "$target"
  done
}

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
    rustup target add wasm32-unknown-unknown
}

# The wasm-bindgen version the workspace pins: from Cargo.lock when resolved, else Cargo.toml.
workspace_wasm_bindgen_version() {
  local version=""
  if [[ -f "$REPO/Cargo.lock" ]]; then
    version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO/Cargo.lock")"
  fi
  if [[ -z "$version" ]]; then
    version="$(sed -n 's/^wasm-bindgen = "=\{0,1\}\([0-9.]*\)".*/\1/p' "$REPO/Cargo.toml" | head -n1)"
  fi
  echo "$version"
}

# wasm-bindgen-cli must match the crate exactly, or the generated glue refuses the module.
ensure_wasm_bindgen_cli() {
  local want have
  want="$(workspace_wasm_bindgen_version)"
  [[ -n "$want" ]] || die "cannot tell which wasm-bindgen version the workspace uses"
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  if [[ "$have" != "$want" ]]; then
    say "installing wasm-bindgen-cli $want (have: ${have:-none}); this takes a minute or two"
    cargo install --quiet wasm-bindgen-cli --version "$want"
  fi
}

# npm dependencies of a folder with a package.json, reinstalled only when the lock changed.
ensure_npm_deps() {
  local dir="$1"
  [[ -f "$dir/package.json" ]] || return 0
  local stamp="$dir/node_modules/.package-lock.json"
  if [[ -f "$dir/package-lock.json" ]]; then
    if [[ ! -f "$stamp" || "$dir/package-lock.json" -nt "$stamp" ]]; then
      say "npm ci in ${dir#"$REPO"/}"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  elif [[ ! -d "$dir/node_modules" ]]; then
    say "npm install in ${dir#"$REPO"/}"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}
