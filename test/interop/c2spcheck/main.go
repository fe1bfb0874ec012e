// Command c2spcheck is an interoperability check: it uses an off-the-shelf
// C2SP client implementation, golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog, to verify a log served over HTTP per
// C2SP tlog-tiles v0.1.0 + tlog-checkpoint v1.0.0 + signed-note v1.0.0.
//
// Usage:
//
//	c2spcheck -url http://127.0.0.1:PORT/log -vkey '<name>+<hash>+<base64 key>' [flags]
//
// Flags (see -h): -origin, -old-size/-old-root, -max-records, -timeout,
// -strict-headers, -allow-full-tile-fallback, -v.
//
// Checks, in order:
//  1. GET <url>/checkpoint; note.Open with note.VerifierList(note.NewVerifier(vkey))
//     (signatures by unknown keys, e.g. witness cosignatures, are ignored as the
//     spec requires); parse origin / size / root ourselves (tlog.ParseTree wants
//     the go.sum header); origin must equal -origin (default: the key name).
//  2. tlog.TileHashReader(tree, httpTileReader) with Height() = 8; Go tile paths
//     tile/8/<L>/<N>[.p/<W>] are fetched as C2SP <url>/tile/<L>/<N>[.p/<W>].
//     x/mod authenticates tiles against the checkpoint root hash; because of a
//     bug in x/mod's full-tile authentication (see authNote) we additionally
//     check every full tile against its parent tile.
//     tlog.TreeHash(size) must equal the checkpoint root.
//  3. For every leaf index (or ~max-records evenly spread indexes, always
//     including 0 and size-1): tlog.ProveRecord + tlog.CheckRecord.
//  4. Every entry bundle <url>/tile/entries/<N>[.p/<W>] is fetched and decoded
//     (big-endian uint16 length-prefixed entries); full bundles must hold 256
//     entries, the partial one exactly W; total == size; for each entry
//     tlog.RecordHash(entry) must equal the authenticated level-0 hash
//     (hr.ReadHashes of tlog.StoredHashIndex(0, i)).
//  5. With -old-size/-old-root: tlog.ProveTree + tlog.CheckTree.
//
// Success: one line on stdout, "ok: origin=... size=... root=... records_checked=N ...",
// exit 0. Failure: "FAIL: <reason>" on stderr, exit 1. Bad usage: exit 2.
//
// BUILD SETUP (offline, against Debian's packaged sources; see ../build.sh):
// Debian 12 ships Go 1.19 (golang-go) and golang.org/x/mod v0.7.0
// (golang-golang-x-mod-dev, sources in /usr/share/gocode/src/golang.org/x/mod).
// We build in module mode using ../go.mod, which contains
//
//	replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
//
// with the environment GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off
// GOTOOLCHAIN=local, i.e. from test/interop:
//
//	GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off GOTOOLCHAIN=local \
//	    go build -trimpath -o bin/c2spcheck ./c2spcheck
//
// No network access is needed (x/mod's note and tlog packages import only the
// standard library; a replaced directory needs no go.sum entry). GOPATH mode
// (GO111MODULE=off GOPATH=/usr/share/gocode go build ./c2spcheck) also works
// with Go 1.19 and is used by build.sh as a fallback.
//
// Only the Go standard library and golang.org/x/mod are used; the code is
// written for Go 1.19 (no min/max builtins, no slices package).
package main

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8 // C2SP tlog-tiles: tiles are 256 hashes wide

