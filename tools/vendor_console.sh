#!/usr/bin/env bash
# Re-vendor the web console's front-end libraries from the npm registry into package data
# (mismarterad/api/console/vendor/): the minified builds and their licences, nothing else. The
# daemon serves them itself, so the console and /api/docs need no network at run time.
# `npm pack` checks each tarball against the registry's integrity hash. Run from the repo root
# after changing a version below; commit the result.
set -euo pipefail
UPLOT=1.6.32          # the P&L and equity chart (MIT)
SWAGGER_UI=5.36.0     # the OpenAPI docs page at /api/docs (Apache-2.0)
dest=mismarterad/api/console/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$UPLOT" "swagger-ui-dist@$SWAGGER_UI" >/dev/null)
mkdir -p "$work/u" "$work/s"
tar xzf "$work/uplot-$UPLOT.tgz" -C "$work/u"
tar xzf "$work/swagger-ui-dist-$SWAGGER_UI.tgz" -C "$work/s"
rm -rf "$dest" && mkdir -p "$dest/uplot" "$dest/swagger-ui"
cp "$work/u/package/dist/uPlot.iife.min.js" "$work/u/package/dist/uPlot.min.css" "$dest/uplot/"
cp "$work/u/package/LICENSE" "$dest/uplot/LICENSE"
cp "$work/s/package/swagger-ui-bundle.js" "$work/s/package/swagger-ui.css" "$work/s/package/LICENSE" \
   "$work/s/package/NOTICE" "$work/s/package/swagger-ui-bundle.js.LICENSE.txt" "$dest/swagger-ui/"
# the builds name source maps that are not shipped: drop the reference, not a byte of code
sed -i '/^\/\/# sourceMappingURL=/d' "$dest/swagger-ui/swagger-ui-bundle.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$dest/swagger-ui/swagger-ui.css"
printf 'uplot %s\nswagger-ui-dist %s\n' "$UPLOT" "$SWAGGER_UI" > "$dest/VERSIONS"
echo "vendored into $dest:"; find "$dest" -type f -printf '%8s %p\n' | sort -k2
