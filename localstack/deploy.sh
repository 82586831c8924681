#!/usr/bin/env bash
# Deploys the TES CDK app into a running LocalStack (see docker-compose.yml) and prints how to run
# the black-box suite against it.
#   localstack/deploy.sh [--auth none|cognito] [--endpoint URL] [--dry-run] [--help]
set -euo pipefail

usage() {
  cat <<USAGE
usage: localstack/deploy.sh [--auth none|cognito] [--endpoint URL] [--dry-run] [--help]
  --auth      authentication of the deployed API (default: none; cognito needs LocalStack's paid tier)
  --endpoint  the LocalStack endpoint (default: http://localhost:4566)
  --dry-run   print the commands instead of running them (no Docker or LocalStack needed)
Needs LOCALSTACK_AUTH_TOKEN in the environment (every LocalStack image needs one since 2026-03).
USAGE
}

auth=none
endpoint=http://localhost:4566
dry_run=false
while [ $# -gt 0 ]; do
  case "$1" in
    --auth)
      [ $# -ge 2 ] || { echo "--auth needs a value: none or cognito" >&2; exit 2; }
      case "$2" in none|cognito) auth=$2 ;; *) echo "--auth must be none or cognito, not $2" >&2; exit 2 ;; esac
      shift 2 ;;
    --endpoint)
      [ $# -ge 2 ] || { echo "--endpoint needs a URL" >&2; exit 2; }
      case "$2" in http://*|https://*) endpoint=$2 ;; *) echo "--endpoint must be an http(s) URL, not $2" >&2; exit 2 ;; esac
      shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "${LOCALSTACK_AUTH_TOKEN:-}" ] && [ "$dry_run" = false ]; then
  echo "LOCALSTACK_AUTH_TOKEN is not set: LocalStack needs an auth token (https://docs.localstack.cloud/getting-started/auth-token/)" >&2
  exit 3
fi

export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION=us-east-1
context=(-c "auth=$auth" -c guardDuty=false -c removalPolicy=destroy)

run() {
  if [ "$dry_run" = true ]; then echo "+ $*"; else "$@"; fi
}

cd "$(dirname "$0")/.."
run npx --yes aws-cdk-local@3.0.4 bootstrap "${context[@]}"
run npx --yes aws-cdk-local@3.0.4 deploy --all --require-approval never --outputs-file cdk.out/localstack-outputs.json "${context[@]}"
if [ "$dry_run" = false ]; then
  url=$(node -e "const o=require('./cdk.out/localstack-outputs.json');for(const s of Object.values(o))for(const [k,v] of Object.entries(s))if(k.includes('ApiUrl'))console.log(v)")
  echo "deployed; run the black-box suite against it:"
  echo "  TES_URL=$url npx vitest run infra-tests/tes-api.test.ts infra-tests/tes-list.test.ts infra-tests/compliance.test.ts"
fi
