"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com,
for machines that reach PyPI but not that host (this project's CI). It bootstraps pip from the
interpreter's bundled ensurepip, then installs what get-pip.py would have installed. ansible-test
runs it as `python get_pip.py [pip options] pip==X`; the sanity tests themselves are unchanged."""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
