# syntax=docker/dockerfile:1
# The taruvi binary in a small, non-root image. Build:
#   docker build --build-arg VERSION=v1.2.3 -t taruvi .
# One image runs every role: serve (default), worker, scheduler, migrate.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a code change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X taruvi.Version=${VERSION}" -o /out/taruvi ./cmd/taruvi

# distroless/static: CA certificates and tzdata, no shell, no package
# manager; runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/taruvi /usr/local/bin/taruvi
USER nonroot:nonroot
ENV TARUVI_HTTP_ADDR=:8000 \
    TARUVI_DATA_DIR=/tmp/taruvi
EXPOSE 8000 9090
ENTRYPOINT ["/usr/local/bin/taruvi"]
CMD ["serve"]
