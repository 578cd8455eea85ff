#!/usr/bin/env bash
# Installs what mpivae needs to build, test and train on Debian: Open MPI, OpenBLAS, zlib,
# Fashion-MNIST, and numpy + safetensors for the Python interoperability tests.
# With --test, also headless Chromium: a test opens the explanation report in a real browser.
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(pkg-config libopenmpi-dev openmpi-bin libopenblas-dev zlib1g-dev dataset-fashion-mnist python3 python3-numpy)
# The multi-host tests make network namespaces with ip and tc (iproute2).
[ "${1:-}" = "--test" ] && packages+=(chromium iproute2 time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3-numpy is only needed when no numpy is importable (pyenv interpreters bring their own).
if python3 -c "import numpy" 2>/dev/null; then
  missing=("${missing[@]/python3-numpy}")
fi
read -r -a missing <<< "${missing[*]:-}"

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The checkpoint interoperability test reads our files with the reference Python reader.
if ! python3 -c "import safetensors.numpy" 2>/dev/null; then
  echo "setup: installing the safetensors Python package" >&2
  python3 -m pip install --quiet --disable-pip-version-check safetensors >/dev/null 2>&1 \
    || echo "setup: pip could not install safetensors; that interoperability check will be skipped" >&2
fi
