# syntax=docker/dockerfile:1
# The gateway image. Build context is the repository root:
#   docker build -f deployments/docker/gateway.Dockerfile -t courierhook/gateway .
#
# Only schemas/, platform/ and gateway/ are copied. The build runs with GOWORK=off in
# gateway/: its go.mod requires *and* replaces the local modules (../schemas,
# ../platform), which is all it needs. go.work is not copied on purpose: it lists
# every module of the repository, and a workspace with missing module folders
# fails to load.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOWORK=off GOFLAGS=-trimpath
# Module files first: the download layer is reused until a go.mod/go.sum changes.
COPY schemas/go.* schemas/
COPY platform/go.* platform/
COPY gateway/go.* gateway/
RUN --mount=type=cache,target=/go/pkg/mod cd gateway && go mod download
COPY schemas/ schemas/
COPY platform/ platform/
COPY gateway/ gateway/
COPY deployments/docker/healthcheck/main.go healthcheck/main.go
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    cd gateway && go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/gateway ./cmd/gateway && \
    cd /src && go build -ldflags "-s -w" -o /out/healthcheck ./healthcheck/main.go && \
    mkdir -p /out/spool

# Static binary, no shell, no package manager, uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
COPY --from=build /out/healthcheck /healthcheck
# The spool directory exists in the image, owned by nonroot, so a volume mounted
# there (compose named volume, Kubernetes emptyDir/PVC with fsGroup) is writable.
COPY --from=build --chown=65532:65532 /out/spool /var/lib/gateway/spool
ENV GATEWAY_ADDR=0.0.0.0:8080 GATEWAY_OPS_ADDR=0.0.0.0:9091 GATEWAY_SPOOL_DIR=/var/lib/gateway/spool
USER nonroot:nonroot
EXPOSE 8080 9091
ENTRYPOINT ["/gateway"]
