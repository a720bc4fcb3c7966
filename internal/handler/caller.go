package handler

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/jwtauth"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// Auth is the deployment's JWT authorizer settings (AUTH_ISSUER,
// AUTH_AUDIENCE), when it has one. API Gateway checks the tokens of the
// routes it protects; the functions read the caller from the claims it
// passes, refuse a protected route that comes without them (a gateway
// wired without the authorizer), and check the optional token of the
// public GET /info themselves, with the same rules.
type Auth struct {
	Issuer   string
	Audience []string
	Verifier *jwtauth.Verifier
}

// caller returns who makes the request: the token's subject and the
// client's address.
func (a *API) caller(ctx context.Context, req events.APIGatewayV2HTTPRequest) (service.Caller, error) {
	c := service.Caller{IP: req.RequestContext.HTTP.SourceIP}
	if az := req.RequestContext.Authorizer; az != nil && az.JWT != nil {
		c.Sub = az.JWT.Claims["sub"]
	}
	if a.Auth == nil || c.Sub != "" {
		return c, nil
	}
	switch req.RouteKey {
	case RouteCreateUpload, RouteGetUpload, RouteDeleteUpload:
		return c, ocr.Errorf(ocr.EUNAUTHORIZED, "this deployment needs a token (Authorization: Bearer …) for %s", req.RouteKey)
	case RouteInfo:
		header := req.Headers["authorization"]
		if header == "" {
			return c, nil // public: the quota is shown to callers who say who they are
		}
		claims, err := a.Auth.Verifier.Verify(ctx, a.Auth.Issuer, a.Auth.Audience, header, time.Now())
		if u, ok := jwtauth.IsUnauthorized(err); ok {
			return c, ocr.Errorf(ocr.EUNAUTHORIZED, "the token is refused: %s", u.Reason)
		}
		if err != nil {
			return c, err
		}
		c.Sub = claims["sub"]
	}
	return c, nil
}

// retryAfter sets Retry-After on a refusal for quota to when it resets.
func retryAfter(resp events.APIGatewayV2HTTPResponse, err error, now time.Time) events.APIGatewayV2HTTPResponse {
	var q *service.QuotaExceeded
	if errors.As(err, &q) && resp.StatusCode == http.StatusTooManyRequests {
		resp.Headers["Retry-After"] = strconv.Itoa(max(1, int(q.ResetAt.Sub(now).Seconds()+0.5)))
	}
	return resp
}
