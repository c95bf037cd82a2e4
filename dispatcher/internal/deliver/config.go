package deliver

import (
	"cmp"
	"errors"
	"time"

	"github.com/courierhook/pipeline/platform/broker"
)

// Config is the delivery runtime's configuration. The dispatcher's app fills it
// from its environment configuration (DISPATCHER_*), where each knob is
// documented with its variable and default.
type Config struct {
	// Kafka is the cluster every reader fetches from and lag is read from.
	Kafka broker.Config
	// Topic is the canonical topic consumed.
	Topic string
	// Group is the consumer group of the canonical topic; the reader of retry
	// tier label L uses Group+".retry."+L.
	Group string
	// MaxInFlight bounds records fetched but not yet done, per consumer: the
	// memory bound. Deliveries never wait on it for a slow sink, because a full
	// lane hands off at once.
	MaxInFlight int
	// CommitInterval is how often done offsets are committed (batched).
	CommitInterval time.Duration
	// FetchMaxWait is how long the broker holds a fetch of the canonical topic
	// that finds nothing; TierFetchMaxWait the same for each retry tier. A fetch
	// is answered as soon as a record arrives, so they cost no latency: they set
	// the idle request rate (one fetch per reader per broker per wait). Zero
	// values take DefaultFetchMaxWait and DefaultTierFetchMaxWait.
	FetchMaxWait, TierFetchMaxWait time.Duration
	// FetchLinger is the canonical reader's broker.GroupReaderOptions.Linger:
	// after a fetch that brought records, the reader waits this long before the
	// next one. Zero turns it off. Retry tiers do not linger.
	FetchLinger time.Duration
	// ShutdownTimeout bounds the drain after ctx ends: in-flight deliveries
	// finish or are handed off; then attempts are aborted.
	ShutdownTimeout time.Duration
}

// Defaults of Config.FetchMaxWait and Config.TierFetchMaxWait: the canonical
// reader is idle only between loads; the tiers are empty almost always, and an
// idle tier costs one fetch per 5 s.
const (
	DefaultFetchMaxWait     = time.Second
	DefaultTierFetchMaxWait = 5 * time.Second
)

// fetchMaxBytes bounds one fetch response of every reader, and with it what a
// reader holds (about this much per leader broker plus its queued records):
// deliveries, not fetches, bound a dispatcher's speed, so a small answer costs
// nothing. (Before the GroupReader read answers itself, kafka-go's decoding
// held 64 KiB pages per record batch: 4 MiB answers peaked at 205 MiB RSS in
// `make bench`'s max step, 1 MiB at 123 MiB.)
const fetchMaxBytes = 1 << 20

// readerOptions are the GroupReader options of the canonical reader (tier
// false) or of a retry tier's.
func (c Config) readerOptions(tier bool) broker.GroupReaderOptions {
	if tier {
		return broker.GroupReaderOptions{MaxWait: cmp.Or(c.TierFetchMaxWait, DefaultTierFetchMaxWait),
			MaxBytes: fetchMaxBytes, PartitionMaxBytes: fetchMaxBytes / 4}
	}
	return broker.GroupReaderOptions{MaxWait: cmp.Or(c.FetchMaxWait, DefaultFetchMaxWait), Linger: c.FetchLinger,
		MaxBytes: fetchMaxBytes, PartitionMaxBytes: fetchMaxBytes / 4}
}

// Validate reports every value that cannot work, joined.
func (c Config) Validate() error {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("deliver: no Kafka brokers"))
	}
	if c.Topic == "" || c.Group == "" {
		errs = append(errs, errors.New("deliver: topic and group must be set"))
	}
	if c.MaxInFlight <= 0 {
		errs = append(errs, errors.New("deliver: MaxInFlight must be positive"))
	}
	if c.CommitInterval <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("deliver: CommitInterval and ShutdownTimeout must be positive"))
	}
	return errors.Join(errs...)
}
