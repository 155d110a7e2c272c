#!/bin/sh
# Primary only, at its first start (docker-entrypoint-initdb.d). `npm run cluster` does the same on
# loopback (test/cluster/topology.ts), with trust instead of passwords.
# - The service role's time limits as role defaults: behind PgBouncer the service sends none at
#   connection (DATABASE_STARTUP_PARAMETERS=off), so statements outside a transaction get these
#   (transactions set their own with SET LOCAL; docs/decisions.md, "Database time limits").
# - The role the streaming replica copies and follows the primary with (pg_basebackup -R).
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
alter role "$POSTGRES_USER" set lock_timeout = '5s';
alter role "$POSTGRES_USER" set statement_timeout = '15s';
alter role "$POSTGRES_USER" set idle_in_transaction_session_timeout = '10s';
create role replicator with replication login password '${REPLICATION_PASSWORD:?}';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
