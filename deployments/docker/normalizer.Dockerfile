# syntax=docker/dockerfile:1
# The normalizer image. Build context is the repository root:
#   docker build -f deployments/docker/normalizer.Dockerfile -t courierhook/normalizer .
#
# Only schemas/, platform/ and normalizer/ are copied. The build runs with GOWORK=off in
# normalizer/: its go.mod requires *and* replaces the local modules (../schemas,
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
COPY normalizer/go.* normalizer/
RUN --mount=type=cache,target=/go/pkg/mod cd normalizer && go mod download
COPY schemas/ schemas/
COPY platform/ platform/
COPY normalizer/ normalizer/
COPY deployments/docker/healthcheck/main.go healthcheck/main.go
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    cd normalizer && go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/normalizer ./cmd/normalizer && \
    cd /src && go build -ldflags "-s -w" -o /out/healthcheck ./healthcheck/main.go

# Static binary, no shell, no package manager, uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/normalizer /normalizer
COPY --from=build /out/healthcheck /healthcheck
ENV NORMALIZER_OPS_ADDR=0.0.0.0:9091
USER nonroot:nonroot
EXPOSE 9091
ENTRYPOINT ["/normalizer"]
