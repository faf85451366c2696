# kgw in a container: `docker build -t kgw .` then
# `docker run -p 9092:9092 -v kgw-data:/data kgw` (see the README).
# tests/test_dockerfile.py runs this file's install and start commands in a
# fresh virtual environment, so keep them to the forms it reads: COPY from
# the source tree, one RUN doing `pip install`, exec-form (JSON) commands.
FROM python:3.11-slim

COPY pyproject.toml setup.cfg setup.py README.md /src/
COPY protocol /src/protocol/
COPY kgw /src/kgw/
RUN pip install --no-cache-dir --root-user-action=ignore /src && rm -rf /src

# kgw runs as an unprivileged user that owns only its data directory.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home kgw \
    && mkdir /data && chown kgw:kgw /data
VOLUME /data
USER kgw
WORKDIR /data

# Every `kgw serve` option reads a KGW_* variable. Clients are told to come
# back to KGW_ADVERTISED_HOST: 127.0.0.1 suits `docker run -p 9092:9092` from
# the host; other containers need the name they reach kgw by (see the README).
# KGW_BOOTSTRAP is where `kgw health` and the other kgw client commands connect.
ENV KGW_HOST=0.0.0.0 \
    KGW_PORT=9092 \
    KGW_DATA_DIR=/data \
    KGW_ADVERTISED_HOST=127.0.0.1 \
    KGW_BOOTSTRAP=127.0.0.1:9092
EXPOSE 9092

# Healthy once the broker answers ApiVersions, as a client's first request.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["kgw", "health"]

# Exec form: kgw is PID 1 and gets `docker stop`'s SIGTERM itself, which it
# answers with a graceful stop (in-flight requests finish, data is fsynced).
STOPSIGNAL SIGTERM
ENTRYPOINT ["kgw"]
CMD ["serve"]
