#!/usr/bin/env bash
# Runs on the GPU machine through the device tool, from what scripts/gpu-pack.sh prepared (carry .device and .gl):
# WebGPU adapter, parity with PyTorch on webgpu, training img/s at batch 64 and 256 beside the stock tfjs and
# PyTorch figures, and a kernel profile of one step. Output also lands in $OUT/gpu-check.log.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then
  export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
mkdir -p /tmp/skipnet
xz -dc .device/node.xz >/tmp/skipnet/node && chmod +x /tmp/skipnet/node
xz -dkf .device/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cd .device
/tmp/skipnet/node gpu-check.js "$@" 2>&1 | tee "${OUT:-/tmp}/gpu-check.log"
