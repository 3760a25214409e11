#!/usr/bin/env bash
# Installs the Debian (bookworm) packages inferconf needs, and only those that are missing.
#
#   scripts/install-deps.sh build   # compile and run inferconf
#   scripts/install-deps.sh test    # build + everything the test suite and fuzzers use
#   scripts/install-deps.sh bench   # test + the load-testing tools used by bench/
#
# It asks dpkg first, so a machine that has everything never calls apt-get.
set -euo pipefail

profile=${1:-build}

build_pkgs=(
  g++ cmake ninja-build pkg-config ccache
  nlohmann-json3-dev        # DTOs and JSON mapping
  libsqlite3-dev sqlite3 libsqlitecpp-dev # the embedded store (SQLiteCpp: RAII over the C API)
  libboost-dev              # Boost.Asio / Boost.Beast (HTTP)
  libcli11-dev              # command line
  libspdlog-dev libfmt-dev  # logging, formatting
  libssl-dev                # SHA-256 for API tokens
  libmongoc-dev libbson-dev # the MongoDB store
  zlib1g-dev                # CRC-32 and inflate for PNG text chunks
)
test_pkgs=(
  libgtest-dev libgmock-dev # unit, conformance and end-to-end tests
  python3 python3-mockupdb  # MongoDB wire-protocol peer for contract tests
  clang libfuzzer-14-dev libclang-rt-14-dev # fuzz targets
  curl                      # end-to-end HTTP checks from the shell
)
bench_pkgs=(
  libbenchmark-dev wrk nginx
  libsimdjson-dev           # bench/detect: simdjson DOM/On-Demand timed on the same headers as the detect reader
  time                      # bench/scale.sh: GNU time's peak resident memory of each step
)

case "$profile" in
  build) wanted=("${build_pkgs[@]}") ;;
  test)  wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "install-deps.sh: unknown profile '$profile'; use build, test or bench." >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "Installing missing Debian packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: these packages are missing and this user is not root and has no sudo: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
