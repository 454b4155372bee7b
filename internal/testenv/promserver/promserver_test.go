package promserver

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestStopAndStartKeepTheAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	srv, err := Start(ctx, Options{Dir: dir, LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ready := func() error {
		resp, err := http.Get(srv.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := ready(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := ready(); err == nil {
		t.Fatal("prometheus still answers after Stop")
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ready(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
