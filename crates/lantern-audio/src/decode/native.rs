//! Native decoding with symphonia, built with only the WAV, FLAC, MP3, OGG and Vorbis readers.

use std::fmt;
use std::fs::File;
use std::io::{Cursor, ErrorKind, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CODEC_TYPE_FLAC, CODEC_TYPE_NULL, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_S8,
    CODEC_TYPE_PCM_S16LE, CODEC_TYPE_PCM_S24LE, CODEC_TYPE_PCM_S32LE, CODEC_TYPE_PCM_U8, CodecType,
    Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{DecodedAudio, MAX_DECODED_VALUES, MAX_DURATION_S, MAX_FILE_BYTES};
use crate::{AudioError, Resampler, check_format, mix_to_mono_into};

/// Decodes a whole file: interleaved samples at the file's own rate.
pub fn decode_file(path: impl AsRef<Path>) -> Result<DecodedAudio, AudioError> {
    AudioDecoder::open(path)?.decode()
}

/// Decodes a whole file into mono samples at `rate` (16 000 for Whisper), mixing down and
/// resampling packet by packet: only the result is held, never the file's own samples.
pub fn decode_file_mono(path: impl AsRef<Path>, rate: u32) -> Result<Vec<f32>, AudioError> {
    AudioDecoder::open(path)?.decode_mono(rate)
}

/// Decodes a file held in memory.
pub fn decode_bytes(bytes: Vec<u8>) -> Result<DecodedAudio, AudioError> {
    AudioDecoder::from_bytes(bytes)?.decode()
}

/// An opened audio file: its header read and checked, its samples not yet decoded.
pub struct AudioDecoder {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    sample_rate: Option<u32>,
    channels: Option<usize>,
    declared_frames: Option<u64>,
    /// How many frames short of the declared count still counts as complete: lossy decoders
    /// trim or add an encoder's delay; PCM and FLAC decode exactly.
    slack_frames: u64,
    max_duration_s: u64,
}

impl fmt::Debug for AudioDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioDecoder")
            .field("track_id", &self.track_id)
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("declared_frames", &self.declared_frames)
            .finish_non_exhaustive()
    }
}

