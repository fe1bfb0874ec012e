// Command sigsumdrive drives a C2SP tlog-witness (kt witness serve) with sigsum-go's own client and
// checkpoint code, as a log from outside this project would: it builds a log of its own (sigsum-go's
// merkle.Tree), signs its checkpoints with the log key it is given, submits add-checkpoint requests with
// sigsum-go's client.AddCheckpoint and verifies every returned cosignature with sigsum-go's
// checkpoint.VerifyCosignatureByKey. Built offline from Debian's golang-sigsum-sigsum-go-dev with Go 1.23
// (build-sigsum.sh).
//
// Usage:
//
//	sigsumdrive -url http://127.0.0.1:PORT -origin ORIGIN -log-seed HEX32 -witness-key HEX32
//
// Checks, in order (each prints "ok <what>", a failure prints "FAIL <what>: <why>" and exits 1):
//  1. a first checkpoint (size 5, old size 0) is cosigned, and the cosignature verifies;
//  2. a consistent checkpoint (size 10, old size 5, its consistency proof) is cosigned and verifies;
//  3. a cosignature with one bit flipped does not verify;
//  4. a stale request (old size 5 again) is answered 409 with the witness's size, 10;
//  5. a checkpoint (size 12, old size 10) with a wrong consistency proof is answered 422;
//  6. a checkpoint of a log the witness does not know is answered 404.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"sigsum.org/sigsum-go/pkg/api"
	"sigsum.org/sigsum-go/pkg/checkpoint"
	"sigsum.org/sigsum-go/pkg/client"
	"sigsum.org/sigsum-go/pkg/crypto"
	"sigsum.org/sigsum-go/pkg/merkle"
	"sigsum.org/sigsum-go/pkg/requests"
	"sigsum.org/sigsum-go/pkg/types"
)

func fail(what string, err error) {
	fmt.Printf("FAIL %s: %v\n", what, err)
	os.Exit(1)
}

// signed is the checkpoint of th under origin, signed by signer (C2SP signed-note, key type 0x01).
func signed(th types.TreeHead, origin string, signer *crypto.Ed25519Signer) checkpoint.Checkpoint {
	sig, err := signer.Sign([]byte(th.FormatCheckpoint(origin)))
	if err != nil {
		fail("signing a checkpoint", err)
	}
	pub := signer.Public()
	return checkpoint.Checkpoint{
		SignedTreeHead: types.SignedTreeHead{TreeHead: th, Signature: sig},
		Origin:         origin,
		KeyId:          checkpoint.NewLogKeyId(origin, &pub),
	}
}

// grow adds leaves to tree until it holds size, and returns its tree head.
func grow(tree *merkle.Tree, size uint64) types.TreeHead {
	for tree.Size() < size {
		h := merkle.HashLeafNode([]byte(fmt.Sprintf("sigsumdrive leaf %d", tree.Size())))
		tree.AddLeafHash(&h)
	}
	return types.TreeHead{Size: size, RootHash: tree.GetRootHash()}
}

// statusOf is the HTTP status of a sigsum-go client error (0 if it carries none).
func statusOf(err error) int {
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode()
	}
	return 0
}

func main() {
	url := flag.String("url", "", "the witness's URL prefix (add-checkpoint is under it)")
	origin := flag.String("origin", "", "the log's origin, as the witness is configured with it")
	seed := flag.String("log-seed", "", "the log's Ed25519 seed, 64 hex digits")
	witnessKey := flag.String("witness-key", "", "the witness's Ed25519 public key, 64 hex digits")
	flag.Parse()
	signer, err := crypto.SignerFromHex(*seed)
	if err != nil {
		fail("reading -log-seed", err)
	}
	wpub, err := crypto.PublicKeyFromHex(*witnessKey)
	if err != nil {
		fail("reading -witness-key", err)
	}
	ctx := context.Background()
	cli := client.New(client.Config{URL: *url, UserAgent: "sigsumdrive"})
	tree := merkle.NewTree()

	first := signed(grow(&tree, 5), *origin, signer)
	lines, err := cli.AddCheckpoint(ctx, requests.AddCheckpoint{OldSize: 0, Checkpoint: first})
	if err != nil {
		fail("first checkpoint", err)
	}
	if _, err := first.VerifyCosignatureByKey(lines, &wpub); err != nil {
		fail("first checkpoint's cosignature", err)
	}
	fmt.Println("ok first checkpoint cosigned")

	second := signed(grow(&tree, 10), *origin, signer)
	path, err := tree.ProveConsistency(5, 10)
	if err != nil {
		fail("consistency proof", err)
	}
	lines, err = cli.AddCheckpoint(ctx, requests.AddCheckpoint{OldSize: 5, Proof: types.ConsistencyProof{Path: path}, Checkpoint: second})
	if err != nil {
		fail("consistent checkpoint", err)
	}
	if _, err := second.VerifyCosignatureByKey(lines, &wpub); err != nil {
		fail("consistent checkpoint's cosignature", err)
	}
	fmt.Println("ok consistent checkpoint cosigned")

	tampered := append([]checkpoint.CosignatureLine(nil), lines...)
	for i := range tampered {
		tampered[i].Signature[0] ^= 1
	}
	if _, err := second.VerifyCosignatureByKey(tampered, &wpub); err == nil {
		fail("tampered cosignature", errors.New("verified"))
	}
	fmt.Println("ok tampered cosignature refused")

	_, err = cli.AddCheckpoint(ctx, requests.AddCheckpoint{OldSize: 5, Proof: types.ConsistencyProof{Path: path}, Checkpoint: second})
	if size, ok := api.ErrorConflictOldSize(err); !ok || size != 10 {
		fail("stale request", fmt.Errorf("want 409 with size 10, got %v", err))
	}
	fmt.Println("ok stale request answered 409 with size 10")

	third := signed(grow(&tree, 12), *origin, signer)
	bad, err := tree.ProveConsistency(10, 12)
	if err != nil {
		fail("consistency proof", err)
	}
	bad[0][0] ^= 1
	_, err = cli.AddCheckpoint(ctx, requests.AddCheckpoint{OldSize: 10, Proof: types.ConsistencyProof{Path: bad}, Checkpoint: third})
	if statusOf(err) != 422 {
		fail("bad consistency proof", fmt.Errorf("want 422, got %v", err))
	}
	fmt.Println("ok bad consistency proof answered 422")

	_, other, err := crypto.NewKeyPair()
	if err != nil {
		fail("a key for another log", err)
	}
	unknown := signed(grow(&merkle.Tree{}, 0), *origin+"-unknown", other)
	_, err = cli.AddCheckpoint(ctx, requests.AddCheckpoint{OldSize: 0, Checkpoint: unknown})
	if statusOf(err) != 404 {
		fail("unknown log", fmt.Errorf("want 404, got %v", err))
	}
	fmt.Println("ok unknown log answered 404")
}
