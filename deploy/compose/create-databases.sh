#!/usr/bin/env bash
# docker-compose.yml's PostgreSQL, on its first start (/docker-entrypoint-initdb.d): the databases
# of deploy/local/databases.txt (mounted at $LINKDUTY_DATABASES), owned by $POSTGRES_USER, read as
# deploy/local/stack.sh reads them: one name a line, blank lines and # comments ignored.
set -euo pipefail
FILE=${LINKDUTY_DATABASES:-/linkduty/databases.txt}
sql=""
while IFS= read -r line || [[ -n $line ]]; do
  line=${line%%#*}
  line=${line//[[:space:]]/}
  [[ -z $line ]] && continue
  [[ $line =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "$FILE: invalid database name '$line'" >&2; exit 1; }
  sql+="CREATE DATABASE $line OWNER \"$POSTGRES_USER\";"$'\n'
done <"$FILE"
printf '%s' "$sql" | psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres
