//! The Space's `README.md`: YAML front matter that huggingface.co reads to configure a static
//! Space, and a body that explains the demo and how to embed it; and the `.gitattributes` that
//! puts the Space's binary files in LFS.
//!
//! Keys and values follow the Spaces configuration reference
//! (<https://huggingface.co/docs/hub/spaces-config-reference>): `title`, `emoji`, `colorFrom` /
//! `colorTo` (one of eight colour names), `sdk: static`, `app_file`, `short_description` (the
//! Hub refuses more than 60 characters), `models`, `tags`, and `custom_headers`, where only the
//! three cross-origin headers may be set, in lower case — exactly what the threaded worker
//! needs. `license` is repository-card metadata, one of the Hub's license ids.

use std::collections::BTreeMap;

use lantern_core::DemoConfig;
use serde::Deserialize;

use crate::manifest::DemoManifest;
use crate::wasm_limit::human_bytes;

/// The colours a Space card may use.
pub const SPACE_COLORS: [&str; 8] = [
    "red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray",
];

/// Longest `short_description` the Hub accepts. It counts JavaScript string length (UTF-16
/// code units), so an emoji counts twice.
pub const SHORT_DESCRIPTION_MAX: usize = 60;

/// The headers `custom_headers` may set (the reference allows these three only, lower case),
/// with the values that make the page cross-origin isolated, so the threaded worker can use
/// `SharedArrayBuffer`. CORP `cross-origin` lets a page on another origin embed the Space.
pub const CUSTOM_HEADERS: [(&str, &str); 3] = [
    ("cross-origin-embedder-policy", "require-corp"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "cross-origin"),
];

/// The Hub's license identifiers (<https://huggingface.co/docs/hub/repositories-licenses>).
pub const HUB_LICENSES: &[&str] = &[
    "afl-3.0",
    "agpl-3.0",
    "apache-2.0",
    "apple-amlr",
    "apple-ascl",
    "artistic-2.0",
    "bigcode-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigscience-openrail-m",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "bsl-1.0",
    "c-uda",
    "cc",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cc-by-nd-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc0-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "cdla-sharing-1.0",
    "creativeml-openrail-m",
    "deepfloyd-if-license",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "fair-noncommercial-research-license",
    "gemma",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "grok2-community",
    "h-research",
    "intel-research",
    "isc",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "lgpl-lr",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "lppl-1.3c",
    "mit",
    "mpl-2.0",
    "ms-pl",
    "ncsa",
    "odbl",
    "odc-by",
    "ofl-1.1",
    "openmdw-1.0",
    "openmdw-1.1",
    "openrail",
    "osl-3.0",
    "other",
    "pddl",
    "postgresql",
    "unknown",
    "unlicense",
    "wtfpl",
    "zlib",
];

/// Where `--bundle-model` puts the model inside the Space: `hub/{repo}/resolve/{commit}/{path}`,
/// the layout of the Hub's resolve URLs, so `./hub` works as the page's endpoint.
pub const BUNDLE_DIR: &str = "hub";

/// What `lantern serve` reads back from a built Space's front matter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SpaceConfig {
    #[serde(default)]
    pub app_file: Option<String>,
    #[serde(default)]
    pub custom_headers: BTreeMap<String, String>,
}

impl SpaceConfig {
    /// The front matter of a Space's `README.md`; its `custom_headers` must be ones the Hub
    /// accepts.
    pub fn parse(readme: &str) -> anyhow::Result<SpaceConfig> {
        let yaml = crate::model_card::front_matter(readme)?
            .ok_or_else(|| anyhow::anyhow!("README.md has no YAML front matter"))?;
        let config: SpaceConfig = serde_norway::from_str(yaml)?;
        for (name, value) in &config.custom_headers {
            if !CUSTOM_HEADERS.iter().any(|(n, _)| n == name) {
                anyhow::bail!(
                    "custom_headers: {name:?} is not one a Space may set (only {})",
                    CUSTOM_HEADERS.map(|(n, _)| n).join(", ")
                );
            }
            if value.to_lowercase() != *value || name.to_lowercase() != *name {
                anyhow::bail!(
                    "custom_headers: names and values must be lower case ({name}: {value})"
                );
            }
        }
        Ok(config)
    }
}

