// Package jwtauth checks bearer tokens as API Gateway's JWT authorizer does
// for an HTTP API. The local gateway enforces the template's authorizer
// with it, and the status function checks the optional token of the public
// GET /info with it (to show the caller's quota), so both accept exactly
// the tokens API Gateway accepts.
package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Verifier checks a request's token as API Gateway's JWT authorizer does
// for an HTTP API: the Authorization header holds a JWT (with or
// without "Bearer "), signed with an RSA key of the issuer's JWKS (found
// through its OpenID discovery document), with iss equal to the issuer, aud
// (or, for access tokens without one, client_id) among the audiences, exp
// present and not passed, and nbf and iat not in the future. The claims go
// to the function as strings, as API Gateway passes them.
type Verifier struct {
	client *http.Client

	mu   sync.Mutex
	keys map[string]*issuerKeys // by issuer
}

type issuerKeys struct {
	set     jose.JSONWebKeySet
	fetched time.Time
}

// refetchAfter bounds how often an unknown key id makes the authorizer
// fetch the issuer's keys again (a key rotation), so that tokens with made-up
// key ids cannot make it hammer the issuer.
const refetchAfter = 10 * time.Second

// Unauthorized is every refusal; Reason goes to the WWW-Authenticate
// header's error_description, as API Gateway's does.
type Unauthorized struct{ Reason string }

func (e Unauthorized) Error() string { return e.Reason }

// New returns a Verifier that fetches issuers' keys over HTTPS (or HTTP,
// for a local issuer) and caches them.
func New() *Verifier {
	return &Verifier{client: &http.Client{Timeout: 5 * time.Second}, keys: map[string]*issuerKeys{}}
}

// Verify returns the claims of the token in an Authorization header value
// (with or without "Bearer "), issued by issuer for one of audiences, or
// an Unauthorized saying why it is refused; other errors mean the
// issuer's keys could not be fetched.
func (a *Verifier) Verify(ctx context.Context, issuer string, audiences []string, header string, now time.Time) (map[string]string, error) {
	raw := strings.TrimSpace(header)
	if raw == "" {
		return nil, Unauthorized{"no token in the Authorization header"}
	}
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	// API Gateway's JWT authorizers verify RSA signatures only.
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512})
	if err != nil {
		return nil, Unauthorized{"the token is not a signed JWT: " + err.Error()}
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return nil, Unauthorized{"the token names no signing key (kid)"}
	}
	key, err := a.key(ctx, issuer, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(key, &std, &all); err != nil {
		return nil, Unauthorized{"the token's signature does not verify"}
	}
	if std.Expiry == nil {
		return nil, Unauthorized{"the token has no exp claim"}
	}
	exp := jwt.Expected{Issuer: issuer, Time: now}
	if err := std.ValidateWithLeeway(exp, 0); err != nil {
		return nil, Unauthorized{"the token is refused: " + err.Error()}
	}
	audOK := false
	for _, want := range audiences {
		if std.Audience.Contains(want) || (len(std.Audience) == 0 && all["client_id"] == want) {
			audOK = true
		}
	}
	if !audOK {
		return nil, Unauthorized{"the token is not for this API's audience"}
	}
	claims := make(map[string]string, len(all))
	for k, v := range all {
		claims[k] = claimString(v)
	}
	return claims, nil
}

// claimString renders a claim as API Gateway passes it to a function:
// strings as they are, numbers without exponent, anything else as JSON.
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// key returns the issuer's public key with the id, fetching the issuer's
// JWKS when it is not known yet or (at most every refetchAfter) when the id
// is new.
func (a *Verifier) key(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ik := a.keys[issuer]
	if ik != nil {
		if ks := ik.set.Key(kid); len(ks) > 0 {
			return &ks[0], nil
		}
		if time.Since(ik.fetched) < refetchAfter {
			return nil, Unauthorized{"no key of the issuer has the token's kid"}
		}
	}
	set, err := a.fetch(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("the issuer's keys: %w", err)
	}
	a.keys[issuer] = &issuerKeys{set: *set, fetched: time.Now()}
	if ks := set.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	return nil, Unauthorized{"no key of the issuer has the token's kid"}
}

// fetch reads the issuer's discovery document and then its JWKS.
func (a *Verifier) fetch(ctx context.Context, issuer string) (*jose.JSONWebKeySet, error) {
	var disco struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := a.getJSON(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disco); err != nil {
		return nil, err
	}
	if disco.Issuer != issuer || disco.JWKSURI == "" {
		return nil, fmt.Errorf("discovery document of %s names issuer %q and jwks_uri %q", issuer, disco.Issuer, disco.JWKSURI)
	}
	var set jose.JSONWebKeySet
	if err := a.getJSON(ctx, disco.JWKSURI, &set); err != nil {
		return nil, err
	}
	return &set, nil
}

func (a *Verifier) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// IsUnauthorized reports whether err refuses the token (401), rather than
// failing to check it.
func IsUnauthorized(err error) (Unauthorized, bool) {
	var u Unauthorized
	ok := errors.As(err, &u)
	return u, ok
}
