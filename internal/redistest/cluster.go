package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Cluster is a local Redis Cluster of masters without replicas, each a
// Server on its own loopback port.
type Cluster struct {
	// Addrs are the masters' addresses.
	Addrs []string
	// Nodes are the masters.
	Nodes []*Server

	tb testing.TB
}

// StartCluster starts masters redis-server processes with cluster mode on
// (at least 3, as redis-cli requires), joins them with
// `redis-cli --cluster create`, and waits until every node reports
// cluster_state:ok and knows all the others. The servers stop when the test
// ends.
func StartCluster(tb testing.TB, masters int, opts ...Option) *Cluster {
	tb.Helper()
	if masters < 3 {
		tb.Fatalf("redistest: a cluster needs at least 3 masters, not %d", masters)
	}
	cli := Binary(tb, "redis-cli")
	var c config
	for _, o := range opts {
		o(&c)
	}
	cl := &Cluster{tb: tb}
	for range masters {
		s := start(tb, c, func(int) []string {
			// The bus port defaults to port+10000, which may be taken; pick
			// a free one of its own.
			bus, err := freePort()
			if err != nil {
				tb.Fatalf("redistest: %v", err)
			}
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000",
				"--cluster-port", strconv.Itoa(bus),
			}
		})
		cl.Nodes = append(cl.Nodes, s)
		cl.Addrs = append(cl.Addrs, s.Addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, cl.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, s := range cl.Nodes {
		err := waitFor(ctx, nil, func(ctx context.Context) error { return clusterReady(ctx, s.Addr, masters) })
		if err != nil {
			tb.Fatalf("redistest: cluster node %s not ready: %v", s.Addr, err)
		}
	}
	return cl
}

// clusterReady asks one node for CLUSTER INFO and checks that the cluster is
// ok, every slot is served and the node knows every master.
func clusterReady(ctx context.Context, addr string, masters int) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	want := map[string]string{
		"cluster_state":       "ok",
		"cluster_slots_ok":    "16384",
		"cluster_known_nodes": strconv.Itoa(masters),
		"cluster_size":        strconv.Itoa(masters),
	}
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if w, tracked := want[k]; ok && tracked {
			if v != w {
				return fmt.Errorf("%s is %s, want %s", k, v, w)
			}
			delete(want, k)
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("CLUSTER INFO lacks %v", want)
	}
	return nil
}

// Client returns a cluster client seeded with every master, closed when the
// test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
