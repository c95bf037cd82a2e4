package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// NewInstance returns one more, not yet started, process of svc: the service's
// environment (same topics, group and Redis prefix) with its own ops address
// and, for a gateway, its own listen address (Proc.URL) and spool directory.
// overrides ("KEY=value") come last and win (os/exec keeps the last value of a
// duplicated key). The pipeline does not track it: AddInstances does.
func (p *Pipeline) NewInstance(svc string, overrides ...string) (*Proc, error) {
	base, ok := p.env[svc]
	if !ok {
		return nil, fmt.Errorf("unknown service %q", svc)
	}
	p.seq[svc]++
	n := p.seq[svc]
	name := svc + "-" + strconv.Itoa(n)
	opsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := slices.Clone(base)
	pr := &Proc{Name: name, Bin: filepath.Join(p.Cfg.BinDir, svc), LogPath: filepath.Join(p.Cfg.WorkDir, name+".log"),
		ReadyURL: "http://" + opsAddr + "/readyz"}
	switch svc {
	case "gateway":
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		pr.URL = "http://" + addr
		env = append(env, "GATEWAY_ADDR="+addr, "GATEWAY_OPS_ADDR="+opsAddr,
			"GATEWAY_SPOOL_DIR="+filepath.Join(p.Cfg.WorkDir, "spool-"+strconv.Itoa(n)))
	case "normalizer":
		env = append(env, "NORMALIZER_OPS_ADDR="+opsAddr)
	case "dispatcher":
		env = append(env, "DISPATCHER_OPS_ADDR="+opsAddr)
	}
	pr.Env = append(env, overrides...)
	return pr, nil
}

// AddInstances starts k more instances of svc at once (so their group joins
// fall into one rebalance where they can), waits until each is ready and
// returns them. Stop stops them with the rest; RemoveInstances stops them earlier.
func (p *Pipeline) AddInstances(ctx context.Context, svc string, k int) ([]*Proc, error) {
	procs := make([]*Proc, 0, k)
	for range k {
		pr, err := p.NewInstance(svc)
		if err != nil {
			return procs, err
		}
		if err := pr.Start(); err != nil {
			return procs, err
		}
		p.extra[svc] = append(p.extra[svc], pr)
		procs = append(procs, pr)
	}
	for _, pr := range procs {
		if err := pr.WaitReady(ctx, 90*time.Second); err != nil {
			return procs, err
		}
	}
	return procs, nil
}

// RemoveInstances stops the k most recently added instances of svc with sig,
// all at once, waits for each (SIGTERM: each drains as on a scale-in) and
// forgets them. The first instance (Procs[svc]) is never removed.
func (p *Pipeline) RemoveInstances(svc string, k int, sig syscall.Signal) error {
	ex := p.extra[svc]
	if k > len(ex) {
		return fmt.Errorf("%s has %d added instances, cannot remove %d", svc, len(ex), k)
	}
	gone := ex[len(ex)-k:]
	p.extra[svc] = ex[:len(ex)-k]
	var wg sync.WaitGroup
	for _, pr := range gone {
		wg.Go(func() { pr.Stop(sig, 40*time.Second) })
	}
	wg.Wait()
	return nil
}

// Instances returns every instance of svc: Procs[svc] first, then the added
// ones in start order.
func (p *Pipeline) Instances(svc string) []*Proc {
	var out []*Proc
	if pr := p.Procs[svc]; pr != nil {
		out = append(out, pr)
	}
	return append(out, p.extra[svc]...)
}