impl AudioDecoder {
    /// Opens a file, refusing one over [`MAX_FILE_BYTES`] by its size before reading it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| AudioError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_FILE_BYTES {
            return Err(AudioError::FileTooLarge {
                size,
                max: MAX_FILE_BYTES,
            });
        }
        if size == 0 {
            return Err(AudioError::NotAudio("the file is empty".to_owned()));
        }
        let mut file = File::open(path).map_err(io)?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        Self::probe(Box::new(file), &hint, &magic[..n])
    }

    /// Opens a file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, AudioError> {
        let size = bytes.len() as u64;
        if size > MAX_FILE_BYTES {
            return Err(AudioError::FileTooLarge {
                size,
                max: MAX_FILE_BYTES,
            });
        }
        if bytes.is_empty() {
            return Err(AudioError::NotAudio("the file is empty".to_owned()));
        }
        let magic: [u8; 4] = bytes
            .get(..4)
            .and_then(|m| m.try_into().ok())
            .unwrap_or_default();
        Self::probe(Box::new(Cursor::new(bytes)), &Hint::new(), &magic)
    }

    /// `magic`: the file's first bytes, which tell a cut header from bytes that never were audio
    /// (symphonia reports both as the end of the stream).
    fn probe(source: Box<dyn MediaSource>, hint: &Hint, magic: &[u8]) -> Result<Self, AudioError> {
        guard(|| {
            let stream = MediaSourceStream::new(source, Default::default());
            let probed = symphonia::default::get_probe()
                .format(
                    hint,
                    stream,
                    &FormatOptions::default(),
                    &MetadataOptions::default(),
                )
                .map_err(|e| probe_error(e, magic))?;
            let format = probed.format;
            let track = format
                .tracks()
                .iter()
                .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
                .ok_or_else(|| AudioError::NotAudio("the file has no audio track".to_owned()))?;
            let params = track.codec_params.clone();
            let track_id = track.id;
            let sample_rate = params.sample_rate;
            let channels = params.channels.map(|c| c.count());
            if let Some(rate) = sample_rate {
                check_format(rate, channels.unwrap_or(1))?;
            }
            if let Some(channels) = channels {
                check_format(sample_rate.unwrap_or(16_000), channels)?;
            }
            let decoder = symphonia::default::get_codecs()
                .make(&params, &DecoderOptions::default())
                .map_err(|e| match e {
                    SymphoniaError::Unsupported(_) => {
                        AudioError::UnsupportedCodec(format!("codec {}", params.codec))
                    }
                    other => symphonia_error(other),
                })?;
            let slack_frames = if decodes_exactly(params.codec) {
                0
            } else {
                2 * u64::from(params.max_frames_per_packet.unwrap_or(4096) as u32)
            };
            Ok(Self {
                format,
                decoder,
                track_id,
                sample_rate,
                channels,
                declared_frames: params.n_frames.filter(|&n| n > 0),
                slack_frames,
                max_duration_s: MAX_DURATION_S,
            })
        })
    }

    /// The sample rate the header declares (`None` for a stream that states it only in its
    /// first packet).
    pub fn sample_rate(&self) -> Option<u32> {
        self.sample_rate
    }

    pub fn channels(&self) -> Option<usize> {
        self.channels
    }

    /// Frames (samples per channel) the header declares, when it does.
    pub fn declared_frames(&self) -> Option<u64> {
        self.declared_frames
    }

    /// Refuses audio longer than `seconds` ([`MAX_DURATION_S`] unless lowered; never raised
    /// above it): a caller that wants only the first minutes stops a hostile file early.
    pub fn max_duration_s(mut self, seconds: u64) -> Self {
        self.max_duration_s = seconds.min(MAX_DURATION_S);
        self
    }

    /// Decodes everything: interleaved samples at the file's own rate.
    pub fn decode(self) -> Result<DecodedAudio, AudioError> {
        let mut samples = Vec::new();
        let (sample_rate, channels) = self.run(|chunk, _, _| {
            samples.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(DecodedAudio {
            samples,
            sample_rate,
            channels,
        })
    }

    /// Decodes into mono at `rate`, mixing down and resampling packet by packet.
    pub fn decode_mono(self, rate: u32) -> Result<Vec<f32>, AudioError> {
        let mut out = Vec::new();
        let mut mono = Vec::new();
        let mut resampler: Option<Resampler> = None;
        self.run(|chunk, from_rate, channels| {
            if resampler.is_none() {
                resampler = Some(Resampler::new(from_rate, rate)?);
            }
            mono.clear();
            mix_to_mono_into(chunk, channels, &mut mono)?;
            match &mut resampler {
                Some(r) => r.process(&mono, &mut out),
                None => Ok(()),
            }
        })?;
        if let Some(r) = resampler {
            r.finish(&mut out);
        }
        Ok(out)
    }

    /// Decodes packet by packet, handing each packet's interleaved samples, the rate and the
    /// channel count to `sink`; returns the rate and channel count.
    fn run(
        mut self,
        mut sink: impl FnMut(&[f32], u32, usize) -> Result<(), AudioError>,
    ) -> Result<(u32, usize), AudioError> {
        guard(move || {
            let mut buffer: Option<SampleBuffer<f32>> = None;
            let mut format_seen: Option<(u32, usize)> = self.sample_rate.zip(self.channels);
            let mut frames = 0u64;
            let mut skipped = 0u64;
            let mut first_error = None;
            loop {
                let packet = match self.format.next_packet() {
                    Ok(packet) => packet,
                    Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                        break;
                    }
                    // A chained OGG stream: the first stream is the recording.
                    Err(SymphoniaError::ResetRequired) => break,
                    Err(e) => return Err(symphonia_error(e)),
                };
                if packet.track_id() != self.track_id {
                    continue;
                }
                let decoded = match self.decoder.decode(&packet) {
                    Ok(decoded) => decoded,
                    // A damaged packet is skipped, as players do; the count decides below.
                    Err(SymphoniaError::DecodeError(message)) => {
                        skipped += 1;
                        first_error.get_or_insert(message);
                        continue;
                    }
                    Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                        break;
                    }
                    Err(e) => return Err(symphonia_error(e)),
                };
                let spec = *decoded.spec();
                let now = (spec.rate, spec.channels.count());
                match format_seen {
                    None => {
                        check_format(now.0, now.1)?;
                        format_seen = Some(now);
                    }
                    Some(seen) if seen != now => {
                        return Err(AudioError::Corrupt(format!(
                            "the stream changes from {} Hz, {} channels to {} Hz, {} channels",
                            seen.0, seen.1, now.0, now.1
                        )));
                    }
                    Some(_) => {}
                }
                if decoded.frames() == 0 {
                    continue;
                }
                frames += decoded.frames() as u64;
                let max_frames =
                    (self.max_duration_s * u64::from(now.0)).min(MAX_DECODED_VALUES / now.1 as u64);
                if frames > max_frames {
                    return Err(AudioError::TooLong {
                        max_seconds: max_frames / u64::from(now.0),
                    });
                }
                let capacity = decoded.capacity() as u64;
                let buf = match &mut buffer {
                    Some(b) if b.capacity() as u64 >= capacity * now.1 as u64 => b,
                    _ => buffer.insert(SampleBuffer::new(capacity, spec)),
                };
                buf.copy_interleaved_ref(decoded);
                sink(buf.samples(), now.0, now.1)?;
            }
            let Some((rate, channels)) = format_seen else {
                return Err(match first_error {
                    Some(message) => AudioError::Corrupt(message.to_owned()),
                    None => AudioError::Empty,
                });
            };
            if frames == 0 {
                return Err(match first_error {
                    Some(message) => AudioError::Corrupt(message.to_owned()),
                    None => AudioError::Empty,
                });
            }
            if let Some(declared) = self.declared_frames
                && frames + self.slack_frames < declared
            {
                let what =
                    format!("the header declares {declared} frames, the file holds {frames}");
                return Err(if skipped > 0 {
                    AudioError::Corrupt(format!("{what} ({skipped} damaged packets skipped)"))
                } else {
                    AudioError::Truncated(what)
                });
            }
            Ok((rate, channels))
        })
    }
}

