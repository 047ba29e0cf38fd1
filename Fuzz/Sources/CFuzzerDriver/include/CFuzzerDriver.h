#ifndef ECOLOGY_CFUZZERDRIVER_H
#define ECOLOGY_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in the toolchain's libclang_rt.fuzzer, linked by -sanitize=fuzzer):
/// parses libFuzzer's command line and runs `callback` on every input. Each fuzz target's
/// main.swift calls it, because SwiftPM gives every executable target a `main` of its own
/// and libFuzzer's `main` would then never run.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
