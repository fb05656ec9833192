//! Process-wide settings for the native programs that run the pipelines (the `lantern` CLI,
//! the benchmarks). Libraries must not change them behind a program's back, so the programs
//! call these once at start.

/// Makes glibc's malloc serve every thread from one arena.
///
/// By default each thread that allocates gets an arena of its own, and memory freed in one
/// arena is never reused by another. The CPU backend runs a forward pass on a rayon pool
/// thread (`Cpu::execute`, so that its parallel loops do not cross threads), while the model
/// is loaded on the calling thread: with 2 threads the forward pass's buffers come from a
/// second arena instead of reusing what loading freed, and the peak resident memory rises by
/// 4-8 MiB, 3-5 % of a 94 MiB model (measured: SmolLM2-135M Q4_1, 138.6 MiB with 2 threads
/// against 134.7 with 1; 135.0 with one arena). Those threads allocate per op, not per element,
/// so the shared arena's lock costs nothing measurable (decode tokens/s unchanged).
///
/// Does nothing on other platforms (wasm's allocator has a single heap anyway).
pub fn use_one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: `mallopt` only changes a tuning parameter of glibc's allocator; M_ARENA_MAX may
    // be set at any time (threads created earlier keep the arena they have).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
