package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"taruvi"
	"taruvi/internal/blob"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// blobStores are the backends the blob tests of deleted tenants run on:
// local disk and an in-process S3.
var blobStores = map[string]func(t *testing.T) taruvi.BlobStore{
	"local": func(t *testing.T) taruvi.BlobStore {
		l, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return l
	},
	"s3": func(t *testing.T) taruvi.BlobStore {
		backend := s3mem.New()
		if err := backend.CreateBucket("taruvi"); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gofakes3.New(backend).Server())
		t.Cleanup(srv.Close)
		s, err := blob.NewS3(context.Background(), blob.S3Config{Endpoint: srv.URL, Region: "eu-west-1", Bucket: "taruvi",
			AccessKey: "taruvi", SecretKey: "secret", PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	},
}

// racingStore runs before once, ahead of the first removal of a deleted
// tenant's blobs: what happens after maintenance has read which tenants
// are deleted and before it removes their blobs.
type racingStore struct {
	taruvi.BlobStore
	once   sync.Once
	before func()
}

func (s *racingStore) DeleteTenantBlobs(ctx context.Context, prefix string) (int64, error) {
	s.once.Do(s.before)
	return s.BlobStore.(postgres.TenantBlobRemover).DeleteTenantBlobs(ctx, prefix)
}

// TestDeletedTenantBlobs: a tenant deleted and created again under the
// same schema name, before maintenance runs or while it runs, keeps none
// of the deleted tenant's blobs and loses none of its own.
func TestDeletedTenantBlobs(t *testing.T) {
	t.Parallel()
	for name, newStore := range blobStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := postgrestest.Open(t, postgres.Options{MigrationSets: postgres.BuiltinMigrationSets()})
			for _, race := range []bool{false, true} {
				testDeletedTenantBlobs(t, db, newStore(t), race)
			}
		})
	}
}

func testDeletedTenantBlobs(t *testing.T, db *postgres.DB, store taruvi.BlobStore, race bool) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	authz := testAuthz(db, log)
	files := postgres.NewFiles(db, authz, store, 1<<20, log)
	projects, tenants := postgres.NewProjects(db, authz), postgres.NewTenants(db)
	upload := func(schema, content string) (context.Context, *taruvi.File, string) {
		tenant, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		op := operator(taruvi.NewContextWithTenant(ctx, tenant))
		p, err := projects.CreateProject(op, taruvi.ProjectCreate{Name: "P"})
		if err != nil {
			t.Fatal(err)
		}
		f, err := files.UploadFile(op, taruvi.FileUpload{Name: "f.txt", ProjectID: p.ID, Body: strings.NewReader(content)})
		if err != nil {
			t.Fatal(err)
		}
		var key string
		err = db.InTenant(op, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT storage_key FROM files WHERE id = $1`, f.ID).Scan(&key)
		})
		if err != nil {
			t.Fatal(err)
		}
		return op, f, key
	}
	schema := postgrestest.SchemaName()
	_, _, oldKey := upload(schema, "the deleted customer's")
	if err := tenants.SetTenantStatus(ctx, schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(ctx, schema); err != nil {
		t.Fatal(err)
	}
	var newCtx context.Context
	var newFile *taruvi.File
	maintained := store
	if race {
		maintained = &racingStore{BlobStore: store, before: func() { newCtx, newFile, _ = upload(schema, "the new customer's") }}
	} else {
		newCtx, newFile, _ = upload(schema, "the new customer's")
	}
	if _, err := postgres.NewMaintenance(db, maintained, nil).MaintainPlatform(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if newFile == nil {
		t.Fatal("maintenance removed no blobs of the deleted tenant")
	}
	if rc, _, err := store.Get(ctx, oldKey); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("race %t: the deleted tenant's blob %s: %v, want %s", race, oldKey, err, taruvi.ENOTFOUND)
	}
	rc, _, err := files.OpenFile(newCtx, newFile.ID)
	if err != nil {
		t.Fatalf("race %t: the new tenant's file: %v", race, err)
	}
	defer rc.Close()
	if content, _ := io.ReadAll(rc); string(content) != "the new customer's" {
		t.Errorf("race %t: the new tenant's file reads %q", race, content)
	}
}

// TestBlobKeysOfSchemaNames: blobs stored under the schema name, as they
// were before keys named the tenant's id, stay readable and deletable by
// their tenant. A deletion recorded by schema name only removes that
// prefix when no live tenant has the name, and leaves it alone otherwise.
func TestBlobKeysOfSchemaNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgrestest.Open(t, postgres.Options{MigrationSets: postgres.BuiltinMigrationSets()})
	store := blobStores["local"](t)
	log := slog.New(slog.DiscardHandler)
	authz := testAuthz(db, log)
	files := postgres.NewFiles(db, authz, store, 1<<20, log)
	tenant, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: postgrestest.SchemaName()})
	if err != nil {
		t.Fatal(err)
	}
	op := operator(taruvi.NewContextWithTenant(ctx, tenant))
	p, err := postgres.NewProjects(db, authz).CreateProject(op, taruvi.ProjectCreate{Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	gone := postgrestest.SchemaName()
	read, deleted, kept, goneKey := "tenants/"+tenant.Schema+"/files/read", "tenants/"+tenant.Schema+"/files/deleted",
		"tenants/"+tenant.Schema+"/files/kept", "tenants/"+gone+"/files/x"
	var ids []int64
	for _, key := range []string{read, deleted, kept, goneKey} {
		if _, err := store.Put(ctx, key, strings.NewReader(key), -1, "text/plain"); err != nil {
			t.Fatal(err)
		}
		if key == goneKey {
			continue
		}
		var id int64
		err := db.InTenant(op, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO files (name, size, content_type, sha256, storage_key, project_id)
				VALUES ('f', 1, 'text/plain', '', $1, $2) RETURNING id`, key, p.ID).Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rc, _, err := files.OpenFile(op, ids[0])
	if err != nil {
		t.Fatalf("OpenFile of a key under the schema name: %v", err)
	}
	content, _ := io.ReadAll(rc)
	rc.Close()
	if string(content) != read {
		t.Errorf("OpenFile of a key under the schema name reads %q", content)
	}
	if err := files.DeleteFile(op, ids[1]); err != nil {
		t.Fatal(err)
	}
	// Deletions recorded before tenants were recorded by id.
	if _, err := db.Pool().Exec(ctx, `INSERT INTO public.deleted_tenants (schema_name) VALUES ($1), ($2)`, gone, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewMaintenance(db, store, log).MaintainPlatform(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{read: true, deleted: false, kept: true, goneKey: false} {
		rc, _, err := store.Get(ctx, key)
		if err == nil {
			rc.Close()
		}
		if (err == nil) != want {
			t.Errorf("blob %s: %v, want it there %t", key, err, want)
		}
	}
	var left int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM public.deleted_tenants`).Scan(&left); err != nil || left != 0 {
		t.Errorf("deleted tenants left after maintenance: %d, %v", left, err)
	}
}
