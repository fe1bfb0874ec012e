// Build setup for the Go interop checker (see c2spcheck/main.go and build.sh).
// Offline: golang.org/x/mod comes from Debian's golang-golang-x-mod-dev package.
module kt-directory/test/interop

go 1.19

require golang.org/x/mod v0.7.0

replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
