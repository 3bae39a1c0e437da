#!/usr/bin/env bash
# The typed API as a user would meet it (issue 10, item 4): generates a Python client from the
# OpenAPI document of a fresh `lvdian serve` on loopback with openapi-python-client, and runs
# .ci/client_check.py, which calls routes through it (participants, a project, a call auction,
# sessions, statistics, meter data, certificates and their listings) and checks that every reply
# parses into a generated model class, with the values expected.
#
#   bash .ci/client.sh            # exits non-zero on any failure
#
# Generation runs with --fail-on-warning: a route whose body the generator cannot type (an empty
# schema, an unsupported content type) fails the script. The CSV meter upload is generated as
# a binary body (`content_type_overrides`), the generator having no text/csv support.
# openapi-python-client is pinned and installed from PyPI once, into the venv that
# .ci/schemathesis.sh uses (~/.cache/lvdian/venv). Uses the debug build of `lvdian`.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lvdian/target}"
CLIENT_VERSION=0.29.1
VENV="${LVDIAN_VENV:-$HOME/.cache/lvdian/venv}"

if [[ "$("$VENV/bin/openapi-python-client" --version 2>/dev/null)" != *"$CLIENT_VERSION"* ]]; then
    echo "installing openapi-python-client $CLIENT_VERSION into $VENV"
    [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "openapi-python-client==$CLIENT_VERSION"
fi

# shellcheck source=.ci/serve.sh
source "$(dirname "$0")/serve.sh"
start_server "client operator"

curl -fsS "$BASE/api/v1/openapi.json" -o "$WORK/openapi.json"
cat >"$WORK/generator.yaml" <<'YAML'
content_type_overrides:
  text/csv: application/octet-stream
YAML
echo "== openapi-python-client $CLIENT_VERSION generate"
# With the venv on PATH, the generator's post-generation hook (ruff, its dependency) runs.
status=0
PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate \
    --path "$WORK/openapi.json" \
    --config "$WORK/generator.yaml" \
    --output-path "$WORK/client/lvdian_client" \
    --meta none \
    --fail-on-warning || status=$?
if [[ $status -ne 0 ]]; then
    echo "== openapi-python-client could not generate a client without warnings (exit $status)"
    exit $status
fi

echo "== the generated client against the server"
if ! "$VENV/bin/python" .ci/client_check.py "$BASE" "$OPERATOR" "$WORK/client"; then
    echo "== the generated client's checks failed; the server's log ends:"
    tail -n 40 "$WORK/serve.log"
    exit 1
fi
