//! Which files a repo's `.gitattributes` puts under Git LFS (`filter=lfs`).
//!
//! Only the root `.gitattributes` is read, as Hub repos keep their LFS patterns there. Pattern
//! rules follow gitattributes(5): a pattern without `/` matches the file name at any depth;
//! otherwise it matches the whole path from the repo root, where `*` and `?` stop at `/` and `**`
//! spans folders. The last matching line that mentions `filter` wins.

#[derive(Debug, Default, Clone)]
pub(crate) struct LfsPatterns {
    /// Pattern, and whether it turns LFS on (`filter=lfs`) or off (`-filter`, `filter=other`).
    rules: Vec<(String, bool)>,
}

impl LfsPatterns {
    pub(crate) fn parse(text: &str) -> Self {
        let mut rules = Vec::new();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let Some(pattern) = words.next() else {
                continue;
            };
            // Quoted patterns and macro definitions are rare in Hub repos; such lines are skipped
            // rather than half-understood. `!` patterns are forbidden in gitattributes.
            if pattern.starts_with(['#', '"', '!']) || pattern.starts_with("[attr]") {
                continue;
            }
            let mut lfs = None;
            for attr in words {
                match attr {
                    "filter=lfs" => lfs = Some(true),
                    "-filter" | "!filter" => lfs = Some(false),
                    a if a.starts_with("filter=") => lfs = Some(false),
                    _ => {}
                }
            }
            if let Some(on) = lfs {
                let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
                rules.push((pattern.to_owned(), on));
            }
        }
        LfsPatterns { rules }
    }

    pub(crate) fn is_lfs(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.rules
            .iter()
            .rev()
            .find(|(pattern, _)| {
                if pattern.contains('/') {
                    wildmatch(pattern.as_bytes(), path.as_bytes())
                } else {
                    wildmatch(pattern.as_bytes(), name.as_bytes())
                }
            })
            .is_some_and(|(_, on)| *on)
    }
}

/// Git's wildmatch with `WM_PATHNAME`: `*`, `?` and `[...]` never match `/`; `**/` matches zero
/// or more folders; any other `**` matches anything.
fn wildmatch(p: &[u8], t: &[u8]) -> bool {
    match p {
        [] => t.is_empty(),
        [b'*', b'*', b'/', rest @ ..] => {
            wildmatch(rest, t)
                || t.iter()
                    .enumerate()
                    .any(|(i, &c)| c == b'/' && wildmatch(rest, &t[i + 1..]))
        }
        [b'*', b'*', rest @ ..] => (0..=t.len()).any(|i| wildmatch(rest, &t[i..])),
        [b'*', rest @ ..] => {
            for i in 0..=t.len() {
                if wildmatch(rest, &t[i..]) {
                    return true;
                }
                if t.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        [b'?', rest @ ..] => match t {
            [c, tail @ ..] if *c != b'/' => wildmatch(rest, tail),
            _ => false,
        },
        [b'[', rest @ ..] => match (class_match(rest, t.first().copied()), t) {
            (Some((true, after)), [_, tail @ ..]) => wildmatch(after, tail),
            (Some(_), _) => false,
            // No closing bracket: a literal '['.
            (None, [b'[', tail @ ..]) => wildmatch(rest, tail),
            (None, _) => false,
        },
        [b'\\', c, rest @ ..] => t.first() == Some(c) && wildmatch(rest, &t[1..]),
        [c, rest @ ..] => t.first() == Some(c) && wildmatch(rest, &t[1..]),
    }
}

/// Matches `c` against the class that starts after `[`; returns whether it matched and the
/// pattern after the closing `]`, or `None` when the class is not closed.
fn class_match(p: &[u8], c: Option<u8>) -> Option<(bool, &[u8])> {
    let (negated, body) = match p {
        [b'!' | b'^', rest @ ..] => (true, rest),
        _ => (false, p),
    };
    // A ']' right after the opening bracket is a member, not the end.
    let end = body
        .iter()
        .skip(1)
        .position(|&b| b == b']')
        .map(|i| i + 1)?;
    let members = &body[..end];
    let after = &body[end + 1..];
    let Some(c) = c.filter(|&c| c != b'/') else {
        return Some((false, after));
    };
    let mut hit = false;
    let mut i = 0;
    while i < members.len() {
        if members.get(i + 1) == Some(&b'-') && i + 2 < members.len() {
            hit |= (members[i]..=members[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= members[i] == c;
            i += 1;
        }
    }
    Some((hit != negated, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hub_default_patterns() {
        let p = LfsPatterns::parse(
            "*.bin filter=lfs diff=lfs merge=lfs -text\n\
             # comment\n\
             *.tar.* filter=lfs\n\
             saved_model/**/* filter=lfs diff=lfs merge=lfs -text \n\
             *tfevents* filter=lfs\n\
             model.safetensors filter=lfs\n\
             /onnx/*.onnx filter=lfs\n\
             small.bin -filter\n\
             [ab]?.pt filter=lfs\n",
        );
        for yes in [
            "pytorch_model.bin",
            "sub/dir/x.bin",
            "a.tar.gz",
            "saved_model/x",
            "saved_model/variables/v.data",
            "events.out.tfevents.123",
            "model.safetensors",
            "deep/model.safetensors",
            "onnx/model.onnx",
            "a1.pt",
        ] {
            assert!(p.is_lfs(yes), "{yes} should be LFS");
        }
        for no in [
            "config.json",
            "model.safetensors.index.json",
            "x.binary",
            "small.bin",
            "other/onnx/model.onnx",
            "saved_model",
            "c1.pt",
            "abc.pt",
        ] {
            assert!(!p.is_lfs(no), "{no} should not be LFS");
        }
    }

    #[test]
    fn wildmatch_edge_cases() {
        assert!(wildmatch(b"**/x", b"x"));
        assert!(wildmatch(b"**/x", b"a/b/x"));
        assert!(wildmatch(b"a/**", b"a/b/c"));
        assert!(!wildmatch(b"a/*", b"a/b/c"));
        assert!(wildmatch(b"a/**/b", b"a/b"));
        assert!(wildmatch(b"a/**/b", b"a/x/y/b"));
        assert!(wildmatch(b"[!a]x", b"bx"));
        assert!(!wildmatch(b"[!a]x", b"ax"));
        assert!(wildmatch(b"[]]", b"]"));
        assert!(wildmatch(b"[x", b"[x"));
        assert!(wildmatch(b"\\*", b"*"));
        assert!(!wildmatch(b"\\*", b"a"));
    }
}
