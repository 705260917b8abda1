package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
)

// Store is every process's view of the subscriptions: it replays the
// subscriptions stream from its first record and follows it, so a change
// made by any gateway reaches every gateway and delivery process, and all
// survive restarts with the broker.
type Store struct {
	names Names
	log   *zap.Logger
	pub   *amqp.Channel
	sub   *amqp.Channel
	pubMu sync.Mutex

	mu      sync.Mutex
	subs    map[string]*Subscription
	waiting map[string]chan struct{}
	watch   []func(*Subscription)
}

// OpenStore declares the webhook objects, replays the stream and returns
// once it has caught up.
func OpenStore(ctx context.Context, conn *amqp.Connection, n Names, log *zap.Logger) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Store{names: n, log: log.Named("webhook.store"), subs: map[string]*Subscription{}, waiting: map[string]chan struct{}{}}
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := declareBase(ch, n); err != nil {
		_ = ch.Close()
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	s.pub = ch
	if s.sub, err = tailStream(context.Background(), conn, n.Subscriptions(), s.apply); err != nil {
		_ = ch.Close()
		return nil, err
	}
	// A marker record: once it comes back, everything before it is applied.
	if err := s.put(ctx, &Subscription{Rev: uuid.NewString()}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops following the stream.
func (s *Store) Close() {
	_ = s.sub.Close()
	_ = s.pub.Close()
}

// Watch calls fn with every record applied from now on (fn must not block).
func (s *Store) Watch(fn func(*Subscription)) {
	s.mu.Lock()
	s.watch = append(s.watch, fn)
	s.mu.Unlock()
}

func (s *Store) apply(body []byte) {
	var sub Subscription
	if err := json.Unmarshal(body, &sub); err != nil {
		s.log.Warn("undecodable subscription record", zap.Error(err))
		return
	}
	s.mu.Lock()
	if sub.ID != "" {
		if sub.Deleted {
			delete(s.subs, sub.ID)
		} else {
			s.subs[sub.ID] = &sub
		}
	}
	if c, ok := s.waiting[sub.Rev]; ok {
		close(c)
		delete(s.waiting, sub.Rev)
	}
	watch := s.watch
	s.mu.Unlock()
	if sub.ID != "" {
		for _, fn := range watch {
			fn(&sub)
		}
	}
}

// Put appends sub's new state and returns once this store applied it.
func (s *Store) Put(ctx context.Context, sub *Subscription) error {
	sub.Rev = uuid.NewString()
	return s.put(ctx, sub)
}

func (s *Store) put(ctx context.Context, sub *Subscription) error {
	body, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.waiting[sub.Rev] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, sub.Rev)
		s.mu.Unlock()
	}()
	s.pubMu.Lock()
	c, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, "", s.names.Subscriptions(), true, false,
		amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: body})
	s.pubMu.Unlock()
	if err != nil {
		return fmt.Errorf("webhook: store: %w", err)
	}
	if ok, err := c.WaitContext(ctx); err != nil || !ok {
		return fmt.Errorf("webhook: store: broker did not confirm: %v", err)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-done:
		return nil
	case <-wait.Done():
		return fmt.Errorf("webhook: store: record not read back: %w", wait.Err())
	}
}

// Get returns a copy of a subscription.
func (s *Store) Get(id string) (*Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return nil, false
	}
	c := *sub
	return &c, true
}

// List returns copies of the subscriptions of a tenant ("" for all), by
// creation time.
func (s *Store) List(tenant string) []*Subscription {
	s.mu.Lock()
	var out []*Subscription
	for _, sub := range s.subs {
		if tenant == "" || sub.Tenant == tenant {
			c := *sub
			out = append(out, &c)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}