/// Codecs whose decoded length equals the length their header declares; lossy codecs may
/// differ by an encoder's delay and padding. (WAV can hold other codecs: only the PCM formats
/// our readers produce are listed.)
fn decodes_exactly(codec: CodecType) -> bool {
    [
        CODEC_TYPE_FLAC,
        CODEC_TYPE_PCM_U8,
        CODEC_TYPE_PCM_S8,
        CODEC_TYPE_PCM_S16LE,
        CODEC_TYPE_PCM_S24LE,
        CODEC_TYPE_PCM_S32LE,
        CODEC_TYPE_PCM_F32LE,
    ]
    .contains(&codec)
}

/// Runs symphonia, turning a panic inside it into an error: a decoder's bug on a hostile file
/// must not take the process down. (A panic in our own code would be caught too; there is none
/// on input paths, and the fuzz targets, which abort on any panic, keep it so.)
fn guard<T>(f: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(AudioError::Corrupt(format!(
            "the decoder failed: {message}"
        )))
    })
}

/// The probe scans the whole stream for a container's marker: reaching the end means either a
/// header cut short or no audio at all, told apart by the first bytes.
fn probe_error(e: SymphoniaError, magic: &[u8]) -> AudioError {
    const CONTAINERS: [&[u8]; 4] = [b"RIFF", b"fLaC", b"OggS", b"ID3"];
    match e {
        SymphoniaError::Unsupported(message) => AudioError::NotAudio(message.to_owned()),
        SymphoniaError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => {
            if CONTAINERS.iter().any(|c| magic.starts_with(c)) {
                AudioError::Truncated("the file ends inside its header".to_owned())
            } else {
                AudioError::NotAudio("no WAV, FLAC, MP3 or OGG stream found".to_owned())
            }
        }
        other => symphonia_error(other),
    }
}

fn symphonia_error(e: SymphoniaError) -> AudioError {
    match e {
        SymphoniaError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => {
            AudioError::Truncated("the file ends inside a header".to_owned())
        }
        SymphoniaError::IoError(e) => AudioError::Io {
            path: "the audio stream".to_owned(),
            message: e.to_string(),
        },
        SymphoniaError::Unsupported(message) => AudioError::UnsupportedCodec(message.to_owned()),
        other => AudioError::Corrupt(other.to_string()),
    }
}
