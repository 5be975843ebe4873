//! Article and comment input, its validation, and slugs.

use rocket::form::FromForm;

use crate::error::FieldErrors;
use crate::web::text::{check_length, check_tags, one_line, split_tags};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest description (the summary shown in lists), in characters.
pub const DESCRIPTION_MAX: usize = 500;
/// Longest article body, in characters. The pages' 64 KiB form limit
/// (Rocket.toml) is the real bound there; this keeps the API in step.
pub const BODY_MAX: usize = 50_000;
/// Longest comment, in characters.
pub const COMMENT_MAX: usize = 5_000;
/// Most tags on one article.
pub const TAGS_MAX: usize = 10;
/// Longest tag, in characters.
pub const TAG_MAX: usize = 40;
/// Longest slug base taken from a title, in characters.
const SLUG_MAX: usize = 80;
/// Slugs that would shadow a blog page (`/blog/new`, `/blog/feed`, and
/// `/blog/tag/…`, `/blog/author/…`, whose routes outrank
/// `/blog/<slug>/edit`).
pub const RESERVED_SLUGS: &[&str] = &["new", "feed", "tag", "author"];

/// The write/edit form as sent; `tags` is comma-separated.
#[derive(Debug, Clone, Default, FromForm)]
pub struct ArticleForm {
    #[field(default = String::new())]
    pub title: String,
    #[field(default = String::new())]
    pub description: String,
    #[field(default = String::new())]
    pub body: String,
    #[field(default = String::new())]
    pub tags: String,
}

/// A validated article, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleInput {
    pub title: String,
    pub description: String,
    pub body: String,
    pub tags: Vec<String>,
}

/// Multi-line text: Windows line ends made plain, trimmed.
fn text(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_string()
}

impl ArticleInput {
    /// Validate raw values (from the form or the API). Tags are trimmed,
    /// lower-cased and de-duplicated, then stored in alphabetical order.
    pub fn validate(
        title: &str,
        description: &str,
        body: &str,
        tags: &[String],
    ) -> Result<ArticleInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = one_line(title);
        check_length(
            &mut errors,
            "title",
            &title,
            TITLE_MAX,
            "Give the article a title.",
        );
        let description = one_line(description);
        check_length(
            &mut errors,
            "description",
            &description,
            DESCRIPTION_MAX,
            "Sum the article up in a sentence.",
        );
        let body = text(body);
        check_length(
            &mut errors,
            "body",
            &body,
            BODY_MAX,
            "Write the article's text.",
        );
        let mut tags = split_tags(&tags.join(","));
        check_tags(&mut errors, "tagList", &tags, TAGS_MAX, TAG_MAX);
        tags.sort();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ArticleInput {
            title,
            description,
            body,
            tags,
        })
    }
}

impl ArticleForm {
    /// Validate every field, collecting a message per field (the tag
    /// message is shown beside the form's `tags` field).
    pub fn validate(&self) -> Result<ArticleInput, FieldErrors> {
        ArticleInput::validate(
            &self.title,
            &self.description,
            &self.body,
            &split_tags(&self.tags),
        )
        .map_err(|mut errors| {
            if let Some(m) = errors.0.remove("tagList") {
                errors.add("tags", m);
            }
            errors
        })
    }
}

/// A validated comment body.
pub fn validate_comment(body: &str) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::default();
    let body = text(body);
    check_length(
        &mut errors,
        "body",
        &body,
        COMMENT_MAX,
        "Write something first.",
    );
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

/// The comment form.
#[derive(Debug, Clone, Default, FromForm)]
pub struct CommentForm {
    #[field(default = String::new())]
    pub body: String,
    /// The comment answered, for a reply.
    pub parent_id: Option<i64>,
}

/// The slug a title asks for: lower-case letters and digits (any script)
/// joined by single hyphens, at most 80 characters, never empty.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if slug.chars().count() >= SLUG_MAX {
                break;
            }
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "article".into()
    } else {
        slug.into()
    }
}

/// The slug to try on the `attempt`-th try (0 first): the base, then
/// `base-2`, `base-3`…, then a random suffix once those are taken.
pub fn slug_candidate(base: &str, attempt: usize) -> String {
    match attempt {
        0 if !RESERVED_SLUGS.contains(&base) => base.to_string(),
        0 | 1 => format!("{base}-2"),
        n if n < 5 => format!("{base}-{}", n + 1),
        _ => {
            let suffix: String = crate::session::random_token()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(6)
                .collect::<String>()
                .to_lowercase();
            format!("{base}-{suffix}")
        }
    }
}

/// Unix seconds as the API's ISO 8601 time, with milliseconds:
/// `2026-11-25T16:06:27.000Z`.
pub fn iso_time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert_eq!(
            slugify("How to train your dragon"),
            "how-to-train-your-dragon"
        );
        assert_eq!(slugify("  Rust & SQL: 2026!  "), "rust-sql-2026");
        assert_eq!(slugify("Café Ünïcode"), "café-ünïcode");
        assert_eq!(slugify("!!!"), "article");
        assert_eq!(slugify(&"a".repeat(300)).len(), 80);
    }

    #[test]
    fn slug_candidates_avoid_reserved_words() {
        assert_eq!(slug_candidate("feed", 0), "feed-2");
        assert_eq!(slug_candidate("post", 0), "post");
        assert_eq!(slug_candidate("post", 1), "post-2");
        assert_eq!(slug_candidate("post", 4), "post-5");
        assert!(slug_candidate("post", 5).starts_with("post-"));
    }

    #[test]
    fn tags_are_normalised_and_sorted() {
        let a = ArticleInput::validate(
            "T",
            "D",
            "B",
            &["training".into(), "Dragons".into(), "dragons".into()],
        )
        .unwrap();
        assert_eq!(a.tags, vec!["dragons".to_string(), "training".to_string()]);
    }

    #[test]
    fn times_have_milliseconds() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_764_086_787), "2025-11-25T16:06:27.000Z");
    }
}
