#!/usr/bin/env bash
# Smoke test / living documentation: start etcd + kube-apiserver +
# kube-controller-manager from the cached build on loopback, talk to them with
# kubectl, report timings and RSS, then tear everything down.
#
#   bash test/k8s/smoke-control-plane.sh            # builds first if needed
#   KEEP=1 bash test/k8s/smoke-control-plane.sh     # keep the temp dir (logs)
#
# No admission-plugin flags here: this only proves the control plane starts.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(bash "$HERE/build-control-plane.sh" | tail -1)
D=$(mktemp -d "${TMPDIR:-/tmp}/kib-smoke.XXXXXX")
PIDS=()

log() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
# Stop one process: SIGTERM, then SIGKILL after $2 seconds.
stop() {
  local pid=$1 grace=$2 t0 i
  kill -0 "$pid" 2>/dev/null || return 0
  t0=$(now_ms)
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIGTERM for ${grace}s; SIGKILL"; kill -9 "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
  log "stopped pid $pid in $(($(now_ms) - t0)) ms"
}
# Tear down in reverse start order. Stopping etcd together with (or before)
# kube-apiserver makes the apiserver's graceful shutdown hang on etcd retries
# for minutes (seen: ~4 min), so etcd goes last.
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}" 15; done
  if [[ ${KEEP:-0} == 1 || $rc != 0 ]]; then log "logs kept in $D"; else rm -rf "$D"; fi
  exit "$rc"
}
trap cleanup EXIT INT TERM

# Free loopback ports: bind :0 and let the kernel pick (tiny race, fine here).
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
now_ms() { date +%s%3N; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
wait_for() { # wait_for SECONDS DESC CMD...
  local deadline=$((SECONDS + $1)) desc=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out waiting for $desc"; return 1; }
    sleep 0.2
  done
}

ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); API_PORT=$(free_port)
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$D/certs" # etcd creates its data dir itself (0700)

# --- etcd ------------------------------------------------------------------
t0=$(now_ms)
"$BIN/etcd" --name default --data-dir "$D/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --log-level warn >"$D/etcd.log" 2>&1 &
PIDS+=($!); ETCD_PID=$!
wait_for 30 "etcd /health" curl -sf "http://127.0.0.1:$ETCD_PORT/health"
log "etcd healthy on :$ETCD_PORT after $(($(now_ms) - t0)) ms"

# --- kube-apiserver --------------------------------------------------------
openssl genrsa -out "$D/sa.key" 2048 2>/dev/null
echo "$TOKEN,admin,admin,system:masters" >"$D/tokens.csv"
t0=$(now_ms)
"$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
  --secure-port="$API_PORT" --cert-dir="$D/certs" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$D/sa.key" \
  --service-account-signing-key-file="$D/sa.key" \
  --token-auth-file="$D/tokens.csv" \
  --authorization-mode=RBAC \
  --endpoint-reconciler-type=none \
  >"$D/kube-apiserver.log" 2>&1 &
PIDS+=($!); API_PID=$!
wait_for 120 "kube-apiserver /readyz" \
  curl -skf -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz"
log "kube-apiserver ready on :$API_PORT after $(($(now_ms) - t0)) ms"

KUBECONFIG=$D/admin.kubeconfig
export KUBECONFIG
k() { "$BIN/kubectl" "$@"; }
k config set-cluster local --server="https://127.0.0.1:$API_PORT" --insecure-skip-tls-verify=true >/dev/null
k config set-credentials admin --token="$TOKEN" >/dev/null
k config set-context local --cluster=local --user=admin >/dev/null
k config use-context local >/dev/null

"$BIN/kubectl" --server "https://127.0.0.1:$API_PORT" --token "$TOKEN" --insecure-skip-tls-verify get ns >&2
"$BIN/kubectl" --server "https://127.0.0.1:$API_PORT" --token "$TOKEN" --insecure-skip-tls-verify version >&2

# --- kube-controller-manager ----------------------------------------------
t0=$(now_ms)
"$BIN/kube-controller-manager" --kubeconfig="$KUBECONFIG" \
  --controllers=replicationcontroller,serviceaccount,garbagecollector,namespace \
  --leader-elect=false --secure-port=0 \
  >"$D/kube-controller-manager.log" 2>&1 &
PIDS+=($!); KCM_PID=$!
wait_for 60 "ServiceAccount default/default (serviceaccount controller)" k get sa default -n default
log "kube-controller-manager created default/default ServiceAccount after $(($(now_ms) - t0)) ms"

# The ReplicationController controller creates a pod (Pending: there are no nodes).
k create -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ReplicationController
metadata: {name: smoke}
spec:
  replicas: 1
  selector: {app: smoke}
  template:
    metadata: {labels: {app: smoke}}
    spec: {containers: [{name: nginx, image: "nginx:1.13.8"}]}
EOF
t0=$(now_ms)
wait_for 30 "a pod of rc/smoke" bash -c "[[ -n \$('$BIN/kubectl' get pods -l app=smoke -o name) ]]"
log "rc/smoke got its pod after $(($(now_ms) - t0)) ms"
k get rc,pods >&2

sleep 2
log "RSS: etcd $(rss_mb $ETCD_PID), kube-apiserver $(rss_mb $API_PID), kube-controller-manager $(rss_mb $KCM_PID)"
for f in etcd kube-apiserver kube-controller-manager; do
  n=$(grep -ciE 'deprecat|unknown flag|invalid' "$D/$f.log" || true)
  log "$f.log: $n lines mentioning deprecated/unknown/invalid"
  grep -iE 'deprecat|unknown flag|invalid' "$D/$f.log" | head -5 >&2 || true
done
log "OK"
