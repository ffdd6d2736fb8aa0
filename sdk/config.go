package waypost

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/waypost/waypost/sdk/eval"
)

// Defaults for the zero values of Config.
const (
	DefaultHeartbeatTimeout = 45 * time.Second
	DefaultInitialBackoff   = time.Second
	DefaultMaxBackoff       = 30 * time.Second
	DefaultResetAfter       = 60 * time.Second
	DefaultRequestTimeout   = 10 * time.Second
	DefaultExposureBuffer   = 500_000
	DefaultExposureDedupe   = 100_000
)

// Config configures a Client. Only ProviderURL and SDKKey are required
// (neither when Offline is set).
type Config struct {
	// ProviderURL is the base URL of a Waypost provider, e.g.
	// "http://127.0.0.1:8081". /v1/flags and /v1/stream are resolved
	// against it.
	ProviderURL string
	// SDKKey is a server key ("wps_..."), sent as a Bearer token.
	SDKKey string
	// HTTPClient is used for every request. Its Timeout must be zero (the
	// stream is long-lived). Default: a client with its own transport,
	// whose idle connections Close releases.
	HTTPClient *http.Client

	// BootstrapFile is a flag set (wire format JSON) served until the
	// first successful fetch. A missing file is not an error; an
	// unreadable or invalid one is logged and ignored.
	BootstrapFile string
	// PersistBootstrap writes every flag set received from the provider
	// to BootstrapFile (atomically, via a temporary file and rename).
	PersistBootstrap bool
	// Bootstrap is an in-memory flag set served until the first
	// successful fetch. When BootstrapFile also loads, the higher
	// revision wins (the file on a tie).
	Bootstrap *eval.FlagSet
	// Offline disables all network access: only the bootstrap flags are
	// served. Useful in tests.
	Offline bool

	// OnChange is called after a new flag set replaced an older one and
	// at least one flag changed. It runs on the client's sync goroutine,
	// one call at a time: it must not block for long, nor call Close.
	OnChange func(ChangeEvent)
	// OnExposure is called once per (user, experiment) when an evaluation
	// places a user in a running experiment. It runs on a dedicated
	// goroutine fed by a queue that grows with a burst up to
	// ExposureBuffer entries and is delivered in full by Close; only
	// beyond that bound (the hook cannot keep up for a sustained time) is
	// an exposure dropped, with a log warning, counted (see
	// Client.DroppedExposures) and offered again on the user's next
	// evaluation.
	OnExposure func(Exposure)
	// ExposureBuffer bounds the exposure queue (default 500,000, about
	// 100 bytes each while queued; the queue only grows during a burst).
	ExposureBuffer int
	// ExposureDedupe bounds the remembered (user, experiment) pairs
	// (default 100,000; oldest forgotten first).
	ExposureDedupe int

	// Logger receives connection and validation reports. Default:
	// slog.Default().
	Logger *slog.Logger

	// HeartbeatTimeout: a stream that delivers no bytes for this long is
	// considered dead and reconnected (default 45 s).
	HeartbeatTimeout time.Duration
	// InitialBackoff and MaxBackoff bound the reconnection delay, which
	// doubles per failed attempt with full jitter (defaults 1 s and 30 s).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// ResetAfter: a stream that stayed connected this long resets the
	// backoff (default 60 s).
	ResetAfter time.Duration
	// RequestTimeout bounds GET /v1/flags (default 10 s).
	RequestTimeout time.Duration
	// MaxEventBytes bounds one stream event and one /v1/flags body
	// (default 16 MiB).
	MaxEventBytes int
}

// withDefaults validates c and fills in its zero values.
func (c Config) withDefaults() (Config, error) {
	if !c.Offline {
		if c.ProviderURL == "" {
			return c, errors.New("waypost: config: ProviderURL is required")
		}
		u, err := url.Parse(c.ProviderURL)
		if err != nil {
			return c, fmt.Errorf("waypost: config: ProviderURL: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return c, fmt.Errorf("waypost: config: ProviderURL: scheme %q, want http or https", u.Scheme)
		}
		if c.SDKKey == "" {
			return c, errors.New("waypost: config: SDKKey is required")
		}
	}
	if c.PersistBootstrap && c.BootstrapFile == "" {
		return c, errors.New("waypost: config: PersistBootstrap needs BootstrapFile")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&c.InitialBackoff, DefaultInitialBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.ResetAfter, DefaultResetAfter)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	if c.MaxBackoff < c.InitialBackoff {
		c.MaxBackoff = c.InitialBackoff
	}
	if c.ExposureBuffer <= 0 {
		c.ExposureBuffer = DefaultExposureBuffer
	}
	if c.ExposureDedupe <= 0 {
		c.ExposureDedupe = DefaultExposureDedupe
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	return c, nil
}
