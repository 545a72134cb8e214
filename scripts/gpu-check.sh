#!/usr/bin/env bash
# Runs on the GPU machine through the device tool, from what scripts/gpu-pack.sh prepared (carry .device and .gl):
# the WebGPU adapter, the CIFAR-10 loader's rate on the main thread and in its worker pool, parity with PyTorch on
# webgpu, kernels and GPU dispatches per training step, training img/s at batch 64 and 256 for stock
# tfjs-backend-webgpu and for ours beside the stock and PyTorch figures, and where a step's time goes. Output also
# lands in $OUT/gpu-check.log. Arguments go to the check: `--tiny` runs every section at a size a software adapter
# manages (on a machine without a GPU: bash scripts/gpu-pack.sh && bash scripts/gpu-check.sh --tiny).
set -euo pipefail
cd "$(dirname "$0")/.."
# The Vulkan and EGL loaders, unpacked beside the check rather than into the system.
gl=/tmp/skipnet/gl
mkdir -p "$gl"
for f in .gl/*.deb; do dpkg -x "$f" "$gl"; done
export LD_LIBRARY_PATH="$gl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then
  export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true; fi
xz -dc .device/node.xz >/tmp/skipnet/node && chmod +x /tmp/skipnet/node
xz -dkf .device/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cd .device
/tmp/skipnet/node gpu-check.js "$@" 2>&1 | tee "${OUT:-/tmp}/gpu-check.log"
