#!/usr/bin/env bash
# Builds test/interop/bin/c2spcheck OFFLINE from Debian-packaged sources:
#   Go toolchain:     apt-get install -y --no-install-recommends golang-go               (Debian 12: Go 1.19)
#   golang.org/x/mod: apt-get install -y --no-install-recommends golang-golang-x-mod-dev (Debian 12: v0.7.0,
#                     sources in /usr/share/gocode/src/golang.org/x/mod)
# Build mode: module mode with ./go.mod's
#   replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
# and GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off GOTOOLCHAIN=local (never touches the network).
# If that fails, falls back to GOPATH mode (GO111MODULE=off GOPATH=/usr/share/gocode).
# XMOD_DIR=/other/path/golang.org/x/mod overrides the x/mod source location.
#
# Exit: 0 built; 3 prerequisites missing (go or x/mod sources); 1 build failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

default_xmod=/usr/share/gocode/src/golang.org/x/mod
xmod="${XMOD_DIR:-$default_xmod}"
xmod="${xmod%/}"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: 'go' not found in PATH. Install it offline-capable from Debian:" >&2
  echo "  apt-get install -y --no-install-recommends golang-go golang-golang-x-mod-dev" >&2
  exit 3
fi
if [ ! -f "$xmod/sumdb/note/note.go" ] || [ ! -f "$xmod/sumdb/tlog/tile.go" ]; then
  echo "build.sh: golang.org/x/mod sources not found at $xmod (need sumdb/note and sumdb/tlog)." >&2
  echo "  apt-get install -y --no-install-recommends golang-golang-x-mod-dev   (or set XMOD_DIR)" >&2
  exit 3
fi

mkdir -p bin
echo "build.sh: $(go version); golang.org/x/mod from $xmod" >&2

# Never reach for the network, never switch toolchains, ignore any go.work above us.
export GOPROXY=off GOSUMDB=off GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
if [ -z "$(go env GOCACHE 2>/dev/null || true)" ] || [ "$(go env GOCACHE 2>/dev/null || true)" = off ]; then
  export GOCACHE="$here/bin/.gocache"
fi

modflags=(-mod=mod)
if [ "$xmod" != "$default_xmod" ]; then
  # Same go.mod, different replace target, written next to the binary.
  sed "s|=> $default_xmod|=> $xmod|" go.mod > bin/go.build.mod
  : > bin/go.build.sum
  modflags+=("-modfile=bin/go.build.mod")
fi

if GOFLAGS="${modflags[*]}" GO111MODULE=on go build -trimpath -o bin/c2spcheck ./c2spcheck; then
  echo "build.sh: built $here/bin/c2spcheck (module mode, replace => $xmod)" >&2
  exit 0
fi

gopath="${xmod%/src/golang.org/x/mod}"
if [ "$gopath" != "$xmod" ]; then
  echo "build.sh: module-mode build failed; trying GOPATH mode (GOPATH=$gopath)" >&2
  if GOFLAGS= GO111MODULE=off GOPATH="$gopath" go build -o bin/c2spcheck ./c2spcheck; then
    echo "build.sh: built $here/bin/c2spcheck (GOPATH mode, GOPATH=$gopath)" >&2
    exit 0
  fi
fi
echo "build.sh: build failed" >&2
exit 1
