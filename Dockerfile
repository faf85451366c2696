# syntax=docker/dockerfile:1
# kgw in a container: `docker build -t kgw .` then
# `docker run -p 9092:9092 -v kgw-data:/data kgw` (see the README).
# tests/test_dockerfile.py checks this file and runs its install and start
# commands in a fresh virtual environment, so keep them to the forms it
# reads: bind mounts of the build context or of the `metadata` stage, RUN
# lines of useradd/mkdir/chown or pip, exec-form (JSON) commands.

# A full Python version on a named Debian release, so that a rebuild gets
# the same interpreter (append @sha256:<digest> to pin the very bytes).
FROM python:3.11.14-slim-bookworm AS metadata
# The package's metadata alone: what the dependency layer below is built
# from, so that only a change to these files rebuilds it.
COPY pyproject.toml setup.cfg /metadata/

FROM python:3.11.14-slim-bookworm
LABEL org.opencontainers.image.title="kgw" \
      org.opencontainers.image.description="A Kafka-wire-compatible broker in Python" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"

# kgw runs as an unprivileged user that owns only its data directory; made
# first, as it never changes.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home kgw \
    && mkdir /data && chown kgw:kgw /data

# The dependencies, in a layer of their own: pip installs what the metadata
# requires (and kgw itself, without its source yet, which is taken out
# again). Editing kgw's source does not rebuild this layer.
RUN --mount=type=bind,from=metadata,source=/metadata,target=/src,rw \
    pip install --no-cache-dir --root-user-action=ignore /src \
    && pip uninstall --yes --root-user-action=ignore kgw

# kgw itself, from the build context mounted for this one command: no layer
# holds the source (and what the build writes into it is discarded).
RUN --mount=type=bind,target=/src,rw \
    pip install --no-cache-dir --root-user-action=ignore --no-deps /src

VOLUME /data
USER kgw
WORKDIR /data

# Every `kgw serve` option reads a KGW_* variable. Clients are told to come
# back to KGW_ADVERTISED_HOST (and KGW_ADVERTISED_PORT, when the host maps
# another port: `-p 19092:9092 -e KGW_ADVERTISED_PORT=19092`); other
# containers need the name they reach kgw by (see the README). Metrics are
# served on KGW_METRICS_PORT. `kgw health` and the other kgw client commands
# go where the broker listens (KGW_HOST and KGW_PORT), unless KGW_BOOTSTRAP
# says otherwise.
ENV KGW_HOST=0.0.0.0 \
    KGW_PORT=9092 \
    KGW_DATA_DIR=/data \
    KGW_ADVERTISED_HOST=127.0.0.1 \
    KGW_METRICS_PORT=9308
EXPOSE 9092 9308

# Healthy once the broker answers ApiVersions, as a client's first request.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["kgw", "health"]

# Exec form: kgw is PID 1 and gets `docker stop`'s SIGTERM itself, which it
# answers with a graceful stop (in-flight requests finish, data is fsynced).
STOPSIGNAL SIGTERM
ENTRYPOINT ["kgw"]
CMD ["serve"]
