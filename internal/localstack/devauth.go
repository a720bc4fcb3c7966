package localstack

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DevIssuer is the local stack's development OpenID issuer: an RSA signing
// key of its own, its discovery document and JWKS, and tokens for any
// subject, so that the template's JWT authorizer can be enforced locally
// against tokens shaped like a real issuer's. It exists only in the local
// stack (S3OCR_DEV_AUTH=1); a deployment uses Cognito or another issuer.
type DevIssuer struct {
	Issuer   string // the iss of its tokens and the base of its documents
	Audience string // the aud of its tokens
	key      *rsa.PrivateKey
	kid      string
	signer   jose.Signer
}

// DevAudience is the audience the local stack's authorizer accepts.
const DevAudience = "s3ocr-local"

// DevTokenTTL is how long a token from POST /dev/token works: long enough
// for a session of make dev, short enough that a leaked one expires.
const DevTokenTTL = 12 * time.Hour

// maxSubject bounds the subject a development token may name.
const maxSubject = 128

// NewDevIssuer makes an issuer with a new key.
func NewDevIssuer(issuer, audience string) (*DevIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	kidBytes := make([]byte, 8)
	if _, err := rand.Read(kidBytes); err != nil {
		return nil, err
	}
	d := &DevIssuer{Issuer: issuer, Audience: audience, key: key, kid: fmt.Sprintf("dev-%x", kidBytes)}
	d.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: d.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Token returns a token for sub from this issuer for its audience, valid
// for ttl from now.
func (d *DevIssuer) Token(sub string, ttl time.Duration) (string, error) {
	now := time.Now()
	return d.Sign(jwt.Claims{
		Issuer: d.Issuer, Subject: sub, Audience: jwt.Audience{d.Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
	})
}

// Sign signs any claims with the issuer's key, for tests that need tokens a
// real issuer would not make (expired, for another audience, …).
func (d *DevIssuer) Sign(claims ...any) (string, error) {
	b := jwt.Signed(d.signer)
	for _, c := range claims {
		b = b.Claims(c)
	}
	return b.Serialize()
}

// Handle registers the issuer's documents under its issuer path, and POST
// /dev/token, on mux.
func (d *DevIssuer) Handle(mux *http.ServeMux, issuerPath string) {
	mux.HandleFunc("GET "+issuerPath+"/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": d.Issuer, "jwks_uri": d.Issuer + "/jwks.json",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"token"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET "+issuerPath+"/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		pub := jose.JSONWebKey{Key: &d.key.PublicKey, KeyID: d.kid, Algorithm: string(jose.RS256), Use: "sig"}
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	})
	mux.HandleFunc("POST /dev/token", d.serveToken)
}

// serveToken mints a token: body {"sub":"alice"}, answer {"token":"…"}.
func (d *DevIssuer) serveToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Sub string `json:"sub"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		devError(w, "invalid_request", "the body must be JSON like {\"sub\":\"alice\"}: "+err.Error())
		return
	}
	if err := checkSubject(in.Sub); err != nil {
		devError(w, "invalid_request", err.Error())
		return
	}
	tok, err := d.Token(in.Sub, DevTokenTTL)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{"code": "internal", "message": err.Error()}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func checkSubject(sub string) error {
	switch {
	case sub == "":
		return errors.New("sub is required: the caller the token stands for")
	case len(sub) > maxSubject:
		return fmt.Errorf("sub is %d bytes; the limit is %d", len(sub), maxSubject)
	case !utf8.ValidString(sub) || strings.ContainsFunc(sub, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("sub must be printable UTF-8")
	}
	return nil
}

func devError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
