//! Translation and summarization demos: what `lantern build` tells the page about the model in
//! `demo.json` (the language pair, T5's task keys) and the author's starting options.
//!
//! The page has only `demo.json` until the model is loaded, and a model card is not among the
//! files the worker downloads, so the pair is read here, once, from what says it best: the
//! manifest, then T5's `task_specific_params` key (`translation_en_to_de`), then the card's
//! `pipeline_tag` (`translation_en_to_de`), then a Marian model's name (`opus-mt-en-de`). The
//! card's `language:` list has no direction, so it is shown as a list, never guessed into one.

use lantern_core::{Task, Text2TextDefaults};

use crate::manifest::Text2TextSection;
use crate::model_card::ModelCard;

/// `("en", "de")` from `translation_en_to_de`.
pub fn pair_of_key(key: &str) -> Option<(String, String)> {
    let (from, to) = key.strip_prefix("translation_")?.split_once("_to_")?;
    let code = |c: &str| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric());
    (code(from) && code(to)).then(|| (from.to_owned(), to.to_owned()))
}

/// `("en", "de")` from a translation model's name: a Marian repository's `opus-mt-en-de` or
/// `opus-mt-tc-big-en-de` (the two parts after `opus-mt-` and the Tatoeba-Challenge size
/// `tc-SIZE-`; group names such as `ROMANCE` are kept as they are; what follows the pair is a
/// fine-tune's or copy's suffix, as in `opus-mt-en-de-finetuned-wmt16`), or any name ending in
/// two language codes, `…-en-de` or `…-en-to-fr` (codes: two or three lower-case letters, so
/// `t5-small` or `bart-large-cnn` say nothing).
pub fn pair_of_name(repo_name: &str) -> Option<(String, String)> {
    let pair = |from: &str, to: &str| Some((from.to_owned(), to.to_owned()));
    if let Some(rest) = repo_name.strip_prefix("opus-mt-") {
        let mut parts: Vec<&str> = rest.split('-').filter(|p| !p.is_empty()).collect();
        if parts.first() == Some(&"tc") {
            parts.drain(..parts.len().min(2));
        }
        return match parts.as_slice() {
            [from, to, ..] => pair(from, to),
            _ => None,
        };
    }
    let code = |c: &str| (2..=3).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_lowercase());
    let parts: Vec<&str> = repo_name.split('-').collect();
    match parts.as_slice() {
        [.., from, "to", to] if code(from) && code(to) => pair(from, to),
        [_, .., from, to] if code(from) && code(to) && from != to => pair(from, to),
        _ => None,
    }
}

/// The `task_specific_params` keys of `config.json` that `task` can use, in the file's order.
fn task_keys(task: Task, config: Option<&serde_json::Value>) -> Vec<String> {
    let Some(params) = config
        .and_then(|c| c.get("task_specific_params"))
        .and_then(|p| p.as_object())
    else {
        return Vec::new();
    };
    params
        .keys()
        .filter(|k| match task {
            Task::Translation => pair_of_key(k).is_some(),
            Task::Summarization => *k == "summarization",
            _ => false,
        })
        .cloned()
        .collect()
}

