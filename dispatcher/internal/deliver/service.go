package deliver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/platform/broker"
)

// lagInterval is how often dispatcher_consumer_lag is refreshed from the
// brokers: each round costs 2 + partitions requests per group (canonical
// and one per tier; one more per partition never committed), see
// broker.ExportGroupLag.
const lagInterval = broker.DefaultLagInterval

// Service is the delivery runtime: one Consumer on the canonical topic plus one
// per retry tier, all feeding one Engine. Build it with New, run it once with Run.
type Service struct {
	cfg    Config
	routes *route.File
	table  *route.Table
	sinks  map[string]Sink
	pub    *retry.Publisher
	m      *Metrics
	log    *zap.Logger
}

// New returns the runtime for routes (validated by route.Parse), whose every
// sink has a built Sink of the same name in sinks; failed deliveries go through
// pub, whose tiers decide the retry readers. It does no I/O. The caller keeps
// ownership of pub's and the sinks' writers and closes them after Run returns.
func New(cfg Config, routes *route.File, sinks map[string]Sink, pub *retry.Publisher, m *Metrics, log *zap.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for name := range routes.Sinks {
		if sinks[name] == nil {
			return nil, fmt.Errorf("deliver: sink %q has no implementation", name)
		}
	}
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Service{cfg: cfg, routes: routes, table: route.NewTable(routes), sinks: sinks, pub: pub, m: m, log: log}, nil
}

// Run consumes until ctx ends, then shuts down in order: ready(false), stop
// fetching, drain in-flight deliveries (finish or hand off) within
// ShutdownTimeout (then abort attempts, bounded to 5 s more), commit, close
// readers, stop the lanes. ready(true) is called once every reader exists and
// commits run; ready may be nil. The returned error joins a failed fetch loop,
// failed final commits and reader closes; a clean shutdown returns nil.
func (s *Service) Run(ctx context.Context, ready func(bool)) error {
	if ready == nil {
		ready = func(bool) {}
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	eng := NewEngine(s.routes.Sinks, s.sinks, s.pub, s.m, s.log)

	tiers := s.pub.Tiers()
	groups := map[string]string{s.cfg.Topic: s.cfg.Group} // topic -> consumer group
	canonical, err := broker.NewGroupReader(s.cfg.Kafka, s.cfg.Group, []string{s.cfg.Topic}, s.log, s.cfg.readerOptions(false))
	if err != nil {
		return err
	}
	consumers := []*Consumer{NewConsumer("canonical", canonical, Canonical, s.table, eng, s.cfg, s.m, s.log)}
	// One reader and group per tier (the group names predate this reader, and
	// their committed offsets must carry over); an empty tier costs one fetch
	// per TierFetchMaxWait.
	for i, t := range tiers.Topics() {
		label := retry.Label(tiers.Delay(i))
		groups[t] = s.cfg.Group + ".retry." + label
		r, err := broker.NewGroupReader(s.cfg.Kafka, groups[t], []string{t}, s.log, s.cfg.readerOptions(true))
		if err != nil {
			for _, c := range consumers {
				_ = c.r.Close()
			}
			return err
		}
		consumers = append(consumers, NewConsumer("retry_"+label, r, i, s.table, eng, s.cfg, s.m, s.log))
	}
	eng.Start(workCtx)
	// Lag is each group's uncommitted records (committed vs end offsets), the
	// number KEDA scales on; exported until shutdown.
	lagCtx, stopLag := context.WithCancel(context.Background())
	defer stopLag()
	for topic, group := range groups {
		go broker.ExportGroupLag(lagCtx, s.cfg.Kafka, group, []string{topic}, s.m.lag, lagInterval, s.log)
	}
	commitCtx, stopCommits := context.WithCancel(context.Background())
	var commitWG sync.WaitGroup
	for _, c := range consumers {
		commitWG.Go(func() { c.commitLoop(commitCtx) })
	}
	ready(true)
	s.log.Info("dispatcher started", zap.String("topic", s.cfg.Topic), zap.String("group", s.cfg.Group),
		zap.Strings("sinks", s.sinkNames()), zap.Strings("retry_topics", tiers.Topics()))

	g, gctx := errgroup.WithContext(ctx)
	for _, c := range consumers {
		g.Go(func() error { return c.Fetch(gctx, workCtx) })
	}
	runErr := g.Wait()
	ready(false)
	s.log.Info("fetching stopped; draining in-flight deliveries", zap.Duration("timeout", s.cfg.ShutdownTimeout))

	drained := drainAll(consumers, s.cfg.ShutdownTimeout)
	if !drained {
		// Abort attempts still running; they hand off (bounded) or stay uncommitted.
		s.log.Warn("drain timed out; aborting in-flight attempts")
		stopWork()
		drainAll(consumers, 5*time.Second)
	}
	stopCommits()
	commitWG.Wait()
	stopLag()
	errs := closeAll(consumers)
	stopWork()
	eng.Wait()
	s.log.Info("delivery stopped", zap.Bool("drained", drained))
	return errors.Join(runErr, errs)
}

// drainAll waits up to timeout for every consumer's tracked records to be done.
func drainAll(consumers []*Consumer, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	drained := true
	for _, c := range consumers {
		drained = c.Drain(ctx) && drained
	}
	return drained
}

// closeAll makes each consumer's final commit and closes its reader. They run in
// parallel: closing a reader waits for its fetch in flight (up to the reader's
// MaxWait), and there is one reader per retry tier.
func closeAll(consumers []*Consumer) error {
	var (
		errs  []error
		errMu sync.Mutex
		wg    sync.WaitGroup
	)
	for _, c := range consumers {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var local []error
			if err := c.Commit(cctx); err != nil {
				local = append(local, fmt.Errorf("final commit of %s: %w", c.name, err))
			}
			if err := c.r.Close(); err != nil {
				local = append(local, fmt.Errorf("closing reader %s: %w", c.name, err))
			}
			errMu.Lock()
			errs = append(errs, local...)
			errMu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Service) sinkNames() []string {
	out := make([]string, 0, len(s.sinks))
	for n := range s.sinks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
