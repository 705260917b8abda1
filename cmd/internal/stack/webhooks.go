package stack

import (
	"context"
	"os"

	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/internal/ops"
	"github.com/callgw/callgw/restapi"
	"github.com/callgw/callgw/webhook"
)

// webhookNames are the broker objects of webhooks under the deployment's
// prefix.
func webhookNames(prefix string, w config.Webhooks) webhook.Names {
	return webhook.Names{Prefix: prefix, QueueType: w.QueueType}
}

func webhookPolicy(w config.Webhooks) webhook.Policy {
	return webhook.Policy{AllowHTTP: w.AllowHTTP, AllowLoopback: w.AllowLoopback, AllowPrivate: w.AllowPrivate}
}

// serveWebhooks keeps the REST server's /v1/webhooks served from the
// webhook store while ctx lasts (webhook.Serve reconnects).
func serveWebhooks(ctx context.Context, c *config.Common, w config.Webhooks, api *restapi.Server, log *zap.Logger) error {
	host, _ := os.Hostname()
	dial := amqpbus.Dialer(c.AMQPURLs, connName("callgw gateway webhooks "+host, c.Prefix))
	return webhook.Serve(ctx, dial, webhookNames(c.Prefix, w), webhookPolicy(w), log, func(m *webhook.Manager) {
		if m == nil {
			api.SetWebhooks(nil)
			return
		}
		api.SetWebhooks(m)
	})
}

// DeliveryConfig is the webhook.Config of the delivery options.
func DeliveryConfig(prefix string, w config.Webhooks, log *zap.Logger) webhook.Config {
	return webhook.Config{Names: webhookNames(prefix, w), Policy: webhookPolicy(w), Timeout: w.Timeout,
		MaxResponse: int64(w.MaxResponse), RetryBase: w.RetryBase, RetryMax: w.RetryMax, MaxAge: w.MaxAge, Log: log}
}

// RunDelivery runs one webhook delivery process until ctx ends: several
// share the work (each subscription's queue has a single active consumer)
// and take over from each other.
func RunDelivery(ctx context.Context, c *config.Common, w config.Webhooks, log *zap.Logger) error {
	host, _ := os.Hostname()
	dial := amqpbus.Dialer(c.AMQPURLs, connName("callgw webhooks "+host, c.Prefix))
	reg := ops.NewRegistry()
	cfg := DeliveryConfig(c.Prefix, w, log)
	var err error
	if cfg.OnAttempt, err = webhook.Metrics(reg); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- webhook.Deliver(ctx, dial, cfg) }()
	if err := ops.Serve(ctx, c.MetricsAddr, reg, func() error { return nil }, log); err != nil {
		<-done
		return err
	}
	return <-done
}
