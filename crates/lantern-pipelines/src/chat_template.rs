//! Chat templates: the Jinja template of a model (GGUF `tokenizer.chat_template`, or
//! `chat_template` in `tokenizer_config.json`) rendered with minijinja the way `transformers`
//! renders it: `trim_blocks` and `lstrip_blocks`, loop controls, Python string methods
//! (`.strip()`, `.startswith()`, ...), `raise_exception`, `strftime_now`, `tojson`, and the
//! variables `messages`, `add_generation_prompt`, `bos_token`, `eos_token`.
//!
//! ```
//! use lantern_core::{ChatMessage, Role};
//! use lantern_pipelines::chat_template::ChatTemplate;
//!
//! let t = ChatTemplate::new(
//!     "{% for m in messages %}<|{{ m.role }}|>{{ m.content.strip() }}\n{% endfor %}\
//!      {% if add_generation_prompt %}<|assistant|>{% endif %}",
//!     "<s>",
//!     "</s>",
//! );
//! let text = t.render(&[ChatMessage::new(Role::User, " Hi ")], true)?;
//! assert_eq!(text, "<|user|>Hi\n<|assistant|>");
//! # Ok::<(), lantern_pipelines::chat_template::TemplateError>(())
//! ```

use lantern_core::ChatMessage;
use minijinja::{Environment, Error, ErrorKind, context};

/// A template that cannot be compiled or rendered, or that raised an exception.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("the chat template raised an exception: {0}")]
    Raised(String),
    #[error("the chat template cannot be rendered: {0}")]
    Render(String),
    #[error("the model has no chat template (use a raw prompt)")]
    Missing,
}

impl TemplateError {
    pub fn code(&self) -> &'static str {
        match self {
            TemplateError::Raised(_) => "template_raised",
            TemplateError::Render(_) => "template_render",
            TemplateError::Missing => "no_chat_template",
        }
    }
}

/// A chat template with the special tokens it may refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
}

/// Marks the message of `raise_exception` so it can be told apart from other errors.
const RAISED: &str = "raise_exception: ";

/// Template instructions one render may run: a base plus an allowance per message. A template
/// comes from the model file, so a hostile one could loop for hours (`range` is capped at 100k
/// items, but loops nest); with fuel it stops with an error instead, after work proportional
/// to the chat. Real templates use 20 to 50 instructions per message (measured on SmolLM2's,
/// Llama 2's, Llama 3's and Qwen2.5's), so a thousand per message is a wide margin.
pub const TEMPLATE_FUEL_BASE: u64 = 100_000;
pub const TEMPLATE_FUEL_PER_MESSAGE: u64 = 1_000;

impl ChatTemplate {
    pub fn new(
        source: impl Into<String>,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Self {
        ChatTemplate {
            source: source.into(),
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The prompt text for `messages`; with `add_generation_prompt`, ending where the
    /// assistant's reply starts.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        let fuel = TEMPLATE_FUEL_BASE
            .saturating_add(TEMPLATE_FUEL_PER_MESSAGE.saturating_mul(messages.len() as u64));
        env.set_fuel(Some(fuel));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{RAISED}{msg}"),
            ))
        });
        env.add_function("strftime_now", |format: String| -> String {
            strftime_now(&format)
        });
        let rendered = env.render_str(
            &self.source,
            context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            },
        );
        rendered.map_err(|e| {
            // The exception raised may be wrapped by the error of the tag it was raised in.
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                let text = c.to_string();
                if let Some(at) = text.find(RAISED) {
                    let msg = &text[at + RAISED.len()..];
                    let msg = msg.split(" (in ").next().unwrap_or(msg);
                    return TemplateError::Raised(msg.trim_end().to_owned());
                }
                cause = c.source();
            }
            if e.kind() == ErrorKind::OutOfFuel {
                return TemplateError::Render(format!(
                    "the template ran more than {fuel} instructions for {} messages",
                    messages.len()
                ));
            }
            TemplateError::Render(format!("{e:#}"))
        })
    }
}

/// The current UTC time formatted with the strftime subset chat templates use
/// (`%d %b %Y`, `%Y-%m-%d`, ...).
fn strftime_now(format: &str) -> String {
    let secs = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    strftime(secs, format)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// `secs` since the Unix epoch, UTC, formatted.
pub(crate) fn strftime(secs: i64, format: &str) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let month_name = MONTHS[(month - 1) as usize];
    let day_name = DAYS[days.rem_euclid(7) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('e') => out.push_str(&format!("{day:>2}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Some('b') => out.push_str(&month_name[..3]),
            Some('B') => out.push_str(month_name),
            Some('a') => out.push_str(&day_name[..3]),
            Some('A') => out.push_str(day_name),
            Some('H') => out.push_str(&format!("{h:02}")),
            Some('M') => out.push_str(&format!("{m:02}")),
            Some('S') => out.push_str(&format!("{s:02}")),
            Some('j') => out.push_str(&format!("{:03}", doy_of(year, month, day))),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn doy_of(year: i64, month: i64, day: i64) -> i64 {
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    CUM[(month - 1) as usize] + day + i64::from(leap && month > 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_formats_known_dates() {
        assert_eq!(
            strftime(0, "%Y-%m-%d %H:%M:%S %a"),
            "1970-01-01 00:00:00 Thu"
        );
        // 2024-07-26 is llama 3.1's default date.
        assert_eq!(strftime(1_721_952_000, "%d %b %Y"), "26 Jul 2024");
        assert_eq!(
            strftime(951_782_400, "%Y-%m-%d %j %B %A"),
            "2000-02-29 060 February Tuesday"
        );
    }
}
