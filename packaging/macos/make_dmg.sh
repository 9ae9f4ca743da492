#!/usr/bin/env bash
# macOS disk image from the PyInstaller .app: dist/cxr-desktop-<version>-macos-<arch>.dmg
# UNTESTED: written on Linux, never run on macOS (see packaging/README.md).
#
#   python packaging/build.py          # on macOS the spec also writes "dist/CXR Desktop.app"
#   packaging/macos/make_dmg.sh
#
# Optional signing/notarization (needs an Apple Developer ID):
#   CODESIGN_IDENTITY="Developer ID Application: ..." NOTARY_PROFILE=<notarytool keychain profile>
set -euo pipefail
cd "$(dirname "$0")/../.."

APP="dist/CXR Desktop.app"
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
DMG="dist/cxr-desktop-${VERSION}-macos-$(uname -m).dmg"

if [ ! -d "$APP" ]; then
    echo "make_dmg.sh: $APP not found; run python packaging/build.py on macOS first" >&2
    exit 1
fi
command -v hdiutil >/dev/null || { echo "make_dmg.sh: hdiutil not found (macOS only)" >&2; exit 1; }

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict "$APP"
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "CXR Desktop ${VERSION}" -srcfolder "$STAGE" -ov -format UDZO "$DMG"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --sign "$CODESIGN_IDENTITY" "$DMG"
    if [ -n "${NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
        xcrun stapler staple "$DMG"
    fi
fi
echo "make_dmg.sh: $DMG"
