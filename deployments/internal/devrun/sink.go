package devrun

// SinkSecret is the documented demo Standard Webhooks secret devrun gives the
// dispatcher (DEVRUN_SINK_SECRET in devrun/routes.yaml) and its webhook receiver
// (deployments/internal/receiver, standing in for a merchant endpoint) verifies
// with. The e2e bench and chaos runs use it too.
const SinkSecret = "whsec_Y291cmllcmhvb2stZGV2cnVuLWRlbW8tc2VjcmV0" // base64("courierhook-devrun-demo-secret")
