# Stowage backup tool. Build: docker build -t stowage .
# Run:   docker run --rm -e PGPASSWORD -v /host/backups:/app/backup-storage stowage \
#          backup --db postgresql://postgres@db.example.com:5432/postgres
FROM node:20-bookworm-slim

# pg_dump must be of the server's major version or newer: take PostgreSQL 17's client from PGDG,
# which dumps servers 9.2 to 17 (Supabase runs 15 and 17).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg zstd age \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-client-17 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY apps ./apps
RUN npm ci --no-fund --no-audit && npm run build -w @stowage/backup

ENV NODE_ENV=production \
    DEFAULT_STORAGE_TYPE=local_mapped \
    LOCAL_STORAGE_PATH=/app/backup-storage
VOLUME ["/app/backup-storage", "/app/data"]
USER node
ENTRYPOINT ["node", "/app/apps/backup/bin/stowage.js"]
CMD ["--help"]
