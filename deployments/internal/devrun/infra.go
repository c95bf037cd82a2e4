package devrun

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
)

// embeddedKafka is an in-process Kafka-protocol broker. kafka-go produces, joins
// consumer groups and commits against it; it keeps everything in memory.
type embeddedKafka struct {
	cluster *kfake.Cluster
	addr    string
}

// startKafka listens on 127.0.0.1:port, or on a free port when that one is taken.
func startKafka(port int, log *zap.Logger) (*embeddedKafka, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DefaultNumPartitions(3))
	if err != nil && port != 0 {
		log.Warn("embedded kafka port taken, using a free port", zap.Int("port", port), zap.Error(err))
		c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.DefaultNumPartitions(3))
	}
	if err != nil {
		return nil, fmt.Errorf("starting embedded kafka: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, fmt.Errorf("starting embedded kafka: no listener")
	}
	return &embeddedKafka{cluster: c, addr: addrs[0]}, nil
}

func (k *embeddedKafka) Close() { k.cluster.Close() }

// embeddedRedis is miniredis with its clock driven by a ticker: miniredis expires
// keys only when its clock is advanced, and the normalizer's dedup marks rely on
// TTLs, so without the ticker they would never expire.
type embeddedRedis struct {
	srv  *miniredis.Miniredis
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// startRedis listens on 127.0.0.1:port, or on a free port when that one is taken.
func startRedis(port int, log *zap.Logger) (*embeddedRedis, error) {
	srv := miniredis.NewMiniRedis()
	err := srv.StartAddr(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil && port != 0 {
		log.Warn("embedded redis port taken, using a free port", zap.Int("port", port), zap.Error(err))
		srv = miniredis.NewMiniRedis()
		err = srv.StartAddr("127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("starting embedded redis: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &embeddedRedis{srv: srv, stop: cancel}
	r.wg.Add(1)
	go r.tick(ctx, 250*time.Millisecond)
	return r, nil
}

// tick advances miniredis's clock by the wall time that passed, so TTLs behave as
// they would on a real server (to within one tick).
func (r *embeddedRedis) tick(ctx context.Context, every time.Duration) {
	defer r.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	last := time.Now()
	r.srv.SetTime(last)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.srv.FastForward(now.Sub(last))
			r.srv.SetTime(now)
			last = now
		}
	}
}

func (r *embeddedRedis) Addr() string { return r.srv.Addr() }

func (r *embeddedRedis) Close() {
	r.stop()
	r.wg.Wait()
	r.srv.Close()
}
