#!/bin/sh
# Copies the browser libraries the web app embeds from npm into
# ../static/vendor, where they are committed: users never run npm. Run it
# after changing a version in package.json (then npm install updates
# package-lock.json) and commit what it copied.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
out=../static/vendor
rm -rf "$out"
mkdir -p "$out"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
cp node_modules/htmx.org/LICENSE "$out/htmx.LICENSE.txt"
cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js "$out/lightweight-charts.js"
cp node_modules/lightweight-charts/LICENSE "$out/lightweight-charts.LICENSE.txt"
echo "copied into $out:"; ls -l "$out"
