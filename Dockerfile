# The dashboard image (compose.yaml). Map assets are copied from pinned npm packages at build
# time (make assets); nothing is fetched at run time.
FROM node:22-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
# --omit=dev: axe-core (package.json devDependencies) is for the accessibility test only.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=assets /src/node_modules ./node_modules
RUN python tools/vendor_assets.py && rm -rf node_modules \
    && useradd --system --home /app dashboard && mkdir -p /app/instance /app/static/tiles \
    && chown dashboard /app/instance /app/static/tiles && chmod 1777 /app/static/tiles
# static/tiles: where ui.serve publishes a street-map archive (MAP_TILE_ARCHIVE, mounted
# read-only anywhere) for the browser to read; writable by whichever user compose runs as.
# Not root. compose.yaml runs the container as the host user who owns ./instance instead
# (`user:`), because a bind-mounted ./instance keeps the host's owner; with plain `docker run -v`,
# pass `--user "$(id -u):$(id -g)"` likewise. The app needs write access to /app/instance only.
USER dashboard
EXPOSE 8501
# ui.serve runs `streamlit run dashboard.py` and warms the pages' imports, boundaries and
# hotspot grid in the same process (ui/serve.py).
CMD ["python", "-m", "ui.serve", "--server.address", "0.0.0.0"]
