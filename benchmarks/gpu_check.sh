#!/usr/bin/env bash
# GPU check, one script, under 5 minutes on an H100/H200:
#   1. a Python with a GPU-enabled JAX: the one given as $PYTHON or python3 if its JAX sees a GPU
#      and is a version this package supports; otherwise a venv .venv-gpu with
#      `pip install -e . "jax[cuda12]>=0.10,<0.11"` (needs the network; $JAX_CUDA=cuda13 for
#      CUDA 13 drivers); offline, the installed GPU JAX whatever its version (with a warning);
#   2. the exact Gaussian, sample Gaussian and categorical kernels at sizes that fill the GPU
#      (benchmarks/gpu_check.py), and the same kernels on this host's CPU (JAX_PLATFORMS=cpu);
#   3. a small run of each kernel on both: bit-identity of the GPU against itself across chunk
#      sizes (required: exit 1 otherwise) and against the CPU (reported: XLA's GPU and CPU
#      transcendental functions may differ in the last ulp);
#   4. the table: GPU cg/s, host CPU cg/s, and the project's 2-core figure beside them.
# Options: --quick (tiny sizes), --allow-cpu (no GPU: run the "GPU" side on the CPU; a dry run).
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK="" ALLOW_CPU=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK="--quick" ;;
    --allow-cpu) ALLOW_CPU=1 ;;
    *) echo "usage: $0 [--quick] [--allow-cpu]" >&2; exit 2 ;;
  esac
done
OUT="${GPU_CHECK_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 COLLAPSE_THEORY_CACHE_DIR="$OUT/cache"
PY="${PYTHON:-python3}"
START=$(date +%s)

gpu_jax() {  # exit 0 if $1's JAX sees a GPU; prints its version
  "$1" - <<'EOF' 2>/dev/null
import jax, sys
print(jax.__version__)
sys.exit(0 if any(d.platform == "gpu" for d in jax.devices()) else 1)
EOF
}
supported() {  # the version range of pyproject.toml
  "$PY" -c "import jax,sys; v=tuple(int(x) for x in jax.__version__.split('.')[:2]); sys.exit(0 if (0,10)<=v<(0,11) else 1)" 2>/dev/null
}

echo "== environment"
command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "(no nvidia-smi)"
if ver=$(gpu_jax "$PY") && supported; then
  echo "using $PY (jax $ver, sees a GPU)"
elif [ -x .venv-gpu/bin/python ] && gpu_jax .venv-gpu/bin/python >/dev/null; then
  PY=.venv-gpu/bin/python; echo "using .venv-gpu"
else
  echo "installing: python3 -m venv .venv-gpu && pip install -e . jax[${JAX_CUDA:-cuda12}]"
  if python3 -m venv .venv-gpu && timeout 240 .venv-gpu/bin/pip install -q -e . "jax[${JAX_CUDA:-cuda12}]>=0.10,<0.11" \
      && gpu_jax .venv-gpu/bin/python >/dev/null; then
    PY=.venv-gpu/bin/python
  elif ver=$(gpu_jax "$PY"); then
    echo "WARNING: no network for the install; using $PY's jax $ver (outside the supported 0.10.x)"
  elif [ "$ALLOW_CPU" = 1 ]; then
    echo "WARNING: no GPU JAX: the GPU side runs on the CPU (--allow-cpu, a dry run)"
  else
    echo "no GPU-enabled JAX could be found or installed" >&2; exit 1
  fi
fi
# the package itself, without installing it (offline machines): its imports must resolve
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import collapse_theory, scipy, numpy" || { echo "collapse_theory does not import with $PY" >&2; exit 1; }

echo "== GPU side"
GPU_SIDE=gpu
[ "$ALLOW_CPU" = 1 ] && ! gpu_jax "$PY" >/dev/null && GPU_SIDE=cpu
"$PY" benchmarks/gpu_check.py --side "$GPU_SIDE" $QUICK --out "$OUT/gpu.json"
echo "== CPU side (this host)"
JAX_PLATFORMS=cpu "$PY" benchmarks/gpu_check.py --side cpu $QUICK --out "$OUT/cpu.json"
echo "== report ($(($(date +%s) - START)) s so far; JSON in $OUT)"
"$PY" benchmarks/gpu_check.py --report "$OUT/cpu.json" "$OUT/gpu.json"
