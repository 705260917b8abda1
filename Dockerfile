# syntax=docker/dockerfile:1
# callgw and callctl as static binaries on scratch, run as a non-root user.
#
#   docker build -t callgw --build-arg VERSION=v$(cat VERSION) \
#       --build-arg COMMIT=$(git rev-parse --short=7 HEAD) --build-arg DATE=$(date -u +%FT%TZ) .
#   docker run --rm -p 8080:8080 -e CALLGW_HTTP_ADDR=:8080 -e CALLGW_AMQP_URL=amqp://callgw:…@rabbit:5672/callgw \
#       -v ./clients.json:/etc/callgw/clients.json:ro -e CALLGW_AUTH_CLIENTS_FILE=/etc/callgw/clients.json \
#       -e CALLGW_AUTH_SIGNING_KEY="$(head -c 48 /dev/urandom | base64)" callgw gateway
#
# The gateway serves other hosts only with token auth on: without a clients
# file it listens on 127.0.0.1 inside the container, which -p cannot reach
# (docs/security.md, "Before exposing a gateway").
#   docker run --rm -v callgw-pbx1:/var/lib/callgw -e CALLGW_NODE_ID=pbx1 \
#       -e CALLGW_ARI_URL=http://pbx1:8088/ari … callgw worker
#
# The worker keeps its idempotency journal in /var/lib/callgw (CALLGW_STATE_DIR),
# a volume: give each worker its own named volume so the journal outlives the
# container (docs/containers.md).
#
# BINARIES=prebuilt takes the binaries from the build context's out/ instead of
# compiling them in golang:… (scripts/container-test.sh, where no image can be
# pulled); the default compiles them here. deploy/docker_test.go checks the
# shape, and builds and runs the image when a Docker daemon answers.
ARG GO_VERSION=1.26
ARG BINARIES=build

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/callgw ./cmd/callgw \
 && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o /out/callctl ./cmd/callctl \
 && cp deploy/container/passwd deploy/container/group /etc/ssl/certs/ca-certificates.crt /out/ \
 && mkdir -m 0700 /out/state

# The same /out, built outside: callgw, callctl, passwd, group,
# ca-certificates.crt and an empty state/.
FROM scratch AS prebuilt
COPY out/ /out/

FROM ${BINARIES} AS binaries

FROM scratch
COPY --from=binaries /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binaries /out/passwd /etc/passwd
COPY --from=binaries /out/group /etc/group
COPY --from=binaries /out/callgw /out/callctl /usr/local/bin/
COPY --from=binaries --chown=65532:65532 /out/state /var/lib/callgw
ENV CALLGW_STATE_DIR=/var/lib/callgw
VOLUME /var/lib/callgw
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/callgw"]
CMD ["gateway"]
