#!/usr/bin/env bash
# The shell logic of the GitHub Action (action.yml), one step per subcommand,
# runnable anywhere bash is:
#
#   ci/action.sh cache-key   a key for the cached build: the action's sources and the toolchain
#   ci/action.sh install     cargo install modaudit from this repository, reusing the cached target directory
#   ci/action.sh run         run a scenario; its outputs exit-code and report
#
# Inputs come as environment variables, never pasted into a script:
#   INPUT_SCENARIO   the scenario file (default: the bundled offline quickstart)
#   INPUT_OUT        the run's directory (default: modaudit-report/<scenario file name>)
#   INPUT_ARGS       more arguments for `modaudit run`, separated by spaces or lines
#   MODAUDIT_BIN     a modaudit binary to use instead of the installed one
#   MODAUDIT_ACTION_HOME  where install puts the binary and its target directory
#                    (default ~/.cache/modaudit-action, which action.yml caches)
# Outputs go to the file GITHUB_OUTPUT names (when set) as name=value lines.
#
# Locally, with a binary already built:
#   MODAUDIT_BIN=target/debug/modaudit GITHUB_STEP_SUMMARY=/dev/stdout ci/action.sh run
set -euo pipefail

action_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${MODAUDIT_ACTION_HOME:-$HOME/.cache/modaudit-action}

# output NAME VALUE: one step output (a value is one line).
output() {
  case $2 in *$'\n'* | *$'\r'*)
    echo "error: the output $1 would span lines: $2" >&2
    exit 2
    ;;
  esac
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi
}

cache_key() {
  local digest
  digest=$(
    cd "$action_dir"
    rustc -V
    find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort | while IFS= read -r file; do
      printf '%s ' "$file"
      sha256 <"$file"
    done
  )
  output key "$(printf '%s' "$digest" | sha256 | cut -c1-16)"
}

install() {
  cargo install --locked --path "$action_dir" --root "$home" --target-dir "$home/target"
}

run() {
  local bin=${MODAUDIT_BIN:-}
  if [ -z "$bin" ]; then
    if [ -x "$home/bin/modaudit" ]; then bin=$home/bin/modaudit; else bin=modaudit; fi
  fi
  local scenario=${INPUT_SCENARIO:-$action_dir/scenarios/quickstart.toml}
  local out=${INPUT_OUT:-modaudit-report/$(basename "$scenario" .toml)}
  local args=()
  local extra=${INPUT_ARGS:-}
  read -r -a args <<<"${extra//$'\n'/ }"
  local status=0
  "$bin" run "$scenario" --out "$out" ${args[@]+"${args[@]}"} || status=$?
  output exit-code "$status"
  if [ -f "$out/report.md" ]; then output report "$out/report.md"; else output report ""; fi
  return "$status"
}

case ${1:-} in
  cache-key) cache_key ;;
  install) install ;;
  run) run ;;
  *)
    echo "usage: $0 cache-key | install | run" >&2
    exit 2
    ;;
esac
