#!/usr/bin/env bash
# Gatehouse's web page in headless Chromium (Debian's chromium, driven by
# playwright-core): sign in, no token in document.cookie, a silent refresh
# after the access token expires, cross-site form posts refused, sign out;
# two-factor authentication (enrol, sign in with a code and with a recovery
# code, new codes, turn off); then the pages that mail links lead to (reset,
# verification), which post their token only on the user's click; and a
# sign-in through an identity provider (zitadel/oidc's example OP).
# Screenshots go to webtest/artifacts/. Installs what it needs; fails if it
# cannot.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd "$here" && npm install --no-audit --no-fund --silent)
(cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse && go build -o "$work/testop" ./internal/oidctest/cmd/testop)

port=18790
ttl=3
# The identity provider: zitadel/oidc's example OP, with a login form.
"$work/testop" -addr 127.0.0.1:0 -redirect "http://127.0.0.1:$port/auth/oauth/test/callback" >"$work/idp.json" 2>"$work/idp.log" &
for _ in $(seq 1 100); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
node -e '
  const idp = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(JSON.stringify([{id: "test", name: "Test IdP", issuer: idp.issuer, client_id: idp.client_id, client_secret_env: "TEST_IDP_SECRET"}]));
' "$work/idp.json" >"$work/providers.json"
TEST_IDP_SECRET="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).client_secret)' "$work/idp.json")" \
GATEHOUSE_PROVIDERS_FILE="$work/providers.json" GATEHOUSE_SIGNUP=open \
GATEHOUSE_ADDR="127.0.0.1:$port" GATEHOUSE_DATABASE_URL="sqlite:$work/web.db" GATEHOUSE_ACCESS_TTL="${ttl}s" \
  "$work/gatehouse" serve --demo >"$work/gatehouse.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
rm -rf "$here/artifacts"
node "$here/browser-check.mjs" "http://127.0.0.1:$port" "$ttl" "$here/artifacts" "$work/gatehouse.log" "$work/idp.json" || {
  echo "webtest: server log:"; tail -n 40 "$work/gatehouse.log"; exit 1
}
