# syntax=docker/dockerfile:1
# callgw and callctl as static binaries on scratch, run as a non-root user.
#
#   docker build -t callgw --build-arg VERSION=v$(cat VERSION) \
#       --build-arg COMMIT=$(git rev-parse --short=7 HEAD) --build-arg DATE=$(date -u +%FT%TZ) .
#   docker run --rm -p 8080:8080 -e CALLGW_AMQP_URL=amqp://callgw:…@rabbit:5672/callgw callgw gateway
#   docker run --rm -e CALLGW_NODE_ID=pbx1 -e CALLGW_ARI_URL=http://pbx1:8088/ari … callgw worker
#
# deploy/deploy_test.go builds it when a Docker daemon answers.
ARG GO_VERSION=1.26
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
 && echo 'callgw:x:65532:65532:callgw:/:/sbin/nologin' > /out/passwd \
 && echo 'callgw:x:65532:' > /out/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build /out/callgw /out/callctl /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/callgw"]
CMD ["gateway"]
