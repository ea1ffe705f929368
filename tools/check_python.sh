#!/bin/sh
# Can PYTHON make the checker's venv? Checked before `make gpu-check` creates anything: Debian
# and Ubuntu ship python3 without ensurepip (the python3-venv package), and a failed
# `python3 -m venv` leaves a half-made folder behind. One line naming what to install for this
# distribution, and the route that needs no venv at all; exit 2.
#   tools/check_python.sh PYTHON
python=${1:-python3}
single="or run the single-file checker, which needs no venv: python3 envcheck.pyz (make dist)"
missing=venv
if ! command -v "$python" >/dev/null 2>&1; then
  what="python3 (3.10 or newer)"
  missing=python
elif ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "gpu-check: $python is $("$python" -V 2>&1); envcheck needs Python 3.10 or newer" >&2
  exit 2
elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  what="venv support for $python"
else
  exit 0
fi
id=$(. /etc/os-release 2>/dev/null && echo "$ID $ID_LIKE")
case " $id " in
  *" debian "* | *" ubuntu "*)
    if [ $missing = python ]; then
      install="sudo apt-get install python3 python3-venv"
    else
      version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
      install="sudo apt-get install python3-venv (for $python: python$version-venv)"
    fi ;;
  *" fedora "* | *" rhel "* | *" centos "*) install="sudo dnf install python3" ;;
  *" suse "* | *" opensuse "*) install="sudo zypper install python3" ;;
  *" alpine "*) install="sudo apk add python3" ;;
  *" arch "*) install="sudo pacman -S python" ;;
  *) install="install $what with your package manager" ;;
esac
echo "gpu-check: no $what here: $install; $single" >&2
exit 2
