# Stowage backup server (`stowage serve`, the web UI and the API on port 3000) and CLI.
#   docker compose up -d            (see docker-compose.yml)
#   docker run --rm -p 3000:3000 -v $PWD/data:/app/data -v /host/backups:/app/backup-storage stowage
#   docker run --rm stowage backup --db postgresql://postgres@db.example.com:5432/postgres --to file:///app/backup-storage
FROM node:20-bookworm-slim

# pg_dump must be of the server's major version or newer, and a restore is best done with the
# matching psql: PostgreSQL 15, 16 and 17 client tools side by side from PGDG (Supabase runs 15 and 17);
# Stowage picks the one that matches each server (/usr/lib/postgresql/<major>/bin).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg zstd age \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-client-15 postgresql-client-16 postgresql-client-17 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY apps ./apps
# better-sqlite3 installs its prebuilt binary for Node 20 (glibc, x64/arm64); the CLI bundle keeps it external.
RUN npm ci --no-fund --no-audit \
 && npm run build -w @stowage/backup \
 && npm run build:web -w @stowage/backup \
 && mkdir -p /app/data /app/backup-storage && chown node:node /app/data /app/backup-storage

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    STOWAGE_DATA_DIR=/app/data \
    DATABASE_URL=file:/app/data/app.db \
    DEFAULT_STORAGE_TYPE=local_mapped \
    LOCAL_STORAGE_PATH=/app/backup-storage
VOLUME ["/app/backup-storage", "/app/data"]
EXPOSE 3000
USER node
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/apps/backup/bin/stowage.js"]
CMD ["serve"]
