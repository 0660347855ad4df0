# The system packages the test suite uses, in one place: sourced by tools/test.sh (`deno task test`) and .ci/run.
# None is a runtime dependency of the toolkit: `deno task demo` needs only Deno. A test group whose tool is
# missing is skipped and listed at the end of `deno task test` (tests/tools.ts).
#
# Debian packages: espeak-ng (synthetic accent corpus), python3-torch / python3-sklearn (parity references),
# jupyter-nbconvert + nbclient + ipykernel (headless notebooks), chromium (report screenshot check), sox and lame
# (audio fixtures: FLAC, WAV, MP3), slurm-wlm + munge (a single-node Slurm cluster for
# tests/experiment_slurm_test.ts, started by tools/slurm-up.sh), wabt (wat2wasm: the WebAssembly kernels rebuilt
# from source in tests/probe_kernels_test.ts).
APT_PACKAGES=(espeak-ng python3-torch python3-sklearn jupyter-nbconvert python3-nbclient python3-ipykernel chromium
  sox lame slurm-wlm munge wabt)
# pyarrow, a Parquet reader other than the writer (tests/formats_parquet_test.ts): Debian does not package it, so
# it goes into a private folder put on PYTHONPATH.
PYLIB="${HOME:-/tmp}/.cache/nac-sae-ci/pylib"

# The Debian packages of APT_PACKAGES not installed, one per line.
missing_apt_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

have_pyarrow() {
  python3 -c 'import pyarrow' >/dev/null 2>&1 || PYTHONPATH="$PYLIB" python3 -c 'import pyarrow' >/dev/null 2>&1
}

# The one command that installs everything missing (empty when nothing is).
install_command() {
  local missing
  missing=$(missing_apt_packages | tr '\n' ' ')
  local cmd=""
  [ -n "$missing" ] && cmd="sudo apt-get update && sudo apt-get install -y ${missing% }"
  if ! have_pyarrow; then
    cmd="${cmd:+$cmd && }python3 -m pip install --target $PYLIB pyarrow"
  fi
  echo "$cmd"
}

# Installs what is missing when it can: apt-get as root or through passwordless sudo, pyarrow with pip into
# PYLIB (a failed pip try is not repeated for a day). Prints what it does; returns 0 when nothing is missing after.
# Exports PYTHONPATH with PYLIB first.
install_test_dependencies() {
  local prefix=${1:-deps} missing sudo=""
  mapfile -t missing < <(missing_apt_packages)
  if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
    fi
    if [ "$sudo" != "none" ]; then
      echo "$prefix: installing Debian packages: ${missing[*]}" >&2
      export DEBIAN_FRONTEND=noninteractive
      $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null ||
        echo "$prefix: apt-get install failed" >&2
    fi
  fi
  local marker="$PYLIB.pip-failed"
  if ! have_pyarrow && ! [ -n "$(find "$marker" -mmin -1440 2>/dev/null)" ]; then
    echo "$prefix: installing pyarrow into $PYLIB" >&2
    mkdir -p "$(dirname "$PYLIB")"
    if python3 -m pip install -q --disable-pip-version-check --retries 0 --timeout 10 --target "$PYLIB" pyarrow \
      >/dev/null 2>&1; then rm -f "$marker"; else
      echo "$prefix: pip could not install pyarrow (offline?); not tried again for a day" >&2
      touch "$marker"
    fi
  fi
  export PYTHONPATH="$PYLIB${PYTHONPATH:+:$PYTHONPATH}"
  [ -z "$(install_command)" ]
}
