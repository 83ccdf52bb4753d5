#!/usr/bin/env bash
# Rebuilds internal/web/static/vendor/hpke.js, the browser's HPKE (RFC 9180)
# with the X-Wing KEM, from exact package versions on the npm registry.
#
# Why vendored: the web client has no build step (internal/web), and the
# browser has no HPKE and no ML-KEM in WebCrypto. The key messages of
# docs/PROTOCOL.md ("Key messages") need X-Wing + HKDF-SHA256 + AES-128-GCM,
# which @hpke/core and @hpke/hybridkem-x-wing provide.
#
# Reproducible: every package in the tree is pinned (direct ones by version,
# transitive ones through "overrides"), and each installed tarball's
# integrity must equal the value recorded below, or nothing is written. The
# same inputs and esbuild version give the same file; README.md beside the
# output records what went in and the SHA-256 of what came out.
#
# Usage: scripts/vendor-hpke.sh        (needs node and npm; reaches only the npm registry)
set -euo pipefail
cd "$(dirname "$0")/.."

out=internal/web/static/vendor
esbuild_version=0.28.2

# name@version and the registry's dist.integrity for each tarball we bundle
# or build with. Change a version here and the integrity with it (from
# `npm view NAME@VERSION dist.integrity`).
expected=(
	"@hpke/core@1.9.0 sha512-pFxWl1nNJeQCSUFs7+GAblHvXBCjn9EPN65vdKlYQil2aURaRxfGMO6vBKGqm1YHTKwiAxJQNEI70PbSowMP9Q=="
	"@hpke/hybridkem-x-wing@0.7.0 sha512-95M8gJMperA4iWwHFgsEkmxjKcvAX8M4koheFnT85zXcqLL/vBh4597ucw2wLol6d2dC6gpKp9ZApL4d6hmDzA=="
	"@hpke/common@1.10.1 sha512-moJwhmtLtuxiUzzNp1jpfBfx8yefKoO9D/RCR9dmwrnc7qjJqId1rEtQz+lSlU5cabX8daToMSx/7HayXOiaFw=="
	"@hpke/dhkem-x25519@1.8.0 sha512-S1MWWkAfu+TFxySgv5+2P3O4Mx/jk7BsoplzQaA1s3sfUJVJ2UsZsSzSsMc+FXJumLXncoJFlO6mK6mDGspfmA=="
	"mlkem@2.7.0 sha512-I2bcB5d6jtkdan6MLGOxObpUbidqv0ej+PhbCGnXUqmcGYZ6X8F0qBpU6HE4mvYc81NSznBrVDp+Uc808Ba2RA=="
	"esbuild@0.28.2 sha512-HKVLS8dvII+xoKW9kmqxbRKrnWEXfJJr/FZhhJmiqIB0e053QNYFqOBouTMO/k5sID4MvCiUCvv8b9M4h32wIA=="
)
# The packages whose code ends up in hpke.js (esbuild itself does not).
bundled=("@hpke/core" "@hpke/hybridkem-x-wing" "@hpke/common" "@hpke/dhkem-x25519" "mlkem")

