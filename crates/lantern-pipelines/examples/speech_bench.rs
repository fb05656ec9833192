//! Speech-recognition benchmark: Lantern's `automatic-speech-recognition` pipeline on the CPU
//! transcribing one WAV file, greedy (the pipeline's temperature fallback on, as in the CLI).
//! Run through scripts/bench-speech.sh, which runs faster-whisper and whisper.cpp beside it and
//! prints the tables.
//!
//! `cargo run --release -p lantern-pipelines --example speech_bench -- MODEL_DIR AUDIO.wav [--timestamps] [--language L]`
//! prints one JSON line: the audio's length, the load time, the transcription time (features,
//! encoder and decoder of every 30 s window; the WAV already read), the real-time factor
//! (transcription time / audio length), the number of windows, of windows that needed a
//! temperature fallback and the seconds those took, the text, and the memory: peak resident
//! memory natively, the wasm linear memory after loading and after the run (it never shrinks,
//! so the latter is the peak), and the live heap (bytes allocated and not yet freed, counted by
//! a wrapper around the system allocator) before the transcription and at its highest during
//! it: loading reads the whole weights file beside its tensors, a peak that the linear memory
//! keeps and that would hide whether the transcription itself grows with the audio's length.
//! `AUDIO.wav`: PCM 16-bit or float 32-bit, any rate (resampled to 16 kHz by the pipeline) and
//! channel count. Threads: `RAYON_NUM_THREADS` (native).
//!
//! Built for `wasm32-wasip1` with simd128, the same code runs the browser's CPU kernels under
//! Node (`node bench/wasi-run.mjs speech_bench.wasm MODEL_DIR AUDIO.wav`, paths relative to the
//! current directory), one thread.

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `lantern` CLI does: the peak memory is then what a user of the CLI sees.
    lantern_pipelines::process::use_one_malloc_arena();
    bench::main()
}

#[cfg(all(target_arch = "wasm32", not(target_os = "wasi")))]
fn main() {}

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

