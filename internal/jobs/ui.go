package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"riverqueue.com/riverui"
)

// UIPrefix is where River UI is mounted.
const UIPrefix = "/admin/river"

// UI returns River UI (its single-page app and its API) over this client's
// database, serving under UIPrefix, with its background caches running
// until ctx ends. It checks no credential: mount it behind one.
func (c *Client) UI(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints:                riverui.NewEndpoints(c.river, nil),
		JobListHideArgsByDefault: true, // arguments may hold addresses and bodies
		Logger:                   log,
		Prefix:                   UIPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	return h, nil
}
