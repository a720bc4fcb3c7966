package logid_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/logid"
	"github.com/s3ocr/s3ocr/internal/service"
)

const key = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s3ocr/6b2f1a30-0000-4000-8000-000000000000"

func newID(t *testing.T) string {
	t.Helper()
	id, err := service.NewUploadID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHash_IsTheHexPrefixOfHMACSHA256UnderTheKey(t *testing.T) {
	id := newID(t)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(id))
	if got, want := logid.Hash(key, id), hex.EncodeToString(m.Sum(nil))[:16]; got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
	if logid.Hash(key, id) == logid.Hash("", id) || logid.Hash("", id) == id[:16] {
		t.Fatal("the key does not change the hash, or an empty key does not hash")
	}
}

// The README's recipe for finding an upload's log lines, run as written,
// gives the hash the logs carry.
func TestHash_READMERecipeGivesTheSameHash(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recipe string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if line := sc.Text(); strings.Contains(line, "openssl dgst") {
			recipe = line
		}
	}
	if recipe == "" {
		t.Fatal("README has no openssl recipe for a log hash")
	}
	id := newID(t)
	cmd := exec.Command("sh", "-c", recipe)
	cmd.Env = append(os.Environ(), "UPLOAD_ID="+id, "STACK_ID="+key)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", recipe, err)
	}
	if got, want := strings.TrimSpace(string(out)), logid.Hash(key, id); got != want {
		t.Fatalf("README recipe %q gives %q, logid.Hash %q", recipe, got, want)
	}
}

func TestScrub_ReplacesIDsStandingAlone(t *testing.T) {
	id := newID(t)
	h := logid.Hash(key, id)
	sha := strings.Repeat("2a3b4c5d6e7f", 6)[:64] // hex with no 0, 1, 8 or 9: all in the id alphabet
	for in, want := range map[string]string{
		id:                               h,
		"uploads/" + id:                  "uploads/" + h,
		id + "#0a1b2c3d4e5f":             h + "#0a1b2c3d4e5f",
		`read upload "` + id + `": gone`: `read upload "` + h + `": gone`,
		id + "," + id:                    h + "," + h,
		sha:                              sha,                 // 64 characters: a hash, not an id
		"x" + id:                         "x" + id,            // 33 characters
		strings.ToUpper(id):              strings.ToUpper(id), // ids are lower case
		id[:31]:                          id[:31],             // too short
		"results/" + sha + "-2a3b4c5d6e7f2a3b.json": "results/" + sha + "-2a3b4c5d6e7f2a3b.json",
	} {
		if got := logid.Scrub(key, in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

type withID struct {
	Key   string   `json:"key"`
	Waits []string `json:"waits"`
}

// Every place a handler could be given an id: the message, attributes of
// every kind, nested groups, Logger.With and WithGroup.
func TestHandler_NoIDReachesTheOutput(t *testing.T) {
	id, other := newID(t), newID(t)
	var buf bytes.Buffer
	log := slog.New(logid.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), key))
	log = log.With("uploadId", id, "key", "uploads/"+id)
	log.WithGroup("g").DebugContext(context.Background(), "finished "+id,
		"waiter", other,
		"err", fmt.Errorf("read upload %s: %w", id, errors.New("gone")),
		slog.Group("nested", "owner", id+"#abc", slog.Group("deeper", "uploadId", other)),
		"struct", withID{Key: "uploads/" + id, Waits: []string{other}},
		"ids", []string{id, other},
		"n", 3,
	)
	out := buf.String()
	for _, raw := range []string{id, other} {
		if strings.Contains(out, raw) {
			t.Errorf("raw id %s in %s", raw, out)
		}
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	h, ho := logid.Hash(key, id), logid.Hash(key, other)
	g, _ := line["g"].(map[string]any)
	nested, _ := g["nested"].(map[string]any)
	deeper, _ := nested["deeper"].(map[string]any)
	st, _ := g["struct"].(map[string]any)
	for name, c := range map[string]struct{ got, want any }{
		"upload":        {line["upload"], h},
		"key":           {line["key"], "uploads/" + h},
		"msg":           {line["msg"], "finished " + h},
		"waiter":        {g["waiter"], ho},
		"err":           {g["err"], "read upload " + h + ": gone"},
		"nested.owner":  {nested["owner"], h + "#abc"},
		"deeper.upload": {deeper["upload"], ho},
		"struct.key":    {st["key"], "uploads/" + h},
		"ids":           {fmt.Sprint(g["ids"]), fmt.Sprint([]any{h, ho})},
		"n":             {g["n"], 3.0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	if _, ok := line["uploadId"]; ok {
		t.Errorf("the attribute is still named uploadId: %s", out)
	}
}

func TestHandler_EmptyKeyStillHashes(t *testing.T) {
	id := newID(t)
	var buf bytes.Buffer
	slog.New(logid.NewHandler(slog.NewJSONHandler(&buf, nil), "")).Info("x", "uploadId", id)
	if strings.Contains(buf.String(), id) || !strings.Contains(buf.String(), `"upload":"`+logid.Hash("", id)+`"`) {
		t.Fatalf("with no key: %s", buf.String())
	}
}
