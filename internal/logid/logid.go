// Package logid keeps upload ids out of logs. An upload id is the one secret
// that guards a result (whoever holds it may read the document), so every
// function's logger replaces each id it is given, wherever it appears, by a
// keyed hash of it: lines about one upload still share a value an operator
// can search for, and nobody who reads the logs learns an id.
package logid

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
)

// HashLen is how many hex digits of the HMAC a hash keeps: 64 bits. A hash
// only has to tell one upload's lines from the others kept in the logs; with
// a million uploads within the log retention, the chance that any two share
// a hash is about n²/2⁶⁵, 3×10⁻⁸. Keeping fewer bits also costs nothing in
// secrecy: an id is 160 random bits, so about 2⁹⁶ ids share each hash, and
// even someone who holds the key cannot tell from a hash which one it was.
const HashLen = 16

// Hash returns the hash of an upload id under key: the first HashLen hex
// digits of HMAC-SHA256(key, id). The same as
//
//	printf %s "$ID" | openssl dgst -sha256 -hmac "$KEY" | awk '{print substr($NF, 1, 16)}'
//
// The functions' key is the stack's id (LOG_HASH_KEY). An empty key still
// hashes: the id cannot be read back from the hash (see HashLen); the key
// only keeps one deployment's hashes from matching another's.
func Hash(key, id string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))[:HashLen]
}

// IDLen is the length of an upload id: 20 random bytes in lower-case
// base32 without padding (service.NewUploadID).
const IDLen = 32

// Scrub returns s with every upload id in it replaced by its hash under
// key. An id is a run of exactly IDLen characters of the id alphabet
// (a-z, 2-7) with no ASCII letter or digit on either side: "uploads/<id>",
// "<id>#<token>" and an id quoted in an error all match, while a SHA-256 in
// hex, which is 64 characters long, or a longer word never does.
func Scrub(key, s string) string {
	if len(s) < IDLen {
		return s
	}
	var out []byte // nil until an id is found
	last := 0
	for i := 0; i < len(s); {
		if !alnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && alnum(s[j]) {
			j++
		}
		if j-i == IDLen && idRun(s[i:j]) {
			out = append(out, s[last:i]...)
			out = append(out, Hash(key, s[i:j])...)
			last = j
		}
		i = j
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func idRun(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// IDKey is the attribute key the code logs an upload id under; the handler
// writes its hash under HashKey instead, so that no reader takes the value
// for an id.
const (
	IDKey   = "uploadId"
	HashKey = "upload"
)

// Handler is a slog.Handler that hashes upload ids before the next handler
// sees them: in the message, in every attribute's key and value (strings,
// errors, values logged as JSON, nested groups, and the attributes of
// Logger.With), and it renames the attribute IDKey to HashKey.
type Handler struct {
	next slog.Handler
	key  string
}

// NewHandler returns a Handler that writes to next with ids hashed under
// key.
func NewHandler(next slog.Handler, key string) *Handler {
	return &Handler{next: next, key: key}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(h.key, r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(h.attrs(attrs)), key: h.key}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(Scrub(h.key, name)), key: h.key}
}

func (h *Handler) attrs(as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return out
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	if a.Key == IDKey {
		a.Key = HashKey
	} else {
		a.Key = Scrub(h.key, a.Key)
	}
	a.Value = h.value(a.Value.Resolve())
	return a
}

func (h *Handler) value(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(Scrub(h.key, v.String()))
	case slog.KindGroup:
		return slog.GroupValue(h.attrs(v.Group())...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
			return v
		case error:
			// As the JSON and text handlers would write it: its message.
			return slog.StringValue(Scrub(h.key, x.Error()))
		default:
			// A struct or map is written as its JSON: hash the ids in that
			// and hand the handler the JSON itself.
			b, err := json.Marshal(x)
			if err != nil {
				return slog.StringValue(Scrub(h.key, v.String()))
			}
			if s := Scrub(h.key, string(b)); s != string(b) {
				return slog.AnyValue(json.RawMessage(s))
			}
			return v
		}
	}
	return v
}
