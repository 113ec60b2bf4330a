#!/usr/bin/env bash
# Integrators' gates (issue 13): openapi.yaml must lint clean with Redocly and Spectral, and the
# clients that the usual generators make from it must work:
#   1. redocly lint (recommended ruleset, clients/redocly.yaml)
#   2. spectral lint (spectral:oas, clients/.spectral.yaml)
#   3. TypeScript: openapi-typescript types (clients/typescript/generate.mjs: binary bodies as Blob),
#      clients/typescript/flow.ts (openapi-fetch) type-checked by tsc --strict, then run against a
#      live server
#   4. Python: an openapi-python-client client, clients/python/flow.py checked by mypy --strict and
#      run through that client against a live server
# Tools come pinned from npm (clients/package-lock.json) and PyPI (clients/python/requirements.txt).
# Needs node/npm, Python 3.11+ and the debug binary (cargo build), or AFTERCARE_BIN.
# Quiet on success but for the lint summaries and the flows' output; exits 1 if any gate fails.
#
#   scripts/client_gates.sh                 # the committed openapi.yaml
#   OPENAPI_SPEC=other.yaml scripts/client_gates.sh
#   CLIENT_GATES_SKIP_INSTALL=1 ...         # reuse clients/node_modules and CLIENT_GATES_VENV
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
clients=$root/clients
spec=$(realpath "${OPENAPI_SPEC:-$root/openapi.yaml}")
export AFTERCARE_BIN=${AFTERCARE_BIN:-$root/target/debug/aftercare}
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/client-gates.XXXXXX")
venv=${CLIENT_GATES_VENV:-$work/venv}

# No telemetry, update checks or install-time analytics from the tools.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true DO_NOT_TRACK=1 SCARF_ANALYTICS=false \
  NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

trap 'rm -rf "$work"' EXIT

failed=()
# run WHAT CMD...: the command's output goes to $work/WHAT.log; on failure its last lines are printed.
run() {
  local what=$1; shift
  local log=$work/$what.log status=0
  "$@" >"$log" 2>&1 || status=$?
  [ "$status" -eq 0 ] && return 0
  echo "   failed: $what (exit $status)"
  tail -n "${CLIENT_GATES_LOG_LINES:-40}" "$log" | cut -c1-300 | sed 's/^/    | /'
  return 1
}
# Drop the banners the tools print around their results.
unboxed() { grep -v '[║╔╚]' "$1" | sed '/^\s*$/d'; }

install() {
  [ -n "${CLIENT_GATES_SKIP_INSTALL:-}" ] && [ -d "$clients/node_modules" ] && [ -x "$venv/bin/python" ] && return 0
  # --ignore-scripts: no package needs an install script; one (@scarf/scarf) would only phone home.
  run npm npm ci --prefix "$clients" --ignore-scripts --no-audit --no-fund --loglevel=error || return 1
  [ -x "$venv/bin/python" ] || run venv "$python" -m venv "$venv" || return 1
  run pip "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$clients/python/requirements.txt" || return 1
}

