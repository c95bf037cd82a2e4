package e2e

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// scale is the normalizer-scale and dispatcher-scale fault: under the steady
// load, n-1 more instances of svc start at once (one consumer group: the
// partitions are spread over n members), stay for ScaleHold, then the added
// ones get SIGTERM at once (they drain and leave the group; the first instance
// takes their partitions back). The pause meter marks both steps.
//
// Each step also waits until the broker reports the group Stable with the new
// member count, every member holding a partition (an error after 60 s), and
// notes how long that took from the step: the rebalance time.
func (r *chaosRun) scale(svc string, n int) fault {
	group, topic := r.p.Group(svc), r.p.Topics.Raw
	if svc == "dispatcher" {
		topic = r.p.Topics.Canonical
	}
	return fault{label: fmt.Sprintf("%s-scale 1→%d→1", svc, n), inject: func(ctx context.Context) error {
		up := fmt.Sprintf("1→%d", n)
		r.meter.Mark(up)
		t0 := time.Now()
		if _, err := r.p.AddInstances(ctx, svc, n-1); err != nil {
			return err
		}
		r.logf("%s %s: %d instances ready after %s", svc, up, n, time.Since(t0).Round(10*time.Millisecond))
		took, shares, err := waitGroup(ctx, r.cfg.Brokers, group, topic, n, t0, 60*time.Second)
		if err != nil {
			return err
		}
		r.note("%s %s: group stable after %s, partitions per member %v", svc, up, took.Round(10*time.Millisecond), shares)
		sleep(ctx, r.cfg.ScaleHold-min(took, r.cfg.ScaleHold))
		down := fmt.Sprintf("%d→1", n)
		r.meter.Mark(down)
		t0 = time.Now()
		if err := r.p.RemoveInstances(svc, n-1, syscall.SIGTERM); err != nil {
			return err
		}
		r.logf("%s %s: %d instances stopped (SIGTERM) after %s", svc, down, n-1, time.Since(t0).Round(10*time.Millisecond))
		took, shares, err = waitGroup(ctx, r.cfg.Brokers, group, topic, 1, t0, 60*time.Second)
		if err != nil {
			return err
		}
		r.note("%s %s: group stable after %s, partitions per member %v", svc, down, took.Round(10*time.Millisecond), shares)
		return nil
	}}
}

// gatewayPair is the gateway-pair-sigkill fault: a second gateway (own port and
// spool) starts before the load and a Front round-robins the load over the
// two; under the load the second gateway is SIGKILLed, stays down for
// ScaleHold (the front answers 502 for what it sends there: not acknowledged),
// then restarts on the same port and spool. After the audit the load goes back
// to the first gateway and the second stops.
func (r *chaosRun) gatewayPair() fault {
	var (
		front *Front
		g2    *Proc
	)
	return fault{
		label: "gateway-pair-sigkill",
		setup: func(ctx context.Context) error {
			procs, err := r.p.AddInstances(ctx, "gateway", 1)
			if err != nil {
				return err
			}
			g2 = procs[0]
			if front, err = NewFront(r.p.GatewayURL, g2.URL); err != nil {
				return err
			}
			r.drv.GatewayURL = front.URL()
			r.logf("gateway pair: front %s -> %s, %s", front.URL(), r.p.GatewayURL, g2.URL)
			return nil
		},
		inject: func(ctx context.Context) error {
			r.meter.Mark("kill " + g2.Name)
			g2.Stop(syscall.SIGKILL, 10*time.Second)
			r.logf("gateway pair: %s SIGKILLed, down for %s", g2.Name, r.cfg.ScaleHold)
			sleep(ctx, r.cfg.ScaleHold)
			r.meter.Mark("restart " + g2.Name)
			if err := g2.Start(); err != nil {
				return err
			}
			return g2.WaitReady(ctx, 90*time.Second)
		},
		teardown: func(context.Context) error {
			r.drv.GatewayURL = r.p.GatewayURL
			front.Close()
			r.logf("gateway pair: the front answered 502 to %d requests (backend down; not acknowledged)", front.Failed())
			return r.p.RemoveInstances("gateway", 1, syscall.SIGTERM)
		},
	}
}
