#!/bin/sh
# Builds carecard-@VERSION@.pkg from this layout, on a Mac (pkgbuild and productbuild are Apple's).
#
#   ./build-pkg.sh --binary <carecard-host for macOS> [--sign "Developer ID Installer: ..."]
#                  [--app-sign "Developer ID Application: ..."] [--layout-only]
#
# The binary: cargo build --release -p carecard-host --target aarch64-apple-darwin and
# x86_64-apple-darwin, joined with lipo -create. --app-sign signs it (hardened runtime, timestamp)
# before it goes in; --sign signs the .pkg. Then notarise and staple (docs/DEPLOY.md):
#   xcrun notarytool submit carecard-@VERSION@.pkg --keychain-profile <profile> --wait
#   xcrun stapler staple carecard-@VERSION@.pkg
# --layout-only copies the binary into root/ and stops (how the tests check the layout on Linux).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
binary="" sign="" app_sign="" layout_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift ;;
        --sign) sign="$2"; shift ;;
        --app-sign) app_sign="$2"; shift ;;
        --layout-only) layout_only=1 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$binary" ] || [ ! -f "$binary" ]; then
    echo "--binary <carecard-host for macOS> is needed" >&2
    exit 2
fi
dest="$here/root/Library/Application Support/carecard/carecard-host"
cp "$binary" "$dest"
chmod 0755 "$dest"
[ "$layout_only" = 1 ] && exit 0
if [ -n "$app_sign" ]; then
    codesign --force --options runtime --timestamp --sign "$app_sign" "$dest"
fi
pkgbuild --root "$here/root" --scripts "$here/scripts" --identifier org.carecard.host \
    --version "@VERSION@" --install-location / "$here/carecard-component.pkg"
if [ -n "$sign" ]; then
    productbuild --package "$here/carecard-component.pkg" --sign "$sign" "$here/carecard-@VERSION@.pkg"
else
    productbuild --package "$here/carecard-component.pkg" "$here/carecard-@VERSION@.pkg"
fi
echo "built $here/carecard-@VERSION@.pkg"
