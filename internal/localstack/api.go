package localstack

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// maxGatewayBody is API Gateway's own payload limit (10 MB); the handlers
// enforce their much smaller one.
const maxGatewayBody = 10 << 20

// Route is one API Gateway route: method, path pattern with {params}, and the
// Lambda handler behind it.
type Route struct {
	Method  string
	Pattern string // e.g. "/uploads/{uploadId}"
	Handler func(req *http.Request, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

// Gateway serves routes the way API Gateway's HTTP API does for Lambda
// proxy integrations (payload format 2.0), including its CORS handling, so
// the handlers see the same events locally as in AWS.
type Gateway struct {
	Routes         []Route
	AllowedOrigins []string     // CORS; "*" allows any
	Static         http.Handler // serves what no route matches with GET (the web page), optional
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.cors(w, r)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// API Gateway answers preflight requests itself when CORS is configured.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	pathMatched := false
	for _, rt := range g.Routes {
		params, ok := matchPath(rt.Pattern, r.URL.Path)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.Method != r.Method {
			continue
		}
		ev, err := toEvent(r, rt.Method+" "+rt.Pattern, params)
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, ocr.EBODYTOOLARGE, err.Error())
			return
		}
		resp, err := rt.Handler(r, ev)
		if err != nil {
			// A Lambda that returns an error makes API Gateway answer 500.
			writeError(w, http.StatusInternalServerError, ocr.EINTERNAL, "Internal Server Error")
			return
		}
		writeResponse(w, resp)
		return
	}
	if !pathMatched && g.Static != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// What the page does not have is an unknown route, answered in JSON
		// like every other API error.
		sw := &staticWriter{ResponseWriter: w}
		g.Static.ServeHTTP(sw, r)
		if sw.notFound {
			writeError(w, http.StatusNotFound, ocr.ENOTFOUND, "no route "+r.Method+" "+r.URL.Path)
		}
		return
	}
	if pathMatched {
		writeError(w, http.StatusMethodNotAllowed, ocr.EMETHOD, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, http.StatusNotFound, ocr.ENOTFOUND, "no route "+r.Method+" "+r.URL.Path)
}

func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	if !slices.Contains(g.AllowedOrigins, "*") && !slices.Contains(g.AllowedOrigins, origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "content-type")
		h.Set("Access-Control-Max-Age", "600")
	}
}

// matchPath matches "/uploads/{uploadId}" against a path, returning the
// parameters. A parameter matches one non-empty path segment, as in API
// Gateway.
func matchPath(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	params := map[string]string{}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
			if xs[i] == "" {
				return nil, false
			}
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				return nil, false
			}
			params[ps[i][1:len(ps[i])-1]] = v
		} else if ps[i] != xs[i] {
			return nil, false
		}
	}
	return params, true
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
	for k, v := range r.Header {
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
		Version: "2.0", RouteKey: routeKey, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, Stage: "$default", RequestID: fmt.Sprintf("local-%d", now.UnixNano()),
			Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			DomainName: r.Host, APIID: "local",
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

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
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
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

// staticWriter passes a static handler's answer through, except a 404,
// which it swallows so that the gateway can answer it in JSON.
type staticWriter struct {
	http.ResponseWriter
	notFound, wrote bool
}

func (w *staticWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code == http.StatusNotFound {
		w.notFound = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *staticWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.notFound {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
