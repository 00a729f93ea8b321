# HAProxy for compose.yaml, from Debian's package (the version `make cluster` uses on Debian 12).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/*
COPY haproxy.compose.cfg /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 8501
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
