package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/worker"
)

// WebhookArgs is the River job that pushes one environment's state to one
// provider. The job sends the state current when it runs (never older than
// Revision), so a delayed or retried job never pushes stale data.
type WebhookArgs struct {
	ProviderID    string `json:"provider_id"`
	EnvironmentID int64  `json:"environment_id"`
	Revision      int64  `json:"revision"`
}

// Kind is the River job kind.
func (WebhookArgs) Kind() string { return "provider_webhook" }

// InsertOpts: a few quick retries; LISTEN/NOTIFY heals whatever is left.
func (WebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, Queue: river.QueueDefault}
}

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	st     *store.Store
	secret string
	client *http.Client
	log    *slog.Logger
}

// WebhookJobs registers the webhook delivery worker.
func WebhookJobs(pool *pgxpool.Pool, secret string, log *slog.Logger) worker.Registration {
	return func(workers *river.Workers, _ *river.Config) error {
		return river.AddWorkerSafely(workers, &webhookWorker{st: store.New(pool), secret: secret, log: log,
			client: &http.Client{Timeout: 5 * time.Second}})
	}
}

func (w *webhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration { return 15 * time.Second }

// NextRetry backs off quadratically (1 s, 4 s, 9 s, ...): providers that
// are briefly down get the change soon after they are back.
func (w *webhookWorker) NextRetry(job *river.Job[WebhookArgs]) time.Time {
	n := time.Duration(job.Attempt)
	return time.Now().Add(n * n * time.Second)
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	// One statement: the provider (still live?) and the environment's
	// newest revision, so a delayed or retried job never announces less
	// than the environment holds now.
	target, err := w.st.ProviderWebhook(ctx, job.Args.ProviderID, job.Args.EnvironmentID)
	if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
		if e.Field == "environment" {
			return river.JobCancel(fmt.Errorf("environment %d was deleted", job.Args.EnvironmentID))
		}
		return river.JobCancel(fmt.Errorf("provider %s is gone (no heartbeat for a minute)", job.Args.ProviderID))
	}
	if err != nil {
		return err
	}
	prov, rev := target.Provider, target.Revision
	body, err := json.Marshal(WebhookPayload{EnvironmentID: job.Args.EnvironmentID, Revision: max(rev, job.Args.Revision)})
	if err != nil {
		return fmt.Errorf("encode webhook: %w", err)
	}
	status, err := PostWebhook(ctx, w.client, prov.WebhookURL, w.secret, body)
	if err != nil {
		return fmt.Errorf("deliver to provider %s: %w", prov.ID, err)
	}
	switch {
	case status/100 == 2:
		return nil
	case status == http.StatusConflict:
		// A replay: this exact signed body already arrived (another job for
		// the same environment announced the same revision this second).
		return nil
	case status == http.StatusUnauthorized:
		// A signature mismatch will not fix itself by retrying.
		return river.JobCancel(fmt.Errorf("provider %s rejected the signature: check WAYPOST_WEBHOOK_SECRET on both", prov.ID))
	default:
		return fmt.Errorf("provider %s answered %d", prov.ID, status)
	}
}

// PostWebhook signs and sends body; it returns the response status.
func PostWebhook(ctx context.Context, client *http.Client, url, secret string, body []byte) (int, error) {
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(headerSignature, Sign(secret, now, body))
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// EnqueueWebhooksOnChange makes every change made through st enqueue, in
// the same transaction, one webhook job per live provider and changed
// environment (River InsertManyTx on inserter, a client that knows the
// webhook job: see WebhookJobs). The environments changed are those the
// revision triggers recorded in waypost.changed_environments.
func EnqueueWebhooksOnChange(st *store.Store, inserter *river.Client[pgx.Tx]) {
	st.OnChange(func(ctx context.Context, tx pgx.Tx) error {
		revs, provs, err := store.ChangedInTx(ctx, tx)
		if err != nil || len(revs) == 0 {
			return err
		}
		var params []river.InsertManyParams
		for _, p := range provs {
			for _, r := range revs {
				params = append(params, river.InsertManyParams{Args: WebhookArgs{ProviderID: p.ID, EnvironmentID: r.ID, Revision: r.Revision}})
			}
		}
		if _, err := inserter.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("enqueue webhooks: %w", err)
		}
		return nil
	})
}