command -v node >/dev/null && command -v npm >/dev/null || {
	echo "vendor-hpke: node and npm are needed (apt-get install -y nodejs npm)" >&2
	exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/package.json" <<EOF
{
  "name": "hotline-vendor-hpke",
  "version": "0.0.0",
  "private": true,
  "dependencies": {
    "@hpke/core": "1.9.0",
    "@hpke/hybridkem-x-wing": "0.7.0",
    "esbuild": "$esbuild_version"
  },
  "overrides": {
    "@hpke/common": "1.10.1",
    "@hpke/dhkem-x25519": "1.8.0",
    "mlkem": "2.7.0"
  }
}
EOF

# --ignore-scripts: no install script runs. esbuild's own only checks its
# platform binary, which npm installs anyway as an optional dependency.
(cd "$work" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

# Every tarball must be the one recorded above, and nothing else may have
# slipped into the bundled part of the tree.
node - "$work/package-lock.json" "${expected[@]}" <<'EOF'
const fs = require("fs");
const [lockPath, ...want] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(lockPath, "utf8"));
const seen = new Map();
for (const [path, p] of Object.entries(lock.packages)) {
  if (!path) continue;
  const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
  seen.set(name, p);
}
let bad = 0;
for (const w of want) {
  const [spec, integrity] = w.split(" ");
  const at = spec.lastIndexOf("@");
  const name = spec.slice(0, at), version = spec.slice(at + 1);
  const p = seen.get(name);
  if (!p || p.version !== version || p.integrity !== integrity) {
    console.error(`vendor-hpke: ${name}: want ${version} ${integrity}, got ${p ? p.version + " " + p.integrity : "nothing"}`);
    bad++;
  }
}
for (const name of seen.keys()) {
  if (name.startsWith("@esbuild/")) continue; // the platform's esbuild binary
  if (!want.some(w => w.startsWith(name + "@"))) {
    console.error(`vendor-hpke: unexpected package in the tree: ${name}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
EOF

# What the web client uses (internal/web/static/e2ee/): the X-Wing suite of
# the key messages, and X25519 for the RFC 9180 test vector.
cat >"$work/entry.mjs" <<'EOF'
export { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
export { XWing } from "@hpke/hybridkem-x-wing";
EOF

# The licences of everything bundled, on top of the file. The noble-hashes
# and noble-curves notices inside the sources are /*! comments, which
# --legal-comments=inline keeps where they are.
{
	echo "/*"
	echo " * hotline vendored HPKE: built by scripts/vendor-hpke.sh; see README.md beside this file."
	echo " * Do not edit: rebuild it."
	for p in "${bundled[@]}"; do
		v=$(node -p "require('$work/node_modules/$p/package.json').version")
		echo " *"
		echo " * ---- $p@$v ----"
		sed -e 's/\*\//* \//g' -e 's/^/ * /' -e 's/ *$//' "$work/node_modules/$p/LICENSE"
	done
	echo " */"
} >"$work/banner.js"

# The sources fall back to Node's "crypto" module only when globalThis.crypto
# is missing; a browser always has it, so that import stays external (and
# is never reached).
(cd "$work" && ./node_modules/.bin/esbuild entry.mjs --bundle --format=esm --platform=browser \
	--target=es2022 --minify --legal-comments=inline --external:crypto \
	--log-level=warning --outfile=hpke.js)

actual_esbuild=$("$work/node_modules/.bin/esbuild" --version)
[ "$actual_esbuild" = "$esbuild_version" ] || { echo "vendor-hpke: esbuild is $actual_esbuild, want $esbuild_version" >&2; exit 1; }

mkdir -p "$out"
cat "$work/banner.js" "$work/hpke.js" >"$work/hpke.full.js"
mv "$work/hpke.full.js" "$out/hpke.js"
sum=$(sha256sum "$out/hpke.js" | cut -d' ' -f1)

{
	echo "# Vendored browser HPKE"
	echo
	echo "\`hpke.js\` is one ES module bundling HPKE (RFC 9180) with the X-Wing KEM"
	echo "(draft-connolly-cfrg-xwing-kem) for the web client's key messages"
	echo "(docs/PROTOCOL.md, \"Key messages\"). It exports \`CipherSuite\`, \`HkdfSha256\`,"
	echo "\`Aes128Gcm\`, \`XWing\` and \`DhkemX25519HkdfSha256\` (the last only for the"
	echo "RFC 9180 test vector). Do not edit it: rebuild it with \`scripts/vendor-hpke.sh\`,"
	echo "which fetches exactly these tarballs from the npm registry, refuses any other"
	echo "integrity, and bundles them with esbuild."
	echo
	echo "| package | version | npm integrity |"
	echo "|---|---|---|"
	for e in "${expected[@]}"; do
		spec=${e%% *}
		integ=${e#* }
		name=${spec%@*}
		ver=${spec##*@}
		echo "| \`$name\` | $ver | \`$integ\` |"
	done
	echo
	echo "All of them are MIT-licensed; their licence texts head \`hpke.js\`. esbuild"
	echo "$esbuild_version builds the file and is not part of it."
	echo
	echo "Build: \`esbuild entry.mjs --bundle --format=esm --platform=browser --target=es2022"
	echo "--minify --legal-comments=inline --external:crypto\` (the Node \`crypto\` fallback"
	echo "is never reached in a browser), with the licence banner prepended."
	echo
	echo "SHA-256 of \`hpke.js\`: \`$sum\`"
	echo
	echo "Checked against published vectors: RFC 9180 A.1.1 (\`testdata/rfc9180-a1-1.json\`)"
	echo "and X-Wing (\`testdata/xwing-kem.json\`), by \`test/browser/trust_test.go\`."
} >"$out/README.md"

echo "vendor-hpke: wrote $out/hpke.js ($(wc -c <"$out/hpke.js") bytes, sha256 $sum)"
