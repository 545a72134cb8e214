#!/usr/bin/env bash
# Prepares what scripts/gpu-check.sh needs on the GPU machine, which has no Node and no registry: an xz-compressed
# Node binary, one bundled script with every JavaScript dependency, Dawn's linux-x64 addon, the narrow PyTorch
# fixtures, and the Vulkan/EGL loaders from Debian. Everything lands in .device/ and .gl/ (ignored by git).
# Then, with the device tool: run `bash scripts/gpu-check.sh` carrying [".device", ".gl"], timeout 360 s (a full check
# should take about three minutes on an H200: estimated, not yet measured). Here, without a GPU: `bash
# scripts/gpu-check.sh --tiny` runs every section on the software adapter.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
# Ignored by git without touching .gitignore (a worktree's .git is a file: ask git where the exclude file is).
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
for dir in .device .gl; do grep -qsx "/$dir/" "$exclude" || echo "/$dir/" >>"$exclude"; done

rm -rf .device
mkdir -p .device/node_modules/webgpu/dist/linux-x64 .device/fixtures
TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter=@skipnet/train... --output-logs=errors-only
(cd examples/train-node && pnpm exec tsup --config tsup.gpu.config.ts)

webgpu=$(cd examples/train-node && node -e "console.log(require('path').dirname(require.resolve('webgpu/package.json')))")
cp "$webgpu/package.json" "$webgpu/index.js" .device/node_modules/webgpu/
xz -T0 -c "$webgpu/dist/linux-x64/dawn.node" >.device/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cp -r ../shared/fixtures/seed-resnet-narrow .device/fixtures/
[ -f .device/node.xz ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >.device/node.xz

if [ ! -d .gl ] || [ -z "$(ls .gl/*.deb 2>/dev/null)" ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .device .gl
