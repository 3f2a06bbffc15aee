#!/usr/bin/env bash
# A stand-in for the Lambda python3.13 image, built offline, for `sam local` on machines that
# reach no container registry (CI here). Prints the image's name on stdout; pass it as
#
#   sam local invoke ... --invoke-image "$(scripts/lambda_image.sh)" --skip-pull-image
#
# SAM adds its own runtime interface emulator (shipped in the SAM CLI) and the layers on top.
# The recipe: a Debian bookworm root filesystem (debootstrap, minbase, from the Debian mirror
# apt uses) with the libraries CPython needs; this machine's CPython 3.13 (the .venv's base
# interpreter) copied in at the same path, /var/lang/bin/python3.13 pointing at it;
# awslambdaric and boto3 (the .venv's version) in /var/runtime; a /var/runtime/bootstrap that
# runs awslambdaric with Lambda's path (/var/task, /opt/python, /var/runtime).
#
# The image is tagged with a hash of this recipe and built only when no image has that tag,
# so a second run costs a `docker image inspect`. Needs Linux, root (debootstrap), Docker,
# and the network to the Debian mirror and PyPI for the first build.
set -euo pipefail
cd "$(dirname "$0")/.."

AWSLAMBDARIC=4.2.2
SUITE=bookworm
LIBRARIES=libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libuuid1,zlib1g,ca-certificates
venv_python=.venv/bin/python

say() { echo "lambda_image.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[[ -x $venv_python ]] || die "$venv_python is missing; run 'make venv' first"
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (is dockerd running?)"

# The interpreter that goes into the image: the one the .venv was made from.
prefix=$("$venv_python" -c 'import sys; print(sys.base_prefix)')
version=$("$venv_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
boto3=$("$venv_python" -c 'from importlib.metadata import version; print(version("boto3"))')
[[ $version == 3.13 ]] || die "the .venv runs Python $version; the Lambda runtime is 3.13"
[[ -x $prefix/bin/python3.13 ]] || die "no $prefix/bin/python3.13 to copy into the image"

recipe=$( {
  cat "$0"
  "$prefix/bin/python3.13" -VV
  echo "$prefix $boto3 $(uname -m)"
} | sha256sum | cut -c1-12)
image="herald-lambda-python3.13:$recipe"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

# The Debian mirror apt already uses (sources.list, or deb822 .sources), else Debian's CDN.
debian_mirror() {
  local url
  url=$(awk -v suite="$SUITE" '$1 == "deb" && $3 == suite {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null || true)
  [[ -n $url ]] || url=$(awk -v suite="$SUITE" '
    /^URIs:/ {uri = $2}
    /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == suite) {print uri; exit}}' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  echo "${url:-http://deb.debian.org/debian}"
}

[[ $(id -u) == 0 ]] || die "building the image needs root (debootstrap); run it with sudo"
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || die "debootstrap is not installed and there is no apt-get"
  say "installing debootstrap (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

work=$(mktemp -d /var/tmp/herald-lambda-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
started=$SECONDS

mirror=$(debian_mirror)
say "building $image: debootstrap $SUITE from $mirror"
if ! debootstrap --variant=minbase --include="$LIBRARIES" "$SUITE" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap failed"
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

say "copying CPython from $prefix"
tar -C / -cf - \
  --exclude="${prefix#/}/lib/python3.13/test" \
  --exclude="${prefix#/}/lib/python3.13/site-packages/*" \
  --exclude="${prefix#/}/lib/python3.13/config-3.13-*" \
  --exclude="${prefix#/}/lib/python3.13/idlelib" \
  --exclude="${prefix#/}/lib/python3.13/tkinter" \
  --exclude="${prefix#/}/lib/python3.13/turtledemo" \
  "${prefix#/}" | tar -C "$root" -xf -
mkdir -p "$root/var/lang/bin" "$root/var/task" "$root/opt"
ln -s "$prefix/bin/python3.13" "$root/var/lang/bin/python3.13"

say "installing awslambdaric==$AWSLAMBDARIC boto3==$boto3 into /var/runtime"
"$venv_python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  --target "$root/var/runtime" "awslambdaric==$AWSLAMBDARIC" "boto3==$boto3"

cat >"$root/var/runtime/bootstrap" <<'SH'
#!/bin/sh
# Started by the runtime interface emulator; the handler is app.lambda_handler.
export PYTHONPATH=/var/task:/opt/python:/var/runtime
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
SH
chmod 755 "$root/var/runtime/bootstrap"

tar -C "$root" -cf - . | docker import \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/var/runtime/bootstrap"]' \
  --message "herald: stand-in for the Lambda python3.13 image (scripts/lambda_image.sh)" \
  - "$image" >/dev/null
say "built $image in $((SECONDS - started))s"
echo "$image"