pub fn readme(manifest: &DemoManifest, demo: &DemoConfig, bundled: bool) -> anyhow::Result<String> {
    let (from, to) = match &manifest.colors {
        Some(c) => (c.from.as_str(), c.to.as_str()),
        None => ("yellow", "red"),
    };
    for c in [from, to] {
        if !SPACE_COLORS.contains(&c) {
            anyhow::bail!(
                "colour {c:?} is not one a Space accepts ({})",
                SPACE_COLORS.join(", ")
            );
        }
    }
    if demo.title.trim().is_empty() {
        anyhow::bail!("the demo's title is empty");
    }
    // "Emoji-only character allowed": no letters, digits or spaces.
    if demo.emoji.is_empty()
        || demo
            .emoji
            .chars()
            .any(|c| c.is_ascii_alphanumeric() || c.is_whitespace())
    {
        anyhow::bail!(
            "emoji {:?} must be an emoji (the Space card shows it)",
            demo.emoji
        );
    }
    if let Some(license) = &demo.license
        && !HUB_LICENSES.contains(&license.as_str())
    {
        anyhow::bail!(
            "license {license:?} is not one of the Hub's license ids (e.g. apache-2.0, mit, \
             other; see https://huggingface.co/docs/hub/repositories-licenses)"
        );
    }
    let short = short_description(if demo.description.trim().is_empty() {
        format!("{} in the browser", demo.task)
    } else {
        demo.description.trim().to_owned()
    });

    let mut yaml = String::from("---\n");
    let mut field = |k: &str, v: &str| yaml.push_str(&format!("{k}: {}\n", quote(v)));
    field("title", &demo.title);
    field("emoji", &demo.emoji);
    field("colorFrom", from);
    field("colorTo", to);
    field("sdk", "static");
    field("app_file", "index.html");
    field("short_description", &short);
    if let Some(license) = &demo.license {
        field("license", license);
    }
    yaml.push_str(&format!(
        "models:\n  - {}\n",
        quote(&demo.model.repo.to_string())
    ));
    yaml.push_str(&format!(
        "tags:\n  - lantern\n  - webassembly\n  - {}\n",
        quote(demo.task.as_str())
    ));
    yaml.push_str("custom_headers:\n");
    for (name, value) in CUSTOM_HEADERS {
        yaml.push_str(&format!("  {name}: {value}\n"));
    }
    yaml.push_str("---\n\n");

    let source = if bundled {
        "The model files are part of this Space (under `hub/`), so it needs no other server."
            .to_owned()
    } else {
        format!("The model files are downloaded from {}.", demo.endpoint)
    };
    yaml.push_str(&format!(
        "# {emoji} {title}\n\n{description}\n\n\
         This Space runs [{repo}](https://huggingface.co/{repo}) ({task}, {size}, pinned at commit \
         `{commit}`) entirely in your browser: the model is downloaded once, verified against \
         its sha256, cached, and run on your device with WebAssembly (SIMD, and threads where \
         the page is cross-origin isolated, which the `custom_headers` above arrange). Nothing \
         you type leaves your machine. {source}\n\n\
         ## Embed it in any page\n\n\
         ```html\n\
         <script src=\"https://OWNER-SPACE.static.hf.space/widget.js\" defer></script>\n\
         <lantern-demo src=\"https://OWNER-SPACE.static.hf.space/\" width=\"100%\" height=\"640\"></lantern-demo>\n\
         ```\n\n\
         Replace `OWNER-SPACE` with this Space's owner and name. The widget runs the demo in an \
         iframe, so the page's styles and scripts and the demo's cannot interfere. `width` and \
         `height` take pixels or CSS lengths (`100%`, `40rem`); `backend=\"cpu\"` forces the CPU.\n\n\
         Built with Lantern.\n",
        emoji = demo.emoji,
        title = demo.title,
        description = demo.description,
        repo = demo.model.repo,
        task = demo.task,
        size = human_bytes(demo.model.total_size()),
        commit = demo.model.commit,
    ));
    Ok(yaml)
}

/// `.gitattributes` for the Space's repository: the Hub refuses binary files pushed as plain
/// git objects, so the wasm (and a bundled model) go through LFS.
pub fn gitattributes(bundled: bool) -> String {
    let mut out = String::from(
        "# Written by `lantern build`: binary files go through LFS, as the Hub requires.\n\
         *.wasm filter=lfs diff=lfs merge=lfs -text\n",
    );
    if bundled {
        out.push_str(&format!(
            "{BUNDLE_DIR}/** filter=lfs diff=lfs merge=lfs -text\n"
        ));
    }
    out
}

/// Cut to what the Hub accepts, counting UTF-16 code units as it does, on a character boundary.
fn short_description(text: String) -> String {
    let mut units = 0;
    let mut out = String::new();
    for c in text.chars() {
        units += c.len_utf16();
        if units > SHORT_DESCRIPTION_MAX {
            break;
        }
        out.push(c);
    }
    out
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn short_descriptions_count_utf16_units() {
        let s = short_description("🏮".repeat(40));
        assert_eq!(s.encode_utf16().count(), 60);
        assert_eq!(short_description("abc".into()), "abc");
    }

    #[test]
    fn custom_headers_are_checked() {
        let ok = "---\ncustom_headers:\n  cross-origin-opener-policy: same-origin\n---\n";
        assert_eq!(SpaceConfig::parse(ok).unwrap().custom_headers.len(), 1);
        let other = "---\ncustom_headers:\n  x-frame-options: deny\n---\n";
        assert!(SpaceConfig::parse(other).is_err());
        let upper = "---\ncustom_headers:\n  cross-origin-opener-policy: Same-Origin\n---\n";
        assert!(SpaceConfig::parse(upper).is_err());
        assert!(SpaceConfig::parse("no front matter").is_err());
    }
}