/// What the page of a `task` demo (translation or summarization) shows and starts from.
pub fn page_defaults(
    task: Task,
    repo_name: &str,
    config: Option<&serde_json::Value>,
    card: &ModelCard,
    section: &Text2TextSection,
) -> Text2TextDefaults {
    let mut task_params = task_keys(task, config);
    if let Some(chosen) = &section.task_params {
        task_params.retain(|k| k != chosen);
        task_params.insert(0, chosen.clone());
    }
    let mut out = Text2TextDefaults {
        num_beams: section.num_beams,
        max_new_tokens: section.max_new_tokens,
        min_length: section.min_length,
        ..Default::default()
    };
    if task == Task::Translation {
        out.card_languages = card.language.clone();
        let from_manifest = section
            .source_language
            .clone()
            .zip(section.target_language.clone())
            .map(|p| (p, "the demo manifest".to_owned()));
        let from_key = task_params.first().and_then(|k| {
            pair_of_key(k).map(|p| (p, format!("config.json's task_specific_params ({k})")))
        });
        let from_tag = card.pipeline_tag.as_deref().and_then(|t| {
            pair_of_key(t).map(|p| (p, format!("the model card's pipeline_tag ({t})")))
        });
        let from_name =
            pair_of_name(repo_name).map(|p| (p, format!("the model's name ({repo_name})")));
        let found = from_manifest.or(from_key).or(from_tag).or(from_name);
        if let Some(((from, to), why)) = found {
            out.source_language = Some(from);
            out.target_language = Some(to);
            out.languages_from = Some(why);
        } else {
            // One side alone (the manifest names only the target): shown as given.
            out.source_language = section.source_language.clone();
            out.target_language = section.target_language.clone();
            if out.source_language.is_some() || out.target_language.is_some() {
                out.languages_from = Some("the demo manifest".into());
            }
        }
    }
    // One key is no choice: the pipeline takes the task's default without being told.
    if task_params.len() > 1 || section.task_params.is_some() {
        out.task_params = task_params;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pair(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.to_owned(), b.to_owned()))
    }

    #[test]
    fn pairs_from_keys_and_names() {
        assert_eq!(pair_of_key("translation_en_to_de"), pair("en", "de"));
        assert_eq!(pair_of_key("translation_en_to_"), None);
        assert_eq!(pair_of_key("summarization"), None);
        assert_eq!(pair_of_name("opus-mt-en-de"), pair("en", "de"));
        assert_eq!(pair_of_name("opus-mt-tc-big-en-fr"), pair("en", "fr"));
        assert_eq!(pair_of_name("opus-mt-en-ROMANCE"), pair("en", "ROMANCE"));
        assert_eq!(pair_of_name("opus-mt-en"), None);
        assert_eq!(pair_of_name("opus-mt-tc-big-en"), None);
        // A copy's or fine-tune's suffix after the pair.
        assert_eq!(pair_of_name("opus-mt-en-de-random"), pair("en", "de"));
        assert_eq!(
            pair_of_name("opus-mt-en-de-finetuned-wmt16"),
            pair("en", "de")
        );
        assert_eq!(pair_of_name("t5-small"), None);
        assert_eq!(pair_of_name("tiny-marian-en-de"), pair("en", "de"));
        assert_eq!(
            pair_of_name("marian-finetuned-kde4-en-to-fr"),
            pair("en", "fr")
        );
        assert_eq!(pair_of_name("bart-large-cnn"), None);
        assert_eq!(pair_of_name("flan-t5-xl"), None);
        assert_eq!(pair_of_name("en-de"), None);
    }

    #[test]
    fn the_pair_comes_from_the_manifest_then_t5_then_the_card_then_the_name() {
        let t5 = serde_json::json!({"task_specific_params": {
            "summarization": {"prefix": "summarize: "},
            "translation_en_to_de": {"prefix": "translate English to German: "},
            "translation_en_to_fr": {"prefix": "translate English to French: "}}});
        let none = Text2TextSection::default();
        let card = ModelCard {
            language: vec!["en".into(), "fr".into(), "de".into()],
            ..Default::default()
        };
        let d = page_defaults(Task::Translation, "t5-small", Some(&t5), &card, &none);
        assert_eq!(d.source_language.as_deref(), Some("en"));
        assert_eq!(d.target_language.as_deref(), Some("de"));
        assert_eq!(
            d.task_params,
            ["translation_en_to_de", "translation_en_to_fr"]
        );
        assert_eq!(d.card_languages, ["en", "fr", "de"]);
        let fr = Text2TextSection {
            task_params: Some("translation_en_to_fr".into()),
            ..Default::default()
        };
        let d = page_defaults(Task::Translation, "t5-small", Some(&t5), &card, &fr);
        assert_eq!(
            d.task_params,
            ["translation_en_to_fr", "translation_en_to_de"]
        );
        assert_eq!(d.target_language.as_deref(), Some("fr"));
        // T5 summarizing: one key, no choice to offer; no languages.
        let d = page_defaults(Task::Summarization, "t5-small", Some(&t5), &card, &none);
        assert!(
            d.task_params.is_empty() && d.source_language.is_none(),
            "{d:?}"
        );
        assert!(d.card_languages.is_empty());

        let marian = ModelCard::default();
        let d = page_defaults(Task::Translation, "opus-mt-en-de", None, &marian, &none);
        assert_eq!(d.source_language.as_deref(), Some("en"));
        assert_eq!(d.target_language.as_deref(), Some("de"));
        assert!(d.languages_from.unwrap().contains("name"));
        let tagged = ModelCard {
            pipeline_tag: Some("translation_de_to_en".into()),
            ..Default::default()
        };
        let d = page_defaults(Task::Translation, "opus-mt-en-de", None, &tagged, &none);
        assert_eq!(d.source_language.as_deref(), Some("de"));
        let manifest = Text2TextSection {
            source_language: Some("en".into()),
            target_language: Some("nl".into()),
            num_beams: Some(2),
            ..Default::default()
        };
        let d = page_defaults(Task::Translation, "opus-mt-en-de", None, &tagged, &manifest);
        assert_eq!(d.target_language.as_deref(), Some("nl"));
        assert_eq!(d.num_beams, Some(2));
        // Nothing to go by: no pair, the card's list alone.
        let d = page_defaults(Task::Translation, "m2m", None, &card, &none);
        assert!(d.source_language.is_none() && d.languages_from.is_none());
        assert!(!d.is_empty());
    }
}
