#!/bin/sh
# Primary only, at its first start (docker-entrypoint-initdb.d): the role the streaming replica
# copies and follows the primary with (pg_basebackup -R). `npm run cluster` does the same with trust
# on loopback.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "create role replicator with replication login password '${REPLICATION_PASSWORD:?}'"
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
