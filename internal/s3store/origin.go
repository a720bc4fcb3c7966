package s3store

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Origin returns the origin (scheme://host[:port]) of the URLs the store
// hands to browsers: the presigned POST an upload goes to, and the
// presigned GET an answer too large for Lambda is redirected to. A page's
// Content-Security-Policy must allow it in connect-src. It is taken from a
// POST and a GET presigned for a placeholder key, so it follows the SDK's
// own endpoint resolution (virtual-hosted in AWS, the endpoint's host with
// path-style addressing locally); presigning signs locally and sends
// nothing.
func (s *Store) Origin(ctx context.Context) (string, error) {
	const key = "origin"
	post, err := s.PresignPost(ctx, key, "application/octet-stream", 1, time.Now().Add(time.Hour))
	if err != nil {
		return "", err
	}
	get, err := s.PresignGet(ctx, key, time.Minute)
	if err != nil {
		return "", err
	}
	postOrigin, err := origin(post.URL)
	if err != nil {
		return "", err
	}
	getOrigin, err := origin(get)
	if err != nil {
		return "", err
	}
	if postOrigin != getOrigin {
		return "", fmt.Errorf("bucket %s: presigned POSTs go to %s and GETs to %s; a page would need both", s.bucket, postOrigin, getOrigin)
	}
	return postOrigin, nil
}

func origin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("presigned URL %q has no origin", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}
