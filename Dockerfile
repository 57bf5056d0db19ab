# syntax=docker/dockerfile:1
# tessera: a gRPC token service. Build: docker build -t tessera:0.1.0 .
# Run:   docker run --rm -p 50051:50051 -v tessera-data:/data tessera:0.1.0
#        (SQLite in /data; the first admin key is written to /data/tessera.db.admin-key)

ARG RUST_VERSION=1
ARG DEBIAN_SUITE=bookworm

# ---- build ------------------------------------------------------------------------------
# The slim Rust image already has gcc and libc6-dev, which the bundled SQLite (built by sqlx's
# libsqlite3-sys) needs; protoc is not needed (build.rs compiles the protos with protox).
FROM rust:${RUST_VERSION}-slim-${DEBIAN_SUITE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds (BuildKit); the binary is
# copied out because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin tessera \
 && install -D -m 0755 target/release/tessera /out/tessera

# ---- runtime ----------------------------------------------------------------------------
# Debian slim rather than distroless: operators read the SQLite admin key with
# `kubectl exec … -- cat /data/tessera.db.admin-key`, which needs a `cat`.
FROM debian:${DEBIAN_SUITE}-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tessera \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tessera \
 && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=build /out/tessera /usr/local/bin/tessera

LABEL org.opencontainers.image.title="tessera" \
      org.opencontainers.image.description="A gRPC token service: issue, introspect, revoke and authorize bearer tokens" \
      org.opencontainers.image.licenses="Apache-2.0"

# Numeric so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
# The default database URL is sqlite://tessera.db, relative to here.
WORKDIR /data
ENV TESSERA_LISTEN=0.0.0.0:50051 \
    TESSERA_HTTP_LISTEN=0.0.0.0:8080 \
    TESSERA_METRICS_LISTEN=0.0.0.0:9464
# gRPC, the OAuth HTTP endpoints, /metrics.
EXPOSE 50051 8080 9464
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve"]
