#!/usr/bin/env bash
# Copies the pinned front-end files (package.json / package-lock.json) into static/vendor.
# The copied files are committed: running the portal needs no Node.js and no CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --silent
V=static/vendor
rm -rf "$V" && mkdir -p "$V"/{htmx,bootstrap/css,bootstrap/js,bootstrap-icons/fonts,chartjs,fonts}
cp node_modules/htmx.org/dist/htmx.min.js "$V/htmx/"
cp node_modules/bootstrap/dist/css/bootstrap.min.css "$V/bootstrap/css/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$V/bootstrap/js/"
cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css "$V/bootstrap-icons/"
cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff2 "$V/bootstrap-icons/fonts/"
cp node_modules/chart.js/dist/chart.umd.min.js "$V/chartjs/" 2>/dev/null || cp node_modules/chart.js/dist/chart.umd.js "$V/chartjs/chart.umd.min.js"
for w in 400 700; do
  for s in vietnamese latin latin-ext; do
    cp "node_modules/@fontsource/be-vietnam-pro/files/be-vietnam-pro-$s-$w-normal.woff2" "$V/fonts/"
  done
done
node -e 'const p=require("./package.json").devDependencies;const l=require("./package-lock.json").packages;for(const k of Object.keys(p)){console.log(k+"@"+l["node_modules/"+k].version)}' > "$V/VERSIONS.txt"
