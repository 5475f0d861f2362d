#!/usr/bin/env bash
# Third-party verifiers against a running Gatehouse, for ES256, EdDSA and
# RS256: panva/jose (Node) and PyJWT (Debian's python3-jwt) must verify its
# tokens through the JWKS, and Gatehouse must refuse the tokens they forge.
# Installs what it needs; fails if it cannot.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

if ! /usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-jwt python3-cryptography >/dev/null
fi
(cd "$here" && npm install --no-audit --no-fund --silent)
(cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse)

port=18700
for alg in ES256 EdDSA RS256; do
  port=$((port + 1))
  issuer="http://127.0.0.1:$port"
  GATEHOUSE_ADDR="127.0.0.1:$port" GATEHOUSE_SIGNING_ALG=$alg GATEHOUSE_DATABASE_URL="sqlite:$work/$alg.db" \
    "$work/gatehouse" serve --demo >"$work/$alg.log" 2>&1 &
  for _ in $(seq 1 100); do curl -sf "$issuer/readyz" >/dev/null && break; sleep 0.1; done
  token=$(curl -sf -X POST "$issuer/auth/login" -d '{"username":"alice","password":"secret123"}' |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  forged=$(node "$here/node-check.mjs" "$issuer" "$alg" "$token"; /usr/bin/python3 "$here/py-check.py" "$issuer" "$alg" "$token")
  n=0
  while read -r f; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$issuer/me" -H "Authorization: Bearer $f")
    [ "$code" = 401 ] || { echo "interop: Gatehouse ($alg) answered $code to a forged token: $f"; exit 1; }
    n=$((n + 1))
  done <<<"$forged"
  echo "interop $alg: node jose and PyJWT verified Gatehouse's token; Gatehouse refused all $n tokens they forged"
done
