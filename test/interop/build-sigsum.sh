#!/usr/bin/env bash
# Builds test/interop/bin/sigsumdrive OFFLINE from Debian-packaged sources (test/interop/sigsumdrive/main.go):
#   Go 1.23:     apt-get install -t bookworm-backports golang-1.23-go                 (/usr/lib/go-1.23/bin/go)
#   sigsum-go:   apt-get install -t bookworm-backports golang-sigsum-sigsum-go-dev    (its library, v0.11.1)
#   its imports: apt-get install golang-golang-x-net-dev golang-golang-x-text-dev     (not declared by the package)
# all under /usr/share/gocode/src, built in GOPATH mode (GO111MODULE=off GOPATH=/usr/share/gocode), never
# touching the network. SIGSUM_GO overrides the Go binary.
#
# Exit: 0 built; 3 prerequisites missing; 1 build failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
go="${SIGSUM_GO:-/usr/lib/go-1.23/bin/go}"
src=/usr/share/gocode/src

if [ ! -x "$go" ]; then
  echo "build-sigsum.sh: $go not found: apt-get install -t bookworm-backports golang-1.23-go" >&2
  exit 3
fi
for dir in sigsum.org/sigsum-go/pkg/client golang.org/x/net/idna golang.org/x/text/unicode/norm; do
  if [ ! -d "$src/$dir" ]; then
    echo "build-sigsum.sh: $src/$dir missing: apt-get install -t bookworm-backports golang-sigsum-sigsum-go-dev golang-golang-x-net-dev golang-golang-x-text-dev" >&2
    exit 3
  fi
done

mkdir -p bin
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOSUMDB=off GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
if [ -z "$("$go" env GOCACHE 2>/dev/null || true)" ] || [ "$("$go" env GOCACHE 2>/dev/null || true)" = off ]; then
  export GOCACHE="$here/bin/.gocache"
fi
echo "build-sigsum.sh: $("$go" version); sigsum-go from $src/sigsum.org/sigsum-go" >&2
"$go" build -trimpath -o bin/sigsumdrive ./sigsumdrive
echo "build-sigsum.sh: built $here/bin/sigsumdrive" >&2