gate_redocly() {
  local status=0
  (cd "$clients" && npx --no-install redocly lint "$spec" --config redocly.yaml --format=stylish) \
    >"$work/redocly.log" 2>&1 || status=$?
  (cd "$clients" && npx --no-install redocly lint "$spec" --config redocly.yaml --format=summary) \
    >"$work/redocly-summary.log" 2>&1 || true
  local counts
  counts=$(unboxed "$work/redocly-summary.log" | awk '$1 == "error" { e += $NF } $1 == "warning" { w += $NF }
    END { printf "%d errors, %d warnings", e, w }')
  echo "== redocly lint (recommended): $counts"
  unboxed "$work/redocly-summary.log" | awk '$1 == "error" || $1 == "warning" { printf "   %-7s %s %d\n", $1, $2, $3 }'
  if [ "$status" -ne 0 ]; then
    # The problems one by one; or, with none counted, whatever made redocly itself fail.
    unboxed "$work/redocly.log" | grep -Ev '^(No configurations|validating|run `)' | tail -n 60 | sed 's/^/    | /'
  fi
  return "$status"
}

gate_spectral() {
  local status=0
  (cd "$clients" && npx --no-install spectral lint "$spec" --ruleset .spectral.yaml --fail-severity=warn \
    --format=text) >"$work/spectral.log" 2>&1 || status=$?
  local errors warnings
  errors=$(awk '$2 == "error"' "$work/spectral.log" | wc -l)
  warnings=$(awk '$2 == "warning"' "$work/spectral.log" | wc -l)
  echo "== spectral lint (spectral:oas): $errors errors, $warnings warnings"
  awk '$2 == "error" || $2 == "warning" { print $2, $3 }' "$work/spectral.log" | sort | uniq -c |
    awk '{ printf "   %-7s %s: %d\n", $2, $3, $1 }'
  if [ "$status" -ne 0 ]; then
    # Without an error or warning line the tool itself failed: show what it said.
    if [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]; then tail -n 40 "$work/spectral.log" | sed 's/^/    | /'; fi
    awk -v spec="$spec" '$2 == "error" || $2 == "warning" { print "    | " substr($0, length(spec) + 2) }' \
      "$work/spectral.log" | head -n 40
  fi
  return "$status"
}

gate_typescript() {
  echo "== TypeScript: openapi-typescript, tsc --strict, flow.ts against the server"
  local generated=$clients/typescript/generated
  rm -rf "$generated" "$clients/typescript/build"
  mkdir -p "$generated"
  # openapi-typescript's Node API, to type binary bodies (photos) as Blob.
  run openapi-typescript node "$clients/typescript/generate.mjs" "$spec" "$generated/aftercare.d.ts" || return 1
  if ! npx --no-install --prefix "$clients" tsc -p "$clients/typescript/tsconfig.json" >"$work/tsc.log" 2>&1; then
    echo "   failed: tsc --strict, $(grep -c 'error TS' "$work/tsc.log") errors; the first:"
    grep 'error TS' "$work/tsc.log" | head -n 40 | cut -c1-300 | sed 's/^/    | /'
    return 1
  fi
  echo "   types generated; flow.ts type-checks under tsc --strict"
  "$python" "$clients/run_flow.py" node "$clients/typescript/build/flow.js" 2>&1 | sed 's/^/   /'
  return "${PIPESTATUS[0]}"
}

gate_python() {
  echo "== Python: openapi-python-client, mypy --strict, flow.py against the server"
  local out=$work/python-client
  # The generator formats its output with the ruff it installs beside itself.
  # Plain tracebacks: the generator's boxed ones bury the one line that says what broke.
  run generate env PATH="$venv/bin:$PATH" _TYPER_STANDARD_TRACEBACK=1 \
    "$venv/bin/openapi-python-client" generate \
    --path "$spec" --config "$clients/python/generator.yaml" --output-path "$out" --fail-on-warning || return 1
  run pip-client "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --no-build-isolation --force-reinstall "$out" || return 1
  run mypy "$venv/bin/mypy" --strict --follow-imports=silent --cache-dir "$work/mypy-cache" \
    "$clients/python/flow.py" || return 1
  echo "   client generated and installed; flow.py type-checks under mypy --strict"
  "$python" "$clients/run_flow.py" "$venv/bin/python" "$clients/python/flow.py" 2>&1 | sed 's/^/   /'
  return "${PIPESTATUS[0]}"
}

gate_compatible() {
  # Nothing published may go: every release's document is kept in clients/published/.
  local status=0 published
  for published in "$clients"/published/openapi-*.yaml; do
    if ! "$venv/bin/python" "$root/scripts/spec_diff.py" "$published" "$spec" >"$work/spec-diff.log" 2>&1; then
      status=1
      echo "   against $(basename "$published"):"; sed 's/^/    | /' "$work/spec-diff.log"
    fi
  done
  echo "== compatibility with the published documents: $([ $status -eq 0 ] && echo "nothing removed or renamed" || echo FAILED)"
  return "$status"
}

echo "client gates on $spec"
install || { echo "client gates: installing the pinned tools failed"; exit 1; }
gate_compatible || failed+=("compatibility")
gate_redocly || failed+=("redocly")
gate_spectral || failed+=("spectral")
gate_typescript || failed+=("typescript")
gate_python || failed+=("python")

if [ ${#failed[@]} -gt 0 ]; then
  echo "client gates FAILED: ${failed[*]}"
  exit 1
fi
echo "client gates passed: compatibility, redocly, spectral, typescript, python"
