# syntax=docker/dockerfile:1
# The dispatcher image. Build context is the repository root:
#   docker build -f deployments/docker/dispatcher.Dockerfile -t courierhook/dispatcher .
#
# Only schemas/, platform/ and dispatcher/ are copied. The build runs with GOWORK=off in
# dispatcher/: its go.mod requires *and* replaces the local modules (../schemas,
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
COPY dispatcher/go.* dispatcher/
RUN --mount=type=cache,target=/go/pkg/mod cd dispatcher && go mod download
COPY schemas/ schemas/
COPY platform/ platform/
COPY dispatcher/ dispatcher/
COPY deployments/docker/healthcheck/main.go healthcheck/main.go
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    cd dispatcher && go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/dispatcher ./cmd/dispatcher && \
    cd /src && go build -ldflags "-s -w" -o /out/healthcheck ./healthcheck/main.go

# Static binary, no shell, no package manager, uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dispatcher /dispatcher
COPY --from=build /out/healthcheck /healthcheck
ENV DISPATCHER_OPS_ADDR=0.0.0.0:9091
USER nonroot:nonroot
EXPOSE 9091
ENTRYPOINT ["/dispatcher"]
