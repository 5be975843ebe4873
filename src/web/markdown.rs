//! Markdown rendering shared by every feature that stores Markdown (notes,
//! the blog, chat, tasks, the shop).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Markdown to HTML that is safe to show: raw HTML in the source is shown
/// as text (never interpreted), and ammonia's allow-list then removes
/// anything else that could run script (`javascript:` links, `on*`
/// attributes, `<script>`, `<style>`...).
///
/// The HTML is a function of the source text alone, so what was rendered
/// is kept by its source ([`Rendered`]): a note or an article shown again
/// is not parsed and cleaned again (a third of a note page's instructions).
/// Such a cache needs no invalidation, in this process or any other: an
/// edited text is a different key.
pub fn render_markdown(source: &str) -> String {
    if source.len() > KEEP_MAX {
        return render(source);
    }
    if let Some(html) = RENDERED.get(source) {
        return html.to_string();
    }
    let html = render(source);
    RENDERED.put(source, &html);
    html
}

fn render(source: &str) -> String {
    use pulldown_cmark::{html, Event, Options, Parser};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events);
    SANITIZER.clean(&unsafe_html).to_string()
}

/// Longest source whose rendering is kept (longer ones are rare, and
/// would take a generation's room alone).
const KEEP_MAX: usize = 64 * 1024;
/// Bytes of source and HTML one generation of [`Rendered`] holds.
const GENERATION_BYTES: usize = 4 * 1024 * 1024;

/// Rendered Markdown by source, in two generations: new renderings go into
/// the young one; when it is full it becomes the old one (the previous old
/// one is dropped), and a text found in the old one moves back to the
/// young one. What is shown often stays; memory stays under two
/// generations ([`GENERATION_BYTES`]).
struct Rendered(Mutex<Generations>);

#[derive(Default)]
struct Generations {
    young: HashMap<Box<str>, Arc<str>>,
    young_bytes: usize,
    old: HashMap<Box<str>, Arc<str>>,
}

static RENDERED: std::sync::LazyLock<Rendered> =
    std::sync::LazyLock::new(|| Rendered(Mutex::new(Generations::default())));

impl Rendered {
    fn get(&self, source: &str) -> Option<Arc<str>> {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(html) = g.young.get(source) {
            return Some(html.clone());
        }
        let (key, html) = g.old.remove_entry(source)?;
        g.insert(key, html.clone());
        Some(html)
    }

    fn put(&self, source: &str, html: &str) {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        g.insert(source.into(), html.into());
    }
}

impl Generations {
    fn insert(&mut self, source: Box<str>, html: Arc<str>) {
        let bytes = source.len() + html.len();
        if self.young_bytes + bytes > GENERATION_BYTES {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        self.young_bytes += bytes;
        // Two requests may render the same new text at once; the second
        // replaces the first's (equal) HTML, and its bytes count once.
        if self.young.insert(source, html).is_some() {
            self.young_bytes -= bytes;
        }
    }
}

/// The allow-list, built once: building it (a few hundred tag and
/// attribute names into hash sets) cost more than cleaning a note
/// (callgrind: 50,000 instructions of a note page's 283,000).
static SANITIZER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_formatting_and_drops_script() {
        let html = render_markdown(
            "# Hi\n\n*em* <script>alert(1)</script> [x](javascript:alert(1)) \
             <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<h1>Hi</h1>"));
        assert!(html.contains("<em>em</em>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("<img"));
    }

    #[test]
    fn a_kept_rendering_is_the_same_and_generations_stay_bounded() {
        let source = "*kept* <b>x</b>";
        let first = render_markdown(source);
        assert_eq!(render_markdown(source), first);
        assert_eq!(first, render(source));

        let mut g = Generations::default();
        let big = "x".repeat(GENERATION_BYTES / 3);
        for i in 0..10 {
            g.insert(format!("{i}{big}").into(), "h".into());
            assert!(g.young_bytes <= GENERATION_BYTES);
        }
        assert!(g.young.len() + g.old.len() <= 5);
        g.insert("a".into(), "b".into());
        g.insert("a".into(), "b".into());
        assert_eq!(g.young.get("a").map(|h| &**h), Some("b"));
    }
}