/// The live heap's size now and its highest since the last [`heap::reset_peak`].
#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    #[derive(Debug)]
    pub struct Counting;

    fn grew(bytes: usize) {
        let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    #[allow(unsafe_code)]
    // SAFETY: every call goes to the system allocator with the caller's own arguments, so its
    // contract is the caller's; the counters only add and subtract sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                grew(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                grew(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: as above.
            unsafe { System.dealloc(ptr, layout) };
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
                grew(new_size);
            }
            p
        }
    }

    pub fn live_mib() -> f64 {
        LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
    }

    pub fn peak_mib() -> f64 {
        PEAK.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
    }

    pub fn reset_peak() {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
mod bench {
    use std::path::PathBuf;

    use futures_util::FutureExt;
    use lantern_core::protocol::TranscribeOptions;
    use lantern_pipelines::device::Device;
    use lantern_pipelines::source::DirSource;
    use lantern_pipelines::speech_recognition::{self, SpeechEvent};
    use web_time::Instant;

    type BoxError = Box<dyn std::error::Error>;

    pub fn main() -> Result<(), BoxError> {
        let args: Vec<String> = std::env::args().collect();
        let (Some(dir), Some(audio)) = (args.get(1), args.get(2)) else {
            return Err(
                "usage: speech_bench MODEL_DIR AUDIO.wav [--timestamps] [--language L]".into(),
            );
        };
        let timestamps = args.iter().skip(3).any(|a| a == "--timestamps");
        let language = args
            .iter()
            .skip(3)
            .skip_while(|a| *a != "--language")
            .nth(1)
            .cloned();

        let t0 = Instant::now();
        let source = DirSource::new(&PathBuf::from(dir))?;
        let asr = speech_recognition::load(&source, Device::Cpu)
            .now_or_never()
            .ok_or("loading from a folder onto the CPU waits for nothing")??
            .pipeline;
        let load_s = t0.elapsed().as_secs_f64();

        let wav = Wav::read(&std::fs::read(audio)?)?;
        // The samples as a page would send them: already 16 kHz mono needs no copy.
        let samples = if wav.rate == asr.sample_rate() && wav.channels == 1 {
            wav.samples
        } else {
            asr.prepare(&wav.samples, wav.rate, wav.channels)?
        };
        let memory_after_load = wasm_memory_mib();
        let heap_before = super::heap::live_mib();
        super::heap::reset_peak();

        let options = TranscribeOptions {
            timestamps,
            language,
            ..TranscribeOptions::default()
        };
        let (mut windows, mut fallbacks, mut fallback_s) = (0usize, 0usize, 0.0f64);
        // A window's time: from the previous window's event to its own (a window's event comes
        // after its decoding, before the next window's features and encoder).
        let mut last = Instant::now();
        let mut on_event = |event: SpeechEvent| {
            if let SpeechEvent::Window { temperature, .. } = event {
                windows += 1;
                if temperature > 0.0 {
                    fallbacks += 1;
                    fallback_s += last.elapsed().as_secs_f64();
                }
                last = Instant::now();
            }
        };
        let t = Instant::now();
        let transcript = asr
            .transcribe_async(&samples, &options, &mut on_event, &|| false)
            .now_or_never()
            .ok_or("transcription on the CPU waits for nothing")??;
        let elapsed_s = t.elapsed().as_secs_f64();
        let heap_peak = super::heap::peak_mib();

        let row = serde_json::json!({
            "engine": "lantern",
            "target": if cfg!(target_arch = "wasm32") { "wasm" } else { "native" },
            "threads": rayon::current_num_threads(),
            "timestamps": timestamps,
            "audio_s": transcript.audio_s,
            "load_s": load_s,
            "elapsed_s": elapsed_s,
            "rtf": elapsed_s / transcript.audio_s,
            "windows": windows,
            "fallback_windows": fallbacks,
            "fallback_windows_s": fallback_s,
            "peak_rss_mib": peak_rss_mib(),
            "wasm_memory_after_load_mib": memory_after_load,
            "wasm_memory_peak_mib": wasm_memory_mib(),
            "heap_before_mib": heap_before,
            "heap_peak_transcribing_mib": heap_peak,
            "text": transcript.text,
        });
        #[allow(clippy::print_stdout)]
        {
            println!("{row}");
        }
        Ok(())
    }

    /// A WAV file's samples, interleaved, as `f32` in [-1, 1].
    struct Wav {
        samples: Vec<f32>,
        rate: u32,
        channels: usize,
    }

    impl Wav {
        /// Reads RIFF/WAVE with PCM 16-bit or IEEE float 32-bit samples (what the benchmark
        /// script writes and the fixtures are); `lantern_audio`'s decoder is native-only.
        fn read(bytes: &[u8]) -> Result<Wav, BoxError> {
            if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
                return Err("not a RIFF/WAVE file".into());
            }
            let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
            let u32_at =
                |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            let mut format = None;
            let mut pos = 12;
            while pos + 8 <= bytes.len() {
                let id = &bytes[pos..pos + 4];
                let size = u32_at(bytes, pos + 4) as usize;
                let body = bytes
                    .get(pos + 8..(pos + 8 + size).min(bytes.len()))
                    .ok_or("a chunk runs past the end")?;
                if id == b"fmt " && body.len() >= 16 {
                    // format tag, channels, rate, bits per sample
                    format = Some((
                        u16_at(body, 0),
                        u16_at(body, 2),
                        u32_at(body, 4),
                        u16_at(body, 14),
                    ));
                } else if id == b"data" {
                    let (tag, channels, rate, bits) = format.ok_or("data before fmt")?;
                    let samples = match (tag, bits) {
                        (1, 16) => body
                            .chunks_exact(2)
                            .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
                            .collect(),
                        (3, 32) => body
                            .chunks_exact(4)
                            .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                            .collect(),
                        _ => {
                            return Err(format!(
                                "format {tag} with {bits}-bit samples (PCM 16-bit or float 32-bit only)"
                            )
                            .into());
                        }
                    };
                    return Ok(Wav {
                        samples,
                        rate,
                        channels: usize::from(channels),
                    });
                }
                pos += 8 + size + (size & 1);
            }
            Err("no data chunk".into())
        }
    }

    /// Natively; under WASI `/proc/self` would be the host's (Node's) process.
    fn peak_rss_mib() -> Option<f64> {
        if cfg!(target_arch = "wasm32") {
            return None;
        }
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }

    /// The wasm linear memory's size (it only grows: after a run, its peak).
    fn wasm_memory_mib() -> Option<f64> {
        #[cfg(target_arch = "wasm32")]
        {
            Some(core::arch::wasm32::memory_size(0) as f64 * 65536.0 / (1024.0 * 1024.0))
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            None
        }
    }
}
