#!/bin/sh
# make demo: a fresh project in ./demo-project, then the whole story.
set -eu
cd "$(dirname "$0")/.."
rm -rf demo-project
build/txnflow init demo-project
build/txnflow -C demo-project demo
echo
echo "The project is in ./demo-project; try: build/txnflow -C demo-project status"
