package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"taruvi"
)

const (
	// partSize is the size of every part of a multipart upload but the
	// last, the least S3 accepts, and so the memory an upload holds.
	partSize = 5 << 20
	// maxParts is the most parts S3 takes in one upload, which makes
	// maxObjectSize (about 48.8 GiB) the largest blob Put stores.
	maxParts      = 10000
	maxObjectSize = maxParts * partSize
	// abortTimeout bounds the cleanup of a failed upload, which runs even
	// when the request that started it was cancelled.
	abortTimeout = 30 * time.Second
)

// S3Config locates a bucket (the TARUVI_S3_* settings).
type S3Config struct {
	// Endpoint is the URL of an S3-compatible service (MinIO, R2, ...);
	// empty means AWS, found from Region.
	Endpoint string
	// Region defaults to "us-east-1".
	Region string
	// Bucket must exist; it is not created.
	Bucket string
	// AccessKey and SecretKey are the static credentials; both required.
	AccessKey string
	SecretKey string
	// PathStyle addresses the bucket as <endpoint>/<bucket> rather than
	// <bucket>.<endpoint>; most S3-compatible services need it.
	PathStyle bool
	// Prefix, optional, is put before every key ("taruvi/" stores
	// "tenants/acme/x" as "taruvi/tenants/acme/x"), to share a bucket.
	Prefix string
}

// S3 is a BlobStore on an S3 bucket.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string
	bufs   sync.Pool // of *[]byte, partSize long
}

var _ taruvi.BlobStore = (*S3)(nil)

// NewS3 returns a store on the bucket of c. It does not contact the
// service: Ping does.
func NewS3(ctx context.Context, c S3Config) (*S3, error) {
	if c.Bucket == "" {
		return nil, errors.New("blob: S3 bucket not set")
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return nil, errors.New("blob: S3 access key and secret key required")
	}
	opts := s3.Options{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, ""),
		UsePathStyle: c.PathStyle,
		// Every request is signed with the SHA-256 of its body (bodies here
		// are in memory), which S3 checks; the SDK's extra CRC checksums
		// are left off because several S3-compatible services refuse them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("blob: S3 endpoint %q is not an http(s) URL", c.Endpoint)
		}
		opts.BaseEndpoint = aws.String(c.Endpoint)
	}
	s := &S3{client: s3.New(opts), bucket: c.Bucket}
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	s.bufs.New = func() any { b := make([]byte, partSize); return &b }
	return s, nil
}

// object returns the object name of key, refusing with EINVALID a key that
// is not a tenant key.
func (s *S3) object(key string) (*string, error) {
	if err := taruvi.ValidateBlobKey(key); err != nil {
		return nil, err
	}
	return aws.String(s.prefix + key), nil
}

// Put streams r to key, hashing and counting it: up to 5 MiB in one
// request, beyond that as a multipart upload of 5 MiB parts read one at a
// time into the same buffer. Past maxBytes (a negative maxBytes means no
// limit; S3 itself stops at about 48.8 GiB) it stops reading and returns
// ETOOLARGE. On any error the upload is aborted and the key keeps what it
// had before.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, maxBytes int64, contentType string) (taruvi.BlobInfo, error) {
	obj, err := s.object(key)
	if err != nil {
		return taruvi.BlobInfo{}, err
	}
	if maxBytes < 0 || maxBytes > maxObjectSize {
		maxBytes = maxObjectSize
	}
	var ctype *string
	if contentType != "" {
		ctype = aws.String(contentType)
	}
	bufp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bufp)
	buf := *bufp

	m := newMeter(ctx, r, maxBytes)
	n, err := io.ReadFull(m, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF: // all of it is in buf
		body := newPartBody(buf[:n])
		_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        &s.bucket,
			Key:           obj,
			Body:          body,
			ContentLength: aws.Int64(int64(n)),
			ContentType:   ctype,
		})
		body.finish()
	case err == nil:
		err = s.putMultipart(ctx, obj, ctype, m, buf)
	}
	if err != nil {
		if taruvi.ErrorCode(err) == taruvi.ETOOLARGE {
			return taruvi.BlobInfo{}, err
		}
		return taruvi.BlobInfo{}, fmt.Errorf("put blob: %w", err)
	}
	return m.info(key), nil
}

// putMultipart uploads buf, which is full, then the rest of m part by part,
// and aborts the upload on any error.
func (s *S3) putMultipart(ctx context.Context, obj, ctype *string, m *meter, buf []byte) error {
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: obj, ContentType: ctype,
	})
	if err != nil {
		return err
	}
	parts, err := s.uploadParts(ctx, obj, up.UploadId, m, buf)
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: obj, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		_, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: &s.bucket, Key: obj, UploadId: up.UploadId,
		})
		if aerr != nil {
			return errors.Join(err, fmt.Errorf("abort multipart upload: %w", aerr))
		}
		return err
	}
	return nil
}

// uploadParts sends buf, full, as part 1, then reads and sends the next
// parts until m ends.
func (s *S3) uploadParts(ctx context.Context, obj, uploadID *string, m *meter, buf []byte) ([]types.CompletedPart, error) {
	var parts []types.CompletedPart
	n, last := len(buf), false
	for num := int32(1); ; num++ {
		body := newPartBody(buf[:n])
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.bucket, Key: obj, UploadId: uploadID, PartNumber: aws.Int32(num),
			Body: body, ContentLength: aws.Int64(int64(n)),
		})
		body.finish()
		if err != nil {
			return nil, err
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		if last {
			return parts, nil
		}
		n, err = io.ReadFull(m, buf)
		switch {
		case err == io.EOF: // the previous part ended it
			return parts, nil
		case err == io.ErrUnexpectedEOF: // one more, shorter part
			last = true
		case err != nil:
			return nil, err
		}
	}
}

// partBody is a request body over the part buffer. Go's HTTP transport may
// go on reading a request body after the response has come back (an early
// error reply); finish, called when the request returns, cuts such late
// reads off the buffer, which the next part or upload then reuses.
type partBody struct {
	mu   sync.Mutex
	r    *bytes.Reader
	done bool
}

var errPartDone = errors.New("blob: request body read after its request returned")

func newPartBody(b []byte) *partBody { return &partBody{r: bytes.NewReader(b)} }

func (b *partBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, errPartDone
	}
	return b.r.Read(p)
}

func (b *partBody) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, errPartDone
	}
	return b.r.Seek(offset, whence)
}

func (b *partBody) finish() {
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}

// Get streams the object of key. The BlobInfo has the key and size; its
// SHA256 is empty (S3 does not know it for multipart uploads).
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, taruvi.BlobInfo, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, taruvi.BlobInfo{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: obj})
	if err != nil {
		return nil, taruvi.BlobInfo{}, s3Error("get blob", err)
	}
	return out.Body, taruvi.BlobInfo{Key: key, Size: aws.ToInt64(out.ContentLength)}, nil
}

// Delete removes the object of key; ENOTFOUND when there is none. S3's
// DELETE succeeds on a missing key, so a HEAD asks first.
func (s *S3) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: obj}); err != nil {
		return s3Error("delete blob", err)
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: obj}); err != nil {
		return s3Error("delete blob", err)
	}
	return nil
}

// Ping checks that the bucket exists and the credentials reach it.
func (s *S3) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("blob storage: head bucket %s: %w", s.bucket, err)
	}
	return nil
}

// s3Error maps a missing object to ENOTFOUND and wraps anything else.
func s3Error(op string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) ||
		(errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")) {
		return notFound()
	}
	return fmt.Errorf("%s: %w", op, err)
}
