# syntax=docker/dockerfile:1
# Multi-stage build: dependencies cached in their own layer, a small non-root runtime image.

FROM rust:1-bookworm AS build
WORKDIR /src
# Cache dependencies: build a dummy crate with the real manifests first.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > benches/pipeline.rs && echo 'fn main() {}' > benches/load.rs \
    && echo 'fn main() {}' > benches/store_write.rs && echo 'fn main() {}' > benches/query.rs \
    && cargo build --release --locked --bin logdrain || true
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
