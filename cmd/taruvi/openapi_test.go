package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
)

// TestOpenAPICommand: `taruvi openapi` prints the reviewed document, the
// one the API's golden file holds.
func TestOpenAPICommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"openapi"}, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatalf("taruvi openapi: %v\n%s", err, stderr.String())
	}
	golden, err := os.ReadFile("../../internal/api/testdata/openapi.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Error("taruvi openapi differs from internal/api/testdata/openapi.golden.json; refresh it with go test ./internal/api -run OpenAPI -update")
	}
}
