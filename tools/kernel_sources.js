// kernel_sources.js — the C files the kernels need without the rest of the engine: what the
// kernel tests (tests/c/test_kernels_simd.c under Node, Node LTS and Chromium) and the kernel
// benchmark (tools/bench_kernels.c) are built from.
export const KERNEL_SOURCES = ['src/kernels_simd128.c', 'src/kernels_scalar.c', 'src/kernels.c', 'src/dtype.c',
  'src/codec.c', 'src/kernels_quant.c', 'src/quant_dot.c', 'src/quant_dot_simd128.c', 'src/quant_ref.c', 'src/quant_x4.c',
  'src/quant_k_x4.c'];
