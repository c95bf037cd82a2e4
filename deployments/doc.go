// Package deployments holds the tests that keep the repository's run and operate
// artefacts honest: docker-compose.yml (loaded with the compose-spec library), the
// kustomize base and overlay (rendered with kustomize's Go API), the Grafana
// dashboard and the Prometheus alert rules (checked against the metric names the
// services register). The launcher (cmd/devrun) and the demo client (cmd/demo)
// live under cmd/ and internal/.
package deployments
