package blob_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"taruvi/internal/blob"
)

const bucket = "taruvi-test"

// fakeS3 serves an in-memory S3 over HTTP, with the test bucket, and
// returns its URL.
func fakeS3(t *testing.T) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func s3Config(endpoint string) blob.S3Config {
	return blob.S3Config{
		Endpoint:  endpoint,
		Region:    "eu-west-1",
		Bucket:    bucket,
		AccessKey: "taruvi",
		SecretKey: "secret",
		PathStyle: true,
	}
}

func newS3(t *testing.T, c blob.S3Config) *blob.S3 {
	t.Helper()
	s, err := blob.NewS3(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// inspector is a plain S3 client on the same bucket, to see what the
// store left there.
func inspector(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("taruvi", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
	})
}

// bucketContents lists the objects of the bucket and, as "upload:<key>",
// its unfinished multipart uploads.
func bucketContents(t *testing.T, c *s3.Client) []string {
	t.Helper()
	ctx := context.Background()
	var got []string
	objs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs.Contents {
		got = append(got, aws.ToString(o.Key))
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchUpload":
		// gofakes3's answer for a bucket without uploads in progress.
		return got
	case err != nil:
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		got = append(got, "upload:"+aws.ToString(u.Key))
	}
	return got
}

func TestS3(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) harness {
		url := fakeS3(t)
		return harness{
			store:     newS3(t, s3Config(url)),
			leftovers: func(t *testing.T) []string { return bucketContents(t, inspector(url)) },
		}
	})
}

// TestS3Prefix runs the same suite on a store sharing its bucket under a
// prefix; the leftovers seen are the keys below the prefix, and nothing
// may be stored elsewhere.
func TestS3Prefix(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) harness {
		url := fakeS3(t)
		c := s3Config(url)
		c.Prefix = "/shared/taruvi/"
		return harness{
			store: newS3(t, c),
			leftovers: func(t *testing.T) []string {
				var keys []string
				for _, k := range bucketContents(t, inspector(url)) {
					rest, ok := cutAnyPrefix(k, "shared/taruvi/", "upload:shared/taruvi/")
					if !ok {
						t.Errorf("object %q outside the prefix", k)
					}
					keys = append(keys, rest)
				}
				return keys
			},
		}
	})
}

func cutAnyPrefix(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest, true
		}
	}
	return s, false
}

func TestS3ContentType(t *testing.T) {
	t.Parallel()
	url := fakeS3(t)
	s := newS3(t, s3Config(url))
	ctx := context.Background()
	for _, size := range []int{10, partSize + 10} { // one request, multipart
		k := "tenants/acme/typed"
		if _, err := s.Put(ctx, k, bytes.NewReader(randomBytes(size)), int64(size), "image/png"); err != nil {
			t.Fatal(err)
		}
		out, err := inspector(url).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.ContentType); got != "image/png" {
			t.Errorf("content type of a %d-byte blob = %q, want image/png", size, got)
		}
	}
}

func TestS3Ping(t *testing.T) {
	t.Parallel()
	url := fakeS3(t)
	if err := newS3(t, s3Config(url)).Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	c := s3Config(url)
	c.Bucket = "no-such-bucket"
	if err := newS3(t, c).Ping(context.Background()); err == nil {
		t.Error("Ping on a missing bucket: no error")
	}
}

func TestNewS3Invalid(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*blob.S3Config){
		"no bucket":     func(c *blob.S3Config) { c.Bucket = "" },
		"no access key": func(c *blob.S3Config) { c.AccessKey = "" },
		"no secret key": func(c *blob.S3Config) { c.SecretKey = "" },
		"bad endpoint":  func(c *blob.S3Config) { c.Endpoint = "localhost:9000" },
		"ftp endpoint":  func(c *blob.S3Config) { c.Endpoint = "ftp://localhost" },
	} {
		c := s3Config("http://127.0.0.1:9000")
		change(&c)
		if _, err := blob.NewS3(context.Background(), c); err == nil {
			t.Errorf("NewS3 with %s: no error", name)
		}
	}
	if _, err := blob.NewS3(context.Background(), s3Config("")); err != nil {
		t.Errorf("NewS3 for AWS (no endpoint): %v", err)
	}
}
