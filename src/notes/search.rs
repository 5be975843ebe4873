//! The note list: search, tag filter, archived on request, pinned first,
//! paging. The only SQL in the app that differs by backend for notes is
//! the full-text clause in [`list`].
//!
//! A search is split into whitespace-separated terms. Every term must
//! occur *literally* (case-insensitively) in the title or body, so `%`,
//! `_`, `\` and quotes mean themselves and `50%` never matches `500`; a
//! term of letters and digits only must occur as a word. The
//! full-text index narrows the candidates first, using the word characters
//! of each term: FTS5 gets each term as a quoted phrase (with the owner's
//! token, so only their notes are walked), Postgres gets the words through
//! `plainto_tsquery`, so nothing typed is ever query syntax.
//! Terms without a single letter or digit (`%`, `"`) have no words to
//! index and are only checked literally against the member's own notes.

use super::model::QUERY_MAX;
use super::repo::{with_tags, Note, Row, COLUMNS};
use crate::db::{Backend, DbPool};
use crate::error::AppResult;

/// What the list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListQuery {
    /// The search text ("" for none).
    pub q: String,
    /// Only notes with this tag.
    pub tag: Option<String>,
    /// Include archived notes.
    pub archived: bool,
    /// Rows per page.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
    /// Also the owner's tags, for the page's tag filter (asked with the
    /// count, in the same round trip).
    pub owner_tags: bool,
}

/// A page of the list.
pub struct Listed {
    pub notes: Vec<Note>,
    /// Notes that match, on every page.
    pub total: i64,
    /// With [`ListQuery::owner_tags`]: every tag of the owner's,
    /// alphabetically (at most 200), else empty.
    pub tags: Vec<String>,
}

enum Param {
    Int(i64),
    Text(String),
}

/// The search text's terms (at most 20, the text cut to [`QUERY_MAX`]).
pub fn terms(q: &str) -> Vec<String> {
    let q: String = q.chars().take(QUERY_MAX).filter(|c| *c != '\0').collect();
    q.split_whitespace().take(20).map(str::to_string).collect()
}

/// A term as an FTS5 phrase: in double quotes, inner quotes doubled, so
/// FTS5 reads no operator, column filter or prefix star in it.
fn fts5_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// Add a parameter; its placeholder.
fn next(params: &mut Vec<Param>, p: Param) -> String {
    params.push(p);
    format!("${}", params.len())
}

fn has_word(term: &str) -> bool {
    term.chars().any(char::is_alphanumeric)
}

/// One page of the owner's notes matching `query`, and how many match.
pub async fn list(db: &DbPool, user_id: i64, query: &ListQuery) -> AppResult<Listed> {
    let mut params = vec![Param::Int(user_id)];
    let mut filter = String::from("n.user_id = $1");
    if !query.archived {
        filter.push_str(" AND n.archived = 0");
    }
    if let Some(tag) = &query.tag {
        let p = next(&mut params, Param::Text(tag.clone()));
        filter.push_str(&format!(
            " AND n.id IN (SELECT t.note_id FROM note_tags t WHERE t.user_id = $1 AND t.tag = {p})"
        ));
    }
    let terms = terms(&query.q);
    let worded: Vec<&String> = terms.iter().filter(|t| has_word(t)).collect();
    if !worded.is_empty() {
        match db.backend {
            Backend::Sqlite => {
                // The owner's token first: FTS5 then walks only their notes.
                let mut expr = format!("owner : \"u{user_id}\"");
                for t in &worded {
                    expr.push_str(&format!(" AND {{title body}} : {}", fts5_phrase(t)));
                }
                let p = next(&mut params, Param::Text(expr));
                filter.push_str(&format!(
                    " AND n.id IN (SELECT rowid FROM notes_fts WHERE notes_fts MATCH {p})"
                ));
            }
            Backend::Postgres => {
                let words: Vec<&str> = worded.iter().map(|t| t.as_str()).collect();
                let p = next(&mut params, Param::Text(words.join(" ")));
                // The owner's lexeme too: GIN then skips other members' notes.
                let owner = next(&mut params, Param::Text(format!("owner{user_id}")));
                filter.push_str(&format!(
                    " AND n.search @@ (plainto_tsquery('simple', {p}) \
                     && plainto_tsquery('simple', {owner}))"
                ));
            }
        }
    }
    // A term of letters and digits only is one word to the index, and its
    // match already implies the substring; only terms with other
    // characters (`50%`, `snake_case`, `it's`) need the literal test.
    for term in terms
        .iter()
        .filter(|t| !t.chars().all(char::is_alphanumeric))
    {
        let p = next(&mut params, Param::Text(term.clone()));
        // A substring test, not LIKE: no character in the term is special.
        let position = match db.backend {
            Backend::Sqlite => "instr",
            Backend::Postgres => "strpos",
        };
        filter.push_str(&format!(
            " AND {position}(lower(n.title || ' ' || n.body), lower({p})) > 0"
        ));
    }

    // The count's row has no tag; the owner's tags (when asked) follow.
    let mut count_sql = format!("SELECT NULL AS tag, COUNT(*) AS n FROM notes n WHERE {filter}");
    if query.owner_tags {
        count_sql.push_str(&format!(
            " UNION ALL SELECT tag, 0 FROM ({}) t",
            super::repo::OWNER_TAGS
        ));
    }
    let mut count = sqlx::query_as::<_, (Option<String>, i64)>(&count_sql);
    for p in &params {
        count = match p {
            Param::Int(v) => count.bind(*v),
            Param::Text(v) => count.bind(v.as_str()),
        };
    }
    let (total, tags) = crate::db::count_and_tags(count.fetch_all(&db.pool).await?);
    let mut tags: Vec<String> = tags.into_iter().map(|(tag, _)| tag).collect();
    tags.sort();

    let limit = next(&mut params, Param::Int(query.limit));
    let offset = next(&mut params, Param::Int(query.offset));
    let page_sql = format!(
        "SELECT {COLUMNS} FROM notes n WHERE {filter} \
         ORDER BY n.pinned DESC, n.updated_at DESC, n.id DESC LIMIT {limit} OFFSET {offset}"
    );
    let mut page = sqlx::query_as::<_, Row>(&page_sql);
    for p in &params {
        page = match p {
            Param::Int(v) => page.bind(*v),
            Param::Text(v) => page.bind(v.as_str()),
        };
    }
    let rows = page.fetch_all(&db.pool).await?;
    Ok(Listed {
        notes: with_tags(db, rows).await?,
        total,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_phrases_quote_everything() {
        assert_eq!(fts5_phrase(r#"a"b OR c*"#), r#""a""b OR c*""#);
    }

    #[test]
    fn terms_split_on_whitespace_and_drop_nul() {
        assert_eq!(terms(" 50%  a_b\0 "), vec!["50%", "a_b"]);
        assert!(!has_word("%_\"'"));
        assert!(has_word("50%"));
    }
}
