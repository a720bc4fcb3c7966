package localstack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// authStack is a gateway whose private route has the JWT authorizer of a
// development issuer served beside it, as in the local stack.
func authStack(t *testing.T) (srv *httptest.Server, dev *DevIssuer) {
	t.Helper()
	mux := http.NewServeMux()
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dev, err := NewDevIssuer(srv.URL+devIssuerPath, DevAudience)
	if err != nil {
		t.Fatal(err)
	}
	dev.Handle(mux, devIssuerPath)
	auth := &samtemplate.JWTAuth{Issuer: dev.Issuer, Audience: []string{DevAudience}}
	private := route("GET", "/uploads/{uploadId}", "Echo")
	private.Auth = auth
	mux.Handle("/", gateway(private, route("GET", "/info", "Echo")))
	return srv, dev
}

func get(t *testing.T, url, token string) (*http.Response, events.APIGatewayV2HTTPRequest) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ev events.APIGatewayV2HTTPRequest
	if resp.StatusCode == http.StatusOK {
		json.NewDecoder(resp.Body).Decode(&ev)
	}
	return resp, ev
}

func TestGateway_JWTAuthorizerPassesValidTokensAndTheirClaims(t *testing.T) {
	srv, _ := authStack(t)
	// The token comes from POST /dev/token, as a developer gets it.
	resp, err := http.Post(srv.URL+"/dev/token", "application/json", strings.NewReader(`{"sub":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || out.Token == "" {
		t.Fatalf("POST /dev/token: %d %+v", resp.StatusCode, out)
	}
	r, ev := get(t, srv.URL+"/uploads/abc", out.Token)
	if r.StatusCode != 200 {
		t.Fatalf("a valid token got %d", r.StatusCode)
	}
	a := ev.RequestContext.Authorizer
	if a == nil || a.JWT == nil || a.JWT.Claims["sub"] != "alice" || a.JWT.Claims["iss"] != srv.URL+devIssuerPath || a.JWT.Claims["exp"] == "" {
		t.Fatalf("requestContext.authorizer = %+v", a)
	}
	// A public route needs no token and gets no claims.
	r, ev = get(t, srv.URL+"/info", "")
	if r.StatusCode != 200 || ev.RequestContext.Authorizer != nil {
		t.Fatalf("public route: %d, authorizer %+v", r.StatusCode, ev.RequestContext.Authorizer)
	}
}

func TestGateway_JWTAuthorizerRefusesWhatAPIGatewayRefuses(t *testing.T) {
	srv, dev := authStack(t)
	other, err := NewDevIssuer(dev.Issuer, DevAudience) // same iss, another key
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := func() jwt.Claims {
		return jwt.Claims{Issuer: dev.Issuer, Subject: "alice", Audience: jwt.Audience{DevAudience},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	}
	sign := func(d *DevIssuer, change func(c *jwt.Claims)) string {
		c := valid()
		change(&c)
		tok, err := d.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name, token string
	}{
		{"no token", ""},
		{"not a JWT", "hello"},
		{"expired", sign(dev, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) })},
		{"no exp", sign(dev, func(c *jwt.Claims) { c.Expiry = nil })},
		{"not yet valid", sign(dev, func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) })},
		{"another issuer", sign(dev, func(c *jwt.Claims) { c.Issuer = "https://elsewhere.example" })},
		{"another audience", sign(dev, func(c *jwt.Claims) { c.Audience = jwt.Audience{"someone-else"} })},
		{"signed by another key", sign(other, func(*jwt.Claims) {})},
		{"signature tampered", func() string {
			tok := sign(dev, func(*jwt.Claims) {})
			return tok[:len(tok)-4] + "AAAA"
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := get(t, srv.URL+"/uploads/abc", tc.token)
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("Www-Authenticate"), "invalid_token") {
				t.Fatalf("got %d (%q), want 401", r.StatusCode, r.Header.Get("Www-Authenticate"))
			}
		})
	}
	// The same claims, correctly signed, pass: the cases above fail for
	// the one thing each changes.
	if r, _ := get(t, srv.URL+"/uploads/abc", sign(dev, func(*jwt.Claims) {})); r.StatusCode != 200 {
		t.Fatalf("valid token: %d", r.StatusCode)
	}
}

func TestDevIssuer_TokenRequestsAreChecked(t *testing.T) {
	srv, _ := authStack(t)
	for _, body := range []string{``, `{}`, `{"sub":""}`, `{"sub":"a","admin":true}`, `{"sub":"` + strings.Repeat("a", 200) + `"}`, `{"sub":"a\u0000b"}`} {
		resp, err := http.Post(srv.URL+"/dev/token", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 400 || out.Error.Code != "invalid_request" || out.Error.Message == "" {
			t.Errorf("body %q: %d %+v", body, resp.StatusCode, out)
		}
	}
}
