//! A model card's metadata: the YAML front matter of a repository's `README.md`, as the Hub
//! reads it (<https://huggingface.co/docs/hub/model-cards#model-card-metadata>).
//!
//! Only what `lantern new` and `lantern build` decide with is kept: `pipeline_tag`,
//! `library_name`, `license`, `tags` and `language` (the translation page shows it). Cards in the wild are loose (a `license` given as a list, tags that are numbers), so
//! each field is read on its own and a field of an unexpected shape is ignored rather than
//! failing the whole card.

use serde_norway::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelCard {
    pub pipeline_tag: Option<String>,
    pub library_name: Option<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
    /// The card's `language:` codes (a list, or one code).
    pub language: Vec<String>,
}

/// Why a card's metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("the front matter is not closed by a `---` line")]
    Unclosed,
    #[error("the front matter is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("the front matter is not a YAML mapping")]
    NotAMapping,
}

impl ModelCard {
    /// Reads the front matter of a `README.md`. A card without front matter is an empty card
    /// (many repositories have none), not an error.
    pub fn parse(readme: &str) -> Result<ModelCard, CardError> {
        let Some(yaml) = front_matter(readme)? else {
            return Ok(ModelCard::default());
        };
        let value: Value = serde_norway::from_str(yaml)?;
        let map = match value {
            Value::Mapping(m) => m,
            // `---\n---`: an empty block.
            Value::Null => return Ok(ModelCard::default()),
            _ => return Err(CardError::NotAMapping),
        };
        let text = |key: &str| match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        };
        let list = |key: &str| match map.get(key) {
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        Ok(ModelCard {
            pipeline_tag: text("pipeline_tag"),
            library_name: text("library_name"),
            license: text("license"),
            tags: list("tags"),
            language: list("language"),
        })
    }
}

/// The YAML between a first line `---` and the next line `---`, as the Hub splits a card
/// (a UTF-8 byte-order mark and CRLF line ends are accepted).
pub fn front_matter(readme: &str) -> Result<Option<&str>, CardError> {
    let text = readme.strip_prefix('\u{feff}').unwrap_or(readme);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return Ok(None);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Ok(Some(&rest[..offset]));
        }
        offset += line.len();
    }
    Err(CardError::Unclosed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_the_fields_that_choose_a_demo() {
        let card = ModelCard::parse(
            "---\nlicense: apache-2.0\nlibrary_name: sentence-transformers\n\
             pipeline_tag: sentence-similarity\ntags:\n- feature-extraction\n- 42\n---\n# Title\n",
        )
        .unwrap();
        assert_eq!(card.pipeline_tag.as_deref(), Some("sentence-similarity"));
        assert_eq!(card.library_name.as_deref(), Some("sentence-transformers"));
        assert_eq!(card.license.as_deref(), Some("apache-2.0"));
        assert_eq!(card.tags, ["feature-extraction"]);
        assert!(card.language.is_empty());
        let card = ModelCard::parse("---\nlanguage:\n- en\n- de\n---\n").unwrap();
        assert_eq!(card.language, ["en", "de"]);
        let card = ModelCard::parse("---\nlanguage: en\n---\n").unwrap();
        assert_eq!(card.language, ["en"]);
    }

    #[test]
    fn real_yaml_not_line_matching() {
        // Quoting, a comment, flow style, CRLF and a `---` inside a block scalar: a line-based
        // reader gets each of these wrong.
        let card = ModelCard::parse(
            "---\r\nlicense: \"mit\" # the licence\r\npipeline_tag: 'text-generation'\r\n\
             tags: [gguf, llama]\r\nwidget:\r\n  - text: |\r\n      a\r\n      ---\r\n---\r\nbody\r\n",
        )
        .unwrap();
        assert_eq!(card.license.as_deref(), Some("mit"));
        assert_eq!(card.pipeline_tag.as_deref(), Some("text-generation"));
        assert_eq!(card.tags, ["gguf", "llama"]);
    }

    #[test]
    fn odd_shapes_are_ignored_and_broken_cards_are_errors() {
        let card = ModelCard::parse("---\nlicense: [mit, apache-2.0]\n---\n").unwrap();
        assert_eq!(card.license, None);
        assert_eq!(
            ModelCard::parse("# no front matter\n").unwrap(),
            ModelCard::default()
        );
        assert_eq!(
            ModelCard::parse("---\n---\n").unwrap(),
            ModelCard::default()
        );
        assert!(matches!(
            ModelCard::parse("---\nlicense: mit\n"),
            Err(CardError::Unclosed)
        ));
        assert!(matches!(
            ModelCard::parse("---\nlicense: [mit\n---\n"),
            Err(CardError::Yaml(_))
        ));
        assert!(matches!(
            ModelCard::parse("---\n- a\n---\n"),
            Err(CardError::NotAMapping)
        ));
    }
}
