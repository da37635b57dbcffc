# syntax=docker/dockerfile:1
# Multi-stage build: dependencies cached in their own layer, a small non-root runtime image.

FROM rust:1-bookworm AS build
WORKDIR /src
# Cache dependencies: build a dummy crate from the real manifests first. .ci/dummy-crate puts an
# empty lib and a `fn main() {}` at every target the manifest declares, so this step fails loudly
# (nothing hides a failure) if it ever stops building; .ci/run builds the same layout.
COPY Cargo.toml Cargo.lock ./
COPY .ci/dummy-crate /usr/local/bin/dummy-crate
RUN dummy-crate && cargo build --release --locked --bin logdrain
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin logdrain

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app logdrain
COPY --from=build /src/target/release/logdrain /usr/local/bin/logdrain
USER logdrain
WORKDIR /app
ENV LOGDRAIN_LISTEN=0.0.0.0:8080 LOGDRAIN_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS "http://127.0.0.1:${PORT:-8080}/healthz" || exit 1
# Migrations run on start; DATABASE_URL must point at a Postgres server.
CMD ["logdrain", "serve"]
