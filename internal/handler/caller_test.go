package handler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/jwtauth"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// as puts what API Gateway's JWT authorizer passes on req: the token's
// claims, and the client's address.
func as(req events.APIGatewayV2HTTPRequest, sub string) events.APIGatewayV2HTTPRequest {
	req.RequestContext.HTTP.SourceIP = "192.0.2.9"
	if sub != "" {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub, "iss": "https://issuer.example"}},
		}
	}
	return req
}

func authAPI() (*handler.API, *service.Quota) {
	api, store := newAPI()
	api.Auth = &handler.Auth{Issuer: "https://issuer.example", Audience: []string{"app"}, Verifier: jwtauth.New()}
	q := &service.Quota{Counters: store, Limits: ocr.Usage{Uploads: 1}}
	api.Uploads.Quota, api.Quota = q, q
	api.Info = &service.Info{Service: "s3ocr"}
	return api, q
}

func route(t *testing.T, api *handler.API, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := api.Route(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRoute_TheTokensSubjectOwnsTheUploadAndOthersGet404(t *testing.T) {
	api, _ := authAPI()
	resp := route(t, api, as(post(`{"filename":"a.png","contentType":"image/png","size":10}`), "alice"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create = %d %s", resp.StatusCode, resp.Body)
	}
	var out service.CreatedUpload
	json.Unmarshal([]byte(resp.Body), &out)
	if r := route(t, api, as(get(out.UploadID), "alice")); r.StatusCode != http.StatusOK {
		t.Fatalf("owner's GET = %d %s", r.StatusCode, r.Body)
	}
	if r := route(t, api, as(get(out.UploadID), "bob")); r.StatusCode != http.StatusNotFound || errorOf(t, r).Code != ocr.ENOTFOUND {
		t.Fatalf("another caller's GET = %d %s, want 404 not_found", r.StatusCode, r.Body)
	}
}

func TestRoute_AProtectedRouteWithoutClaimsIsRefused(t *testing.T) {
	api, _ := authAPI()
	for _, req := range []events.APIGatewayV2HTTPRequest{post(`{}`), get("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")} {
		r := route(t, api, as(req, ""))
		if r.StatusCode != http.StatusUnauthorized || errorOf(t, r).Code != ocr.EUNAUTHORIZED || r.Headers["WWW-Authenticate"] != "Bearer" {
			t.Fatalf("%s without claims = %d %v %s, want 401 unauthorized", req.RouteKey, r.StatusCode, r.Headers, r.Body)
		}
	}
}

func TestRoute_OverQuotaIs429WithRetryAfterUntilMidnightUTC(t *testing.T) {
	api, _ := authAPI()
	body := `{"filename":"a.png","contentType":"image/png","size":10}`
	if r := route(t, api, as(post(body), "alice")); r.StatusCode != http.StatusCreated {
		t.Fatalf("first = %d %s", r.StatusCode, r.Body)
	}
	r := route(t, api, as(post(body), "alice"))
	if r.StatusCode != http.StatusTooManyRequests || errorOf(t, r).Code != ocr.EQUOTA {
		t.Fatalf("second = %d %s, want 429 quota_exceeded", r.StatusCode, r.Body)
	}
	secs, err := strconv.Atoi(r.Headers["Retry-After"])
	left := time.Until(ocr.QuotaReset(time.Now())).Seconds()
	if err != nil || secs < 1 || float64(secs) > left+2 {
		t.Fatalf("Retry-After %q, want about %.0f s", r.Headers["Retry-After"], left)
	}
}

func TestInfo_ShowsTheCallersQuotaOnlyToThem(t *testing.T) {
	api, _ := authAPI()
	info := events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteInfo, RawPath: "/info"}
	// Public: without a token, no quota, and cacheable.
	r := route(t, api, as(info, ""))
	var got service.Info
	if json.Unmarshal([]byte(r.Body), &got); r.StatusCode != http.StatusOK || got.Quota != nil || r.Headers["Cache-Control"] != "public, max-age=60" {
		t.Fatalf("anonymous /info = %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	// A token that does not verify is refused, not ignored.
	bad := as(info, "")
	bad.Headers = map[string]string{"authorization": "Bearer not-a-jwt"}
	if r := route(t, api, bad); r.StatusCode != http.StatusUnauthorized || errorOf(t, r).Code != ocr.EUNAUTHORIZED {
		t.Fatalf("/info with a bad token = %d %s", r.StatusCode, r.Body)
	}
	// With the API open, callers are their address.
	api.Auth = nil
	r = route(t, api, as(info, ""))
	if json.Unmarshal([]byte(r.Body), &got); r.StatusCode != http.StatusOK || got.Quota == nil ||
		got.Quota.Remaining.Uploads != 1 || got.Quota.Remaining.Bytes != -1 || r.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("open /info = %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
}
