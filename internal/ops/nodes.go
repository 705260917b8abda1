package ops

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgw/callgw/callapi"
)

// nodeStates are the states callgw_node_state has a series for, per node.
var nodeStates = []callapi.NodeState{callapi.NodeUp, callapi.NodeDraining, callapi.NodeDown}

var (
	nodeStateDesc = prometheus.NewDesc("callgw_node_state",
		"1 for the state the gateway's registry gives the node (up, draining, down: announced, or silent for three heartbeat intervals), 0 for the others.",
		[]string{"node", "state"}, nil)
	nodeHealthyDesc = prometheus.NewDesc("callgw_node_ari_connected",
		"1 while the node's last heartbeat says its Asterisk answers ARI and its events WebSocket is connected; 0 otherwise, and for a node that is down.",
		[]string{"node"}, nil)
)

// RegisterNodes exposes, on a gateway, the state and the ARI connectivity
// of every node that nodes returns (the gateway's registry, with each
// node's state at the time of the scrape).
func RegisterNodes(r prometheus.Registerer, nodes func() []callapi.Node) error {
	return r.Register(nodeCollector(nodes))
}

type nodeCollector func() []callapi.Node

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- nodeStateDesc
	ch <- nodeHealthyDesc
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c() {
		for _, st := range nodeStates {
			ch <- prometheus.MustNewConstMetric(nodeStateDesc, prometheus.GaugeValue, bool01(n.State == st), string(n.Node), string(st))
		}
		ch <- prometheus.MustNewConstMetric(nodeHealthyDesc, prometheus.GaugeValue, bool01(n.Healthy && n.State != callapi.NodeDown), string(n.Node))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
