// Package demo drives a running pipeline the way providers would: it posts every
// seed payload with valid demo authentication to the gateway, then reads the
// canonical topic from the beginning (partition readers, no consumer group, so it
// never disturbs the services' offsets) and prints each canonical event compactly.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// Options configure one demo run.
type Options struct {
	// GatewayURL is the gateway's webhook base URL ("http://127.0.0.1:8080").
	GatewayURL string
	// Brokers and Topic locate the canonical topic.
	Brokers []string
	Topic   string
	// Payloads are posted in order.
	Payloads []seed.Payload
	// Credentials authenticate each provider's requests.
	Credentials seed.Credentials
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Idle ends the run when no event arrived for this long after every post was
	// answered (and at least one event was seen, or Timeout passed).
	Idle time.Duration
	// LookupURL, when set, is the normalizer's lookup API (its ops listener): the
	// run ends by printing the lookup of one shipment and one webhook it posted.
	// LookupToken is its bearer token, if any.
	LookupURL, LookupToken string
}

// Summary is what a run saw.
type Summary struct {
	// Posted is the number of requests sent; Accepted answered 2xx.
	Posted, Accepted int
	// Events is the number of canonical events read (the whole topic, earlier runs
	// included); FromThisRun came from this run's requests (matched by request id).
	Events, FromThisRun int
	// ByStatus counts events per canonical status.
	ByStatus map[string]int
}

// ErrNoEvents means the canonical topic stayed empty for the whole run.
var ErrNoEvents = errors.New("no canonical events arrived")

// Run posts the payloads and prints the events to out until Idle or Timeout.
func Run(ctx context.Context, opts Options, out io.Writer) (Summary, error) {
	sum := Summary{ByStatus: map[string]int{}}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	events := make(chan kafka.Message, 256)
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var wg sync.WaitGroup
	if err := consume(cctx, opts.Brokers, opts.Topic, events, &wg); err != nil {
		return sum, err
	}
	defer wg.Wait()
	defer stopConsumers()

	requests := map[string]string{} // request id -> provider/case
	client := &http.Client{Timeout: 10 * time.Second}
	for _, p := range opts.Payloads {
		sum.Posted++
		code, reqID, err := post(ctx, client, opts, p)
		label := p.Provider + "/" + p.Name
		if err != nil {
			return sum, fmt.Errorf("posting %s to %s (is `make run` up?): %w", label, opts.GatewayURL, err)
		}
		if code/100 == 2 {
			sum.Accepted++
			if reqID != "" {
				requests[reqID] = label
			}
		}
		fmt.Fprintf(out, "POST %-40s -> %d  %s\n", label, code, reqID)
	}
	fmt.Fprintf(out, "posted %d (%d accepted); canonical events on %s:\n", sum.Posted, sum.Accepted, opts.Topic)

	seen := map[string]bool{}
	var target lookupTarget
	done := func() (Summary, error) {
		sum, err := finish(sum, out)
		// ctx may have timed out; the lookups get their own bound.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		printLookups(lctx, opts, target, out)
		return sum, err
	}
	idle := time.NewTimer(opts.Idle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return done()
		case <-idle.C:
			if sum.Events > 0 {
				return done()
			}
			idle.Reset(opts.Idle)
		case m := <-events:
			var ev shipment.Event
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				fmt.Fprintf(out, "  ? p%d@%d undecodable event: %v\n", m.Partition, m.Offset, err)
				continue
			}
			sum.Events++
			sum.ByStatus[string(ev.Data.Status)]++
			from := requests[ev.Data.Raw.RequestID]
			if from != "" {
				sum.FromThisRun++
				seen[ev.Data.Raw.RequestID] = true
				if target.request == "" {
					target = lookupTarget{provider: ev.Data.Provider, shipment: ev.Data.ShipmentID, request: ev.Data.Raw.RequestID}
				}
			}
			fmt.Fprintln(out, "  "+Line(ev, from))
			if len(requests) > 0 && len(seen) == len(requests) {
				// Every accepted request has shown up; wait only briefly for more.
				idle.Reset(min(opts.Idle, time.Second))
			} else {
				idle.Reset(opts.Idle)
			}
		}
	}
}

func finish(sum Summary, out io.Writer) (Summary, error) {
	statuses := make([]string, 0, len(sum.ByStatus))
	for s, n := range sum.ByStatus {
		statuses = append(statuses, fmt.Sprintf("%s=%d", s, n))
	}
	sort.Strings(statuses)
	fmt.Fprintf(out, "summary: posted %d, accepted %d, events %d (%d from this run)  %s\n",
		sum.Posted, sum.Accepted, sum.Events, sum.FromThisRun, strings.Join(statuses, " "))
	if sum.Events == 0 {
		return sum, ErrNoEvents
	}
	return sum, nil
}

// Line renders one canonical event on one line: provider, shipment, status and
// sub-status, the provider's own status, whether it advances the shipment, and the
// seed payload it came from when known.
func Line(ev shipment.Event, from string) string {
	d := ev.Data
	status := string(d.Status)
	if d.SubStatus != "" {
		status += "/" + d.SubStatus
	}
	s := fmt.Sprintf("%-11s %-28s %-36s provider_status=%q advances=%t", d.Provider, d.ShipmentID, status, d.ProviderStatus, d.Advances)
	if d.Terminal {
		s += " terminal"
	}
	if from != "" {
		s += "  <- " + from
	}
	return s
}

func post(ctx context.Context, client *http.Client, opts Options, p seed.Payload) (code int, reqID string, err error) {
	req, err := opts.Credentials.Request(ctx, opts.GatewayURL, p.Provider, p.Body)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Request-Id"), nil
}

// consume starts one reader per partition of topic at the first offset, sending
// every record to events until ctx ends.
func consume(ctx context.Context, brokers []string, topic string, events chan<- kafka.Message, wg *sync.WaitGroup) error {
	if len(brokers) == 0 {
		return errors.New("no kafka brokers")
	}
	d := &kafka.Dialer{Timeout: 5 * time.Second}
	parts, err := d.LookupPartitions(ctx, "tcp", brokers[0], topic)
	if err != nil {
		return fmt.Errorf("looking up %s on %v (is `make run` up?): %w", topic, brokers, err)
	}
	if len(parts) == 0 {
		return fmt.Errorf("topic %s has no partitions on %v", topic, brokers)
	}
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: brokers, Topic: topic, Partition: p.ID,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond, Dialer: d,
		})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			return fmt.Errorf("seeking %s/%d: %w", topic, p.ID, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				select {
				case events <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return nil
}
