package s3store_test

import (
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/s3ocr/s3ocr/internal/s3store"
)

// The origin is what the SDK presigns: virtual-hosted in AWS, the local
// server's own with its endpoint set.
func TestOrigin_IsWherePresignedURLsPoint(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, want string
	}{
		{"AWS", "", "https://" + bucket + ".s3.eu-west-1.amazonaws.com"},
		{"local server", "http://127.0.0.1:9000", "http://127.0.0.1:9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"}
			if tc.endpoint != "" {
				vars["AWS_ENDPOINT_URL_S3"] = tc.endpoint
			}
			setenv(t, vars)
			cfg, err := awsconfig.LoadDefaultConfig(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got, err := s3store.New(s3store.NewClient(cfg), bucket).Origin(t.Context())
			if err != nil || got != tc.want {
				t.Errorf("Origin() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
