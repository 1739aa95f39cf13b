# shellcheck shell=bash
# Shared by the scripts under scripts/lab/ that build Go programs from the Go module proxy through
# a wrapper module: reading `go mod download -json` and `go mod edit -json` output. Source it.

# Read JSON on stdin and print its field $1 (empty if none).
json_field() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String(j[process.argv[1]] ?? ""))' "$1"; }

# Print the go.mod replace lines of file $1 as "OLD[@V]\tNEW[@V]" lines.
go_mod_replaces() {
  go mod edit -json "$1" | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const at = (m) => m.Path + (m.Version ? "@" + m.Version : "");
    for (const r of j.Replace ?? []) console.log(at(r.Old) + "\t" + at(r.New));'
}

# Print the module paths the go.mod file $1 requires, one a line.
go_mod_requires() {
  go mod edit -json "$1" | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of j.Require ?? []) console.log(r.Path);'
}

# The JSON `go mod download -json` prints for module $1 (MOD@VER), run in folder $2 with its errors
# appended to log $3. Fails, printing the proxy's error instead, where the module is not served.
go_module_download() {
  local info err
  info=$(cd "$2" && go mod download -json "$1" 2>>"$3") || true
  if [[ -z $info ]]; then
    err=$(tail -n 1 "$3")
  else
    err=$(json_field Error <<<"$info")
  fi
  [[ -z $err ]] || { printf '%s\n' "$err"; return 1; }
  printf '%s\n' "$info"
}

# Starts a wrapper module in folder $1, module path $2, at the go version of go.mod file $3 but at
# least 1.24, which its tool directive needs. go install refuses a module whose go.mod has replace
# directives: the wrapper requires it and repeats (or maps) those replaces instead.
go_wrapper_module() {
  local goline
  goline=$(go mod edit -json "$3" | json_field Go)
  goline=$(printf '%s\n' 1.24 "$goline" | sort -V | tail -n 1)
  mkdir -p "$1"
  printf 'module %s\n\ngo %s\n' "$2" "$goline" >"$1/go.mod"
}

# In wrapper folder $1: applies the `go mod edit` flags given after the sixth argument, resolves,
# and builds package $4 into file $2 with build tags $5 and ldflags $6, logging to $3. Fails,
# printing which step failed and the log's last lines.
go_wrapper_build() {
  local src=$1 out=$2 log=$3 main=$4 tags=$5 ldflags=$6
  shift 6
  if ! (cd "$src" && go mod edit "$@" && go mod tidy) >>"$log" 2>&1; then
    printf 'go mod tidy failed; last lines of %s:\n%s\n' "$log" "$(tail -n 20 "$log")"
    return 1
  fi
  if ! (cd "$src" && go build -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$out" "$main") >>"$log" 2>&1; then
    printf 'go build failed; last lines of %s:\n%s\n' "$log" "$(tail -n 30 "$log")"
    return 1
  fi
}
