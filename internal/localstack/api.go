package localstack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/jwtauth"
	"github.com/s3ocr/s3ocr/internal/runtimeapi"
	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// API Gateway's HTTP API limits: a 10 MB request payload and a 30 s wait
// for its integration.
const (
	maxGatewayBody     = 10 << 20
	integrationTimeout = 30 * time.Second
)

// Gateway serves the template's HttpApi routes the way API Gateway's HTTP
// API does for Lambda proxy integrations with payload format 2.0: it picks
// the route (method and path with {parameters}, else $default), builds the
// event, invokes the route's function through the Lambda service and
// returns what the function answers. It answers itself where API Gateway
// does: CORS preflight and headers from the template's CorsConfiguration,
// a request over 10 MB, and a function that fails (500), times out, is
// throttled or does not answer within 30 s (503), with API Gateway's own
// bodies.
type Gateway struct {
	Lambda Invoker
	Routes []samtemplate.Route
	CORS   samtemplate.CORS
	Log    *slog.Logger

	authOnce sync.Once
	auth     *jwtauth.Verifier // checks the tokens of routes with a JWT authorizer
}

// Invoker invokes a function synchronously; *Lambda is one.
type Invoker interface {
	Invoke(ctx context.Context, name string, payload []byte) (runtimeapi.Result, error)
}

// gatewayError is API Gateway's own answer, not a function's.
func gatewayError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Apigw-Requestid", "local")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.cors(w, r) {
		return
	}
	route, params, ok := g.match(r)
	if !ok {
		gatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	var claims map[string]string
	if route.Auth != nil {
		var err error
		if claims, err = g.authorize(r, route.Auth); err != nil {
			if u, ok := jwtauth.IsUnauthorized(err); ok {
				// API Gateway's own answer: the function is not invoked.
				w.Header().Set("Www-Authenticate", fmt.Sprintf("Bearer error=%q error_description=%q", "invalid_token", u.Reason))
				gatewayError(w, http.StatusUnauthorized, "Unauthorized")
				return
			}
			g.Log.Error("authorizer could not check a token", "route", route.Key(), "err", err)
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	ev, err := toEvent(r, route.Key(), params)
	if err != nil {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: nil},
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), integrationTimeout)
	defer cancel()
	type answer struct {
		res invokeResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		// The invocation runs to its own end, as Lambda's does, even when
		// the gateway has stopped waiting for it.
		res, err := g.Lambda.Invoke(context.WithoutCancel(r.Context()), route.Function, payload)
		done <- answer{invokeResult{res.Payload, res.Error != nil}, err}
	}()
	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
		g.Log.Warn("integration timed out", "route", route.Key(), "function", route.Function)
		gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	switch {
	case errors.Is(a.err, runtimeapi.ErrThrottled):
		gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
	case a.err != nil || a.res.failed:
		g.Log.Warn("function failed", "route", route.Key(), "function", route.Function, "err", a.err, "payload", string(a.res.payload))
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	default:
		if err := writeResponse(w, a.res.payload); err != nil {
			g.Log.Warn("function answered what API Gateway cannot use", "route", route.Key(), "err", err)
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		}
	}
}

// authorize checks the request's token against the route's authorizer.
func (g *Gateway) authorize(r *http.Request, auth *samtemplate.JWTAuth) (map[string]string, error) {
	g.authOnce.Do(func() { g.auth = jwtauth.New() })
	return g.auth.Verify(r.Context(), auth.Issuer, auth.Audience, r.Header.Get("Authorization"), time.Now())
}

type invokeResult struct {
	payload []byte
	failed  bool
}

// match finds the route for a request: an exact route key first, then
// routes with path parameters, then $default, as API Gateway prefers the
// most specific route.
func (g *Gateway) match(r *http.Request) (samtemplate.Route, map[string]string, bool) {
	var best *samtemplate.Route
	var bestParams map[string]string
	for i := range g.Routes {
		rt := &g.Routes[i]
		if rt.Key() == handler.RouteDefault || (rt.Method != "ANY" && rt.Method != r.Method) {
			continue
		}
		params, ok := handler.MatchPath(rt.Path, r.URL.Path)
		if !ok {
			continue
		}
		if best == nil || len(params) < len(bestParams) {
			best, bestParams = rt, params
		}
	}
	if best != nil {
		return *best, bestParams, true
	}
	for _, rt := range g.Routes {
		if rt.Key() == handler.RouteDefault {
			return rt, nil, true
		}
	}
	return samtemplate.Route{}, nil, false
}

// cors adds the template's CORS headers for an allowed origin, and answers
// a preflight request itself, as API Gateway does when CORS is configured.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) (answered bool) {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	allowed := origin != "" && (slices.Contains(g.CORS.AllowOrigins, "*") || slices.Contains(g.CORS.AllowOrigins, origin))
	if allowed {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if len(g.CORS.ExposeHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(g.CORS.ExposeHeaders, ","))
		}
		if g.CORS.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if preflight {
			h.Set("Access-Control-Allow-Methods", strings.Join(g.CORS.AllowMethods, ","))
			h.Set("Access-Control-Allow-Headers", strings.Join(g.CORS.AllowHeaders, ","))
			if g.CORS.MaxAge > 0 {
				h.Set("Access-Control-Max-Age", strconv.Itoa(g.CORS.MaxAge))
			}
		}
	}
	if preflight && len(g.CORS.AllowOrigins) > 0 {
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// toEvent builds the payload format 2.0 event API Gateway would send.
func toEvent(r *http.Request, routeKey string, params map[string]string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGatewayBody+1))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	if len(body) > maxGatewayBody {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("the request body is over API Gateway's %d-byte limit", maxGatewayBody)
	}
	headers := map[string]string{}
	var cookies []string
	for k, v := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, c := range v {
				for _, part := range strings.Split(c, ";") {
					cookies = append(cookies, strings.TrimSpace(part))
				}
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	var query map[string]string
	if len(r.URL.Query()) > 0 {
		query = map[string]string{}
		for k, v := range r.URL.Query() {
			query[k] = strings.Join(v, ",")
		}
	}
	if len(params) == 0 {
		params = nil
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery, Cookies: cookies,
		Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, AccountID: accountID, Stage: "$default", RequestID: fmt.Sprintf("local-%d", now.UnixNano()),
			Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			DomainName: r.Host, DomainPrefix: strings.Split(r.Host, ".")[0], APIID: "local",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev, nil
}

// writeResponse writes a function's answer as API Gateway does with payload
// format 2.0: a JSON object with a statusCode is the response; anything
// else valid as JSON is the body of a 200 application/json response.
func writeResponse(w http.ResponseWriter, payload []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return errors.New("the function's answer is not JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return err
	}
	for k, v := range resp.Headers {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") && w.Header().Get(k) != "" {
			continue // API Gateway's CORS headers override the function's
		}
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("isBase64Encoded body: %w", err)
		}
		body = b
	}
	status := resp.StatusCode
	if status < 100 || status > 599 {
		return fmt.Errorf("status %d", status)
	}
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader(body))
	return nil
}