var (
	flagURL         = flag.String("url", "", "log prefix URL, e.g. http://127.0.0.1:8080/log (required)")
	flagVKey        = flag.String("vkey", "", "log verifier key <name>+<hash>+<base64>, Ed25519 (required)")
	flagOrigin      = flag.String("origin", "", "expected checkpoint origin (default: the verifier key name)")
	flagOldSize     = flag.Int64("old-size", -1, "optional: size of an earlier checkpoint to prove consistency with (needs -old-root)")
	flagOldRoot     = flag.String("old-root", "", "optional: base64 root hash of the earlier checkpoint (needs -old-size)")
	flagMaxRecords  = flag.Int64("max-records", 2000, "check inclusion of every record if size <= this, else of this many spread indexes (0 = all)")
	flagTimeout     = flag.Duration("timeout", 30*time.Second, "per-request HTTP timeout")
	flagStrictHdr   = flag.Bool("strict-headers", false, "fail (instead of warn) on wrong Content-Type headers")
	flagFullFallbck = flag.Bool("allow-full-tile-fallback", false, "if a partial tile/bundle is 404, fetch the full one and truncate (spec MAY; off = partial tiles for the checkpoint size must be served)")
	flagVerbose     = flag.Bool("v", false, "verbose progress on stderr")
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: c2spcheck -url http://127.0.0.1:PORT/log -vkey '<verifier key>' [-origin O] [-old-size N -old-root B64] [flags]

Verifies a C2SP tlog-tiles log (checkpoint, Merkle tiles, entry bundles) with
golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog.
Prints "ok: ..." and exits 0, or "FAIL: <reason>" on stderr and exits 1 (2 = usage).

flags:
`)
	flag.PrintDefaults()
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func vlog(format string, args ...interface{}) {
	if *flagVerbose {
		fmt.Fprintf(os.Stderr, "c2spcheck: "+format+"\n", args...)
	}
}

var warnings int

func warn(format string, args ...interface{}) {
	if *flagStrictHdr {
		fail(format, args...)
	}
	warnings++
	fmt.Fprintf(os.Stderr, "warn: "+format+"\n", args...)
}

// ---------------------------------------------------------------------------
// HTTP

type fetcher struct {
	base   string
	client *http.Client

	mu       sync.Mutex
	requests int
	bytes    int64
}

var errNotFound = errors.New("404 Not Found")

// get fetches base+"/"+path. It sends Accept-Encoding "gzip, identity" as the
// spec recommends and decodes a gzip Content-Encoding itself. wantType is the
// media type the spec requires (checked, warn or fail per -strict-headers).
func (f *fetcher) get(path, wantType string) ([]byte, error) {
	url := f.base + "/" + path
	ctx, cancel := context.WithTimeout(context.Background(), *flagTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "gzip, identity")
	req.Header.Set("User-Agent", "c2spcheck (golang.org/x/mod/sumdb interop test)")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %w", url, errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %s", url, resp.Status)
	}
	var body io.Reader = resp.Body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("GET %s: bad gzip body: %v", url, err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("GET %s: unsupported Content-Encoding %q", url, enc)
	}
	data, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %v", url, err)
	}
	f.mu.Lock()
	f.requests++
	f.bytes += int64(len(data))
	f.mu.Unlock()
	if wantType != "" {
		ct := resp.Header.Get("Content-Type")
		mt, params, err := mime.ParseMediaType(ct)
		ok := err == nil && mt == wantType
		if ok && mt == "text/plain" && !strings.EqualFold(params["charset"], "utf-8") {
			ok = false
		}
		if !ok {
			want := wantType
			if wantType == "text/plain" {
				want = "text/plain; charset=utf-8"
			}
			warn("GET %s: Content-Type %q, spec requires %q", url, ct, want)
		}
	}
	return data, nil
}

// c2spPath encodes N as zero-padded 3-digit elements, all but the last
// prefixed with "x" (tlog-tiles), plus ".p/<W>" when 0 < w < 256.
func c2spIndex(n int64, w int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	if w > 0 && w < 1<<tileHeight {
		s += fmt.Sprintf(".p/%d", w)
	}
	return s
}

// ---------------------------------------------------------------------------
// tlog.TileReader over HTTP

type httpTileReader struct {
	f     *fetcher
	size  int64 // checkpoint tree size
	mu    sync.Mutex
	cache map[tlog.Tile][]byte // raw responses; tlog re-authenticates them on every ReadHashes
	seen  map[string]bool      // distinct C2SP paths fetched
}

func (r *httpTileReader) Height() int { return tileHeight }

// c2spTilePath translates Go's tile path "tile/8/<L>/<N>[.p/<W>]" into the
// C2SP path "tile/<L>/<N>[.p/<W>]", and cross-checks it against our own encoder.
func c2spTilePath(t tlog.Tile) (string, error) {
	goPath := t.Path()
	prefix := fmt.Sprintf("tile/%d/", tileHeight)
	if t.H != tileHeight || t.L < 0 || !strings.HasPrefix(goPath, prefix) {
		return "", fmt.Errorf("unexpected tile requested by tlog: %+v (%s)", t, goPath)
	}
	p := "tile/" + strings.TrimPrefix(goPath, prefix)
	if mine := fmt.Sprintf("tile/%d/%s", t.L, c2spIndex(t.N, t.W)); mine != p {
		return "", fmt.Errorf("internal: tile path mismatch %q vs %q", p, mine)
	}
	return p, nil
}

func (r *httpTileReader) fetchTile(t tlog.Tile) ([]byte, error) {
	r.mu.Lock()
	if d, ok := r.cache[t]; ok {
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()
	p, err := c2spTilePath(t)
	if err != nil {
		return nil, err
	}
	want := t.W * tlog.HashSize
	d, err := r.f.get(p, "application/octet-stream")
	if errors.Is(err, errNotFound) && t.W < 1<<tileHeight && *flagFullFallbck {
		full := t
		full.W = 1 << tileHeight
		fp, _ := c2spTilePath(full)
		vlog("%s is 404, falling back to %s", p, fp)
		d, err = r.f.get(fp, "application/octet-stream")
		if err == nil && len(d) == (1<<tileHeight)*tlog.HashSize {
			d = d[:want]
		}
		p = fp
	}
	if err != nil {
		return nil, err
	}
	if len(d) != want {
		return nil, fmt.Errorf("tile %s: got %d bytes, want %d (%d hashes)", p, len(d), want, t.W)
	}
	if t.W == 1<<tileHeight {
		// Defence against a bug in x/mod's tileHashReader (see authNote below):
		// check that a full tile hashes to its entry in the parent tile.
		if err := r.authFull(t, p, d); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	r.cache[t] = d
	r.seen[p] = true
	r.mu.Unlock()
	return d, nil
}

// authNote: golang.org/x/mod v0.7.0 tileHashReader.ReadHashes authenticates
// the tiles needed for the tree hash (the partial tiles, incl. the top one)
// against the root, but its loop that authenticates the remaining full tiles
// against their parents starts at len(stx) (number of subtree hashes) instead
// of the number of distinct tiles holding them, so it skips up to
// len(stx)-#stxTiles full tiles. E.g. for size 300 (stx = 4 subtrees in 2
// tiles) a corrupted tile/0/000 is returned unauthenticated with err == nil.
// tlog.CheckRecord still rejects wrong hashes, but the entry check compares
// against ReadHashes, so we authenticate full tiles ourselves: every full tile
// at level L must hash (RFC 6962 over its 256 hashes, via tlog.NodeHash) to
// hash N%256 of its parent tile at level L+1. Chains end in a partial tile,
// and every non-empty partial tile is one of the tiles x/mod does check
// against the checkpoint root in every ReadHashes call (same cached bytes).
func (r *httpTileReader) authFull(t tlog.Tile, path string, data []byte) error {
	parent := tlog.Tile{H: tileHeight, L: t.L + 1, N: t.N >> tileHeight, W: 1 << tileHeight}
	max := r.size >> uint(tileHeight*parent.L) // hashes at level L+1
	if rem := max - parent.N<<tileHeight; rem < int64(parent.W) {
		if rem <= 0 {
			return fmt.Errorf("tile %s: requested full tile is not in a tree of size %d", path, r.size)
		}
		parent.W = int(rem)
	}
	pd, err := r.fetchTile(parent)
	if err != nil {
		return err
	}
	hs := make([]tlog.Hash, 1<<tileHeight)
	for i := range hs {
		copy(hs[i][:], data[i*tlog.HashSize:])
	}
	for len(hs) > 1 {
		for i := 0; i < len(hs)/2; i++ {
			hs[i] = tlog.NodeHash(hs[2*i], hs[2*i+1])
		}
		hs = hs[:len(hs)/2]
	}
	var want tlog.Hash
	off := int(t.N%(1<<tileHeight)) * tlog.HashSize
	copy(want[:], pd[off:])
	if hs[0] != want {
		pp, _ := c2spTilePath(parent)
		return fmt.Errorf("tile %s: Merkle root %s does not match hash #%d of parent tile %s (%s)", path, hs[0], t.N%(1<<tileHeight), pp, want)
	}
	return nil
}

func (r *httpTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range tiles {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			data[i], errs[i] = r.fetchTile(tiles[i])
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

func (r *httpTileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// ---------------------------------------------------------------------------
// checkpoint

type checkpoint struct {
	origin     string
	size       int64
	root       tlog.Hash
	extensions []string
}

var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("root hash %q is not standard base64: %v", s, err)
	}
	if len(b) != tlog.HashSize {
		return h, fmt.Errorf("root hash %q decodes to %d bytes, want %d", s, len(b), tlog.HashSize)
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return h, fmt.Errorf("root hash %q is not canonical base64", s)
	}
	copy(h[:], b)
	return h, nil
}

// parseCheckpoint parses the verified note text (tlog-checkpoint v1.0.0).
func parseCheckpoint(text string) (*checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("note text does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("checkpoint text has %d lines, want at least 3", len(lines))
	}
	for i, l := range lines {
		if l == "" {
			return nil, fmt.Errorf("checkpoint line %d is empty", i+1)
		}
	}
	c := &checkpoint{origin: lines[0], extensions: lines[3:]}
	if !decimalRE.MatchString(lines[1]) {
		return nil, fmt.Errorf("checkpoint size line %q is not a decimal without leading zeroes", lines[1])
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("checkpoint size %q: %v", lines[1], err)
	}
	c.size = n
	if c.root, err = parseHash(lines[2]); err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	return c, nil
}

// ---------------------------------------------------------------------------
// entry bundles

// decodeBundle splits a bundle into big-endian uint16 length-prefixed entries.
func decodeBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(b); {
		if len(b)-off < 2 {
			return nil, fmt.Errorf("truncated length prefix at byte %d", off)
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if len(b)-off < n {
			return nil, fmt.Errorf("entry %d at byte %d: length %d exceeds remaining %d bytes", len(out), off-2, n, len(b)-off)
		}
		out = append(out, b[off:off+n])
		off += n
	}
	return out, nil
}

// sampleIndexes returns all of [0,size) when size <= max (or max <= 0), else
// max evenly spread indexes including 0 and size-1.
func sampleIndexes(size, max int64) []int64 {
	if size <= 0 {
		return nil
	}
	if max <= 0 || size <= max {
		out := make([]int64, size)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	if max < 2 {
		max = 2
	}
	seen := make(map[int64]bool)
	var out []int64
	for k := int64(0); k < max; k++ {
		// floor(k*(size-1)/(max-1)) without overflow for realistic sizes
		i := int64(float64(k) * float64(size-1) / float64(max-1))
		if k == max-1 {
			i = size - 1
		}
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// ---------------------------------------------------------------------------

func main() {
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() != 0 || *flagURL == "" || *flagVKey == "" {
		usage()
		os.Exit(2)
	}
	if (*flagOldSize >= 0) != (*flagOldRoot != "") {
		fmt.Fprintln(os.Stderr, "c2spcheck: -old-size and -old-root must be given together")
		os.Exit(2)
	}

	verifier, err := note.NewVerifier(*flagVKey)
	if err != nil {
		fail("bad -vkey: note.NewVerifier: %v", err)
	}
	wantOrigin := *flagOrigin
	if wantOrigin == "" {
		wantOrigin = verifier.Name()
	}

	f := &fetcher{
		base:   strings.TrimRight(*flagURL, "/"),
		client: &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableCompression: true, MaxIdleConnsPerHost: 16}},
	}

	// 1. checkpoint
	raw, err := f.get("checkpoint", "text/plain")
	if err != nil {
		fail("fetching checkpoint: %v", err)
	}
	n, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint does not verify with key %q: note.Open: %v", verifier.Name(), err)
	}
	vlog("checkpoint signature by %s+%08x verified (%d other signature(s) ignored)", verifier.Name(), verifier.KeyHash(), len(n.UnverifiedSigs))
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		fail("%v", err)
	}
	if cp.origin != wantOrigin {
		fail("checkpoint origin %q, want %q", cp.origin, wantOrigin)
	}
	if len(cp.extensions) > 0 {
		vlog("checkpoint has %d extension line(s)", len(cp.extensions))
	}
	rootB64 := base64.StdEncoding.EncodeToString(cp.root[:])
	vlog("checkpoint origin=%s size=%d root=%s", cp.origin, cp.size, rootB64)

	tree := tlog.Tree{N: cp.size, Hash: cp.root}
	tr := &httpTileReader{f: f, size: cp.size, cache: make(map[tlog.Tile][]byte), seen: make(map[string]bool)}
	hr := tlog.TileHashReader(tree, tr)

	var recordsChecked, entriesChecked int64
	consistency := "not-requested"

	if cp.size == 0 {
		// RFC 6962: MTH({}) = SHA-256(""). (tlog.TreeHash(0) is all zeroes, a
		// go.sum convention, so check this case by hand.) No tiles or bundles exist.
		if empty := sha256.Sum256(nil); cp.root != tlog.Hash(empty) {
			fail("empty tree root is %s, want SHA-256(\"\") = %s", rootB64, base64.StdEncoding.EncodeToString(empty[:]))
		}
	} else {
		// 2. tree hash from (authenticated) tiles
		th, err := tlog.TreeHash(cp.size, hr)
		if err != nil {
			fail("tlog.TreeHash(%d) from tiles: %v", cp.size, err)
		}
		if th != cp.root {
			fail("tree hash from tiles %s != checkpoint root %s", th, rootB64)
		}
		vlog("tlog.TreeHash(%d) matches checkpoint root", cp.size)

		// 3. inclusion proofs
		idx := sampleIndexes(cp.size, *flagMaxRecords)
		var leafIdx []int64
		for _, i := range idx {
			leafIdx = append(leafIdx, tlog.StoredHashIndex(0, i))
		}
		leaves, err := hr.ReadHashes(leafIdx)
		if err != nil {
			fail("reading leaf hashes from tiles: %v", err)
		}
		for k, i := range idx {
			p, err := tlog.ProveRecord(cp.size, i, hr)
			if err != nil {
				fail("tlog.ProveRecord(%d, %d): %v", cp.size, i, err)
			}
			if err := tlog.CheckRecord(p, cp.size, cp.root, i, leaves[k]); err != nil {
				fail("tlog.CheckRecord(size=%d, index=%d): %v", cp.size, i, err)
			}
			recordsChecked++
		}
		vlog("inclusion proofs checked for %d record(s)", recordsChecked)

		// 4. entry bundles
		full := cp.size / (1 << tileHeight)
		partial := int(cp.size % (1 << tileHeight))
		nb := full
		if partial > 0 {
			nb++
		}
		for b := int64(0); b < nb; b++ {
			w := 1 << tileHeight
			if b == full {
				w = partial
			}
			path := "tile/entries/" + c2spIndex(b, w)
			data, err := f.get(path, "application/octet-stream")
			usedFull := false
			if errors.Is(err, errNotFound) && w < 1<<tileHeight && *flagFullFallbck {
				usedFull = true
				fp := "tile/entries/" + c2spIndex(b, 1<<tileHeight)
				vlog("%s is 404, falling back to %s", path, fp)
				data, err = f.get(fp, "application/octet-stream")
				path = fp
			}
			if err != nil {
				fail("fetching entry bundle: %v", err)
			}
			entries, err := decodeBundle(data)
			if err != nil {
				fail("entry bundle %s: %v", path, err)
			}
			if usedFull && len(entries) == 1<<tileHeight {
				entries = entries[:w] // full bundle fetched in place of the partial one
			}
			if len(entries) != w {
				fail("entry bundle %s has %d entries, want %d", path, len(entries), w)
			}
			first := b << tileHeight
			var sidx []int64
			for j := range entries {
				sidx = append(sidx, tlog.StoredHashIndex(0, first+int64(j)))
			}
			hs, err := hr.ReadHashes(sidx)
			if err != nil {
				fail("reading leaf hashes %d..%d from tiles: %v", first, first+int64(len(entries))-1, err)
			}
			for j, e := range entries {
				if got := tlog.RecordHash(e); got != hs[j] {
					fail("entry %d (bundle %s #%d, %d bytes): RecordHash %s != tile leaf hash %s", first+int64(j), path, j, len(e), got, hs[j])
				}
			}
			entriesChecked += int64(len(entries))
		}
		if entriesChecked != cp.size {
			fail("entry bundles hold %d entries, checkpoint size is %d", entriesChecked, cp.size)
		}
		vlog("%d entries in %d bundle(s) match the tile leaf hashes", entriesChecked, nb)
	}

	// 5. consistency with an older tree
	if *flagOldSize >= 0 {
		old := *flagOldSize
		oldRoot, err := parseHash(*flagOldRoot)
		if err != nil {
			fail("-old-root: %v", err)
		}
		switch {
		case old > cp.size:
			fail("-old-size %d is larger than the checkpoint size %d", old, cp.size)
		case old == cp.size:
			if oldRoot != cp.root {
				fail("same size %d but root %s != checkpoint root %s", old, *flagOldRoot, rootB64)
			}
		case old == 0:
			if empty := sha256.Sum256(nil); oldRoot != tlog.Hash(empty) {
				fail("-old-size 0 needs -old-root = SHA-256(\"\") = %s", base64.StdEncoding.EncodeToString(empty[:]))
			}
		default:
			p, err := tlog.ProveTree(cp.size, old, hr)
			if err != nil {
				fail("tlog.ProveTree(%d, %d): %v", cp.size, old, err)
			}
			if err := tlog.CheckTree(p, cp.size, cp.root, old, oldRoot); err != nil {
				fail("consistency proof %d -> %d: tlog.CheckTree: %v", old, cp.size, err)
			}
		}
		consistency = fmt.Sprintf("ok(%d->%d)", old, cp.size)
	}

	fmt.Printf("ok: origin=%s size=%d root=%s records_checked=%d entries_checked=%d tiles_fetched=%d consistency=%s warnings=%d\n",
		cp.origin, cp.size, rootB64, recordsChecked, entriesChecked, len(tr.seen), consistency, warnings)
}
