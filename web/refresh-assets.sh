#!/usr/bin/env bash
# Refreshes the pages' one third-party asset, uPlot, from the npm registry.
#
# The version is pinned in package.json and package-lock.json (with its integrity hash); this
# installs exactly that with `npm ci` and copies the built files into web/vendor/, where the
# server embeds them with include_bytes!. Building and testing logdrain never needs Node: the
# copied files are committed. To move to a newer uPlot, change the version in package.json,
# run `npm install --package-lock-only` here, then this script, and commit all four files.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
cp node_modules/uplot/dist/uPlot.iife.min.js vendor/uPlot.iife.min.js
cp node_modules/uplot/dist/uPlot.min.css vendor/uPlot.min.css
cp node_modules/uplot/LICENSE vendor/uPlot.LICENSE
echo "uPlot $(node -p "require('./node_modules/uplot/package.json').version") copied into web/vendor/"
