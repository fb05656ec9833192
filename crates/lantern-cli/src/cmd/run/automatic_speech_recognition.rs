//! `lantern run automatic-speech-recognition --model ORG/NAME[@REV] --audio FILE
//! [--language L] [--task transcribe|translate] [--timestamps] [--num-beams B] [--json]
//! [--format txt|srt|vtt]`
//!
//! The audio file (WAV, FLAC, MP3, OGG/Vorbis) is decoded, mixed to mono and resampled to the
//! model's 16 kHz; long files are read in 30 s windows with the previous text as the prompt.
//! Segments are printed as they finish (with times under `--timestamps`). `--json` prints one
//! object, the shape of transformers' ASR pipeline with `return_timestamps`:
//! `{"text", "chunks": [{"timestamp": [start, end], "text"}], "language", "audio_s",
//! "elapsed_s", "backend"}` (`chunks` empty without `--timestamps`). `--format` prints the
//! transcript as the page downloads it: plain text, SubRip or WebVTT subtitles (with segment
//! times: `srt` and `vtt` imply `--timestamps`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use futures_util::FutureExt;
use lantern_core::Task;
use lantern_core::protocol::{SpeechTask, TranscribeOptions};
use lantern_hub::RepoRef;
use lantern_pipelines::device::Device;
use lantern_pipelines::speech_recognition::{self, SpeechEvent};
use lantern_pipelines::tasks::Wanted;

use crate::args::HubArgs;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TaskArg {
    Transcribe,
    Translate,
}

/// A transcript file's format (what the page's download links give).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Txt,
    Srt,
    Vtt,
}

#[derive(Debug, Args)]
pub struct SpeechRecognitionArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// The audio file: WAV, FLAC, MP3 or OGG/Vorbis, any rate and channel count.
    #[arg(long)]
    pub audio: PathBuf,
    /// The spoken language, a code (en) or a name (english); detected when left out
    /// (multilingual models).
    #[arg(long)]
    pub language: Option<String>,
    /// Transcribe in the spoken language, or translate into English.
    #[arg(long, value_enum, default_value = "transcribe")]
    pub task: TaskArg,
    /// Segment timestamps (`chunks`).
    #[arg(long)]
    pub timestamps: bool,
    /// Beam search width (1: greedy).
    #[arg(long, default_value_t = 1)]
    pub num_beams: usize,
    /// Print one JSON object.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Print the transcript as a file of this format once it is done (srt and vtt: subtitles
    /// with segment times).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(args: SpeechRecognitionArgs) -> anyhow::Result<()> {
    // The audio first: a file that is not audio fails before anything is downloaded.
    let path = args.audio.clone();
    let decoded = tokio::task::spawn_blocking(move || lantern_audio::decode_file(&path))
        .await
        .context("the decoding thread failed")?
        .with_context(|| format!("cannot read {}", args.audio.display()))?;
    let source = super::task_files(
        Task::AutomaticSpeechRecognition,
        &args.model,
        Wanted::Choose,
        &args.hub,
        args.quiet || args.json || args.format.is_some(),
    )
    .await?;
    let timestamps =
        args.timestamps || matches!(args.format, Some(FormatArg::Srt | FormatArg::Vtt));
    let options = TranscribeOptions {
        language: args.language.clone(),
        task: match args.task {
            TaskArg::Transcribe => SpeechTask::Transcribe,
            TaskArg::Translate => SpeechTask::Translate,
        },
        timestamps,
        num_beams: Some(args.num_beams),
    };
    let model = args.model.clone();
    // A file format is printed whole at the end; segments stream only as plain lines.
    let json = args.json || args.format.is_some();
    let (transcript, elapsed_s, backend) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let asr = speech_recognition::load(&source, Device::Cpu)
                .now_or_never()
                .context("loading waited for an event loop")?
                .with_context(|| format!("cannot load {model}"))?
                .pipeline;
            let samples = asr.prepare(&decoded.samples, decoded.sample_rate, decoded.channels)?;
            drop(decoded);
            let started = std::time::Instant::now();
            let mut stdout = std::io::stdout();
            let mut on_event = |e: SpeechEvent| {
                if json {
                    return;
                }
                // Segments as they finish: a long file shows its text while it runs. A closed
                // pipe is noticed at the end.
                if let SpeechEvent::Segment(chunk) = e {
                    let line = if timestamps {
                        format!(
                            "[{} --> {}]{}\n",
                            clock(chunk.start),
                            clock(chunk.end),
                            chunk.text
                        )
                    } else {
                        format!("{}\n", chunk.text.trim_start())
                    };
                    let _ = stdout.write_all(line.as_bytes());
                }
            };
            let transcript = asr
                .transcribe_async(&samples, &options, &mut on_event, &|| false)
                .now_or_never()
                .context("transcribing waited for an event loop")??;
            Ok((
                transcript,
                started.elapsed().as_secs_f64(),
                asr.backend_name(),
            ))
        })
        .await
        .context("the transcription thread failed")??;
    for w in &transcript.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(format) = args.format {
        let out = match format {
            FormatArg::Txt => transcript.to_txt(),
            FormatArg::Srt => transcript.to_srt(),
            FormatArg::Vtt => transcript.to_vtt(),
        };
        return match std::io::stdout().lock().write_all(out.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to stdout"),
        };
    }
    if json {
        let out = serde_json::json!({
            "text": transcript.text,
            "chunks": transcript.chunks,
            "language": transcript.language,
            "audio_s": transcript.audio_s,
            "elapsed_s": elapsed_s,
            "backend": backend,
        });
        let out = format!("{}\n", serde_json::to_string(&out)?);
        return match std::io::stdout().lock().write_all(out.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to stdout"),
        };
    }
    if !args.quiet {
        eprintln!(
            "{:.1} s of audio in {elapsed_s:.2} s (real-time factor {:.3}, {backend})",
            transcript.audio_s,
            elapsed_s / transcript.audio_s.max(1e-9)
        );
    }
    Ok(())
}

/// `hh:mm:ss.mmm`, as subtitle files write times.
fn clock(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}
