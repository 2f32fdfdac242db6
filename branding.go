package taruvi

import (
	"context"
	"net/url"
	"regexp"
	"strings"
)

// Branding is how a tenant's pages look: the name they show, two colours
// and a logo.
type Branding struct {
	DisplayName  string `json:"display_name"`
	PrimaryColor string `json:"primary_color"` // #rrggbb
	AccentColor  string `json:"accent_color"`  // #rrggbb
	LogoURL      string `json:"logo_url"`      // https://... or a path on the same host; may be empty
}

// DefaultBranding is the branding of a tenant that set none.
func DefaultBranding(name string) Branding {
	return Branding{DisplayName: name, PrimaryColor: "#1f4e79", AccentColor: "#e07a1f"}
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Validate trims the fields and checks them; errors name the fields.
func (b *Branding) Validate() error {
	b.DisplayName = strings.TrimSpace(b.DisplayName)
	b.LogoURL = strings.TrimSpace(b.LogoURL)
	b.PrimaryColor = strings.ToLower(strings.TrimSpace(b.PrimaryColor))
	b.AccentColor = strings.ToLower(strings.TrimSpace(b.AccentColor))
	fields := map[string]string{}
	checkText(fields, "display_name", b.DisplayName, 1, 100)
	if !colorRE.MatchString(b.PrimaryColor) {
		fields["primary_color"] = "Use a colour such as #1f4e79."
	}
	if !colorRE.MatchString(b.AccentColor) {
		fields["accent_color"] = "Use a colour such as #e07a1f."
	}
	if b.LogoURL != "" {
		u, err := url.Parse(b.LogoURL)
		ok := err == nil && len(b.LogoURL) <= 500 &&
			((u.Scheme == "https" && u.Host != "") || (u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(b.LogoURL, "//")))
		if !ok {
			fields["logo_url"] = "Use an https:// address or a path starting with /, at most 500 characters."
		}
	}
	return invalid("Invalid branding.", fields)
}

// BrandingService reads and sets the branding of the tenant in ctx.
// FindBranding needs no principal (the sign-in page shows it) and returns
// DefaultBranding when none is set; SetBranding needs a tenant owner
// (EFORBIDDEN otherwise) and returns EINVALID for bad fields.
type BrandingService interface {
	FindBranding(ctx context.Context) (Branding, error)
	SetBranding(ctx context.Context, b Branding) (Branding, error)
}
