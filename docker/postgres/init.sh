#!/bin/sh
# Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d).
# MLflow and Optuna both keep an `alembic_version` table, and Dagster has its own schema: one database each.
# The names come from the same variables the services read, so they are written only in .env.
set -eu
for db in "$DAGSTER_PG_DB" "$MLFLOW_PG_DB" "$OPTUNA_PG_DB"; do
  echo "creating database $db"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -c "CREATE DATABASE \"$db\";"
done
