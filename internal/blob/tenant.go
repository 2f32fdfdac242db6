package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"taruvi"
)

// DeleteTenantBlobs removes every blob under prefix, the whole prefix of
// one tenant (taruvi.ValidateBlobPrefix), for the maintenance of a deleted
// tenant. It returns how many it removed.
func (l *Local) DeleteTenantBlobs(ctx context.Context, prefix string) (int64, error) {
	if err := taruvi.ValidateBlobPrefix(prefix); err != nil {
		return 0, err
	}
	root := filepath.Join(l.dir, filepath.FromSlash(prefix))
	var n int64
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return ctx.Err()
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	if err := os.RemoveAll(root); err != nil {
		return 0, fmt.Errorf("blob: remove %s: %w", prefix, err)
	}
	return n, nil
}

// DeleteTenantBlobs removes every object under prefix, the whole prefix of
// one tenant, a thousand per request.
func (s *S3) DeleteTenantBlobs(ctx context.Context, prefix string) (int64, error) {
	if err := taruvi.ValidateBlobPrefix(prefix); err != nil {
		return 0, err
	}
	prefix = s.prefix + prefix
	var n int64
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("blob: list %s: %w", prefix, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		if _, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &s.bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return n, fmt.Errorf("blob: delete %s: %w", prefix, err)
		}
		n += int64(len(ids))
	}
	return n, nil
}
