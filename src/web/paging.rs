//! Paging, once for every list: the numbers a query string asks for, kept in
//! a sane range (a page past the end is an empty page, never an overflowing
//! OFFSET), and the pager every HTML list shows (`templates/partials/pager.html`).

use rocket::form::FromForm;

use crate::error::FieldErrors;

/// The highest page number a list accepts; beyond it a page reads as this.
pub const MAX_PAGE: i64 = 1_000_000;
/// The highest offset a `limit`/`offset` API accepts.
pub const MAX_OFFSET: i64 = 1_000_000_000;

/// Which slice of a list to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page number (for `limit`/`offset` lists, the page `offset` falls on).
    pub page: i64,
    /// Rows per page.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

impl Paging {
    /// An HTML list's `?page=`: anything missing, zero, negative or huge
    /// reads as the nearest page in range, so a hand-edited address still
    /// shows a page.
    pub fn page(page: Option<i64>, size: i64) -> Paging {
        let page = page.unwrap_or(1).clamp(1, MAX_PAGE);
        Paging {
            page,
            limit: size,
            offset: (page - 1) * size,
        }
    }

    /// A JSON API's `?page=&per_page=`: an out-of-range or non-numeric value
    /// is a field error (422), as APIs should say what they refused.
    pub fn page_per_page(
        page: Option<&str>,
        per_page: Option<&str>,
        default_size: i64,
        max_size: i64,
        errors: &mut FieldErrors,
    ) -> Paging {
        let page = number(errors, "page", page, 1, 1, MAX_PAGE);
        let limit = number(errors, "per_page", per_page, default_size, 1, max_size);
        Paging {
            page,
            limit,
            offset: (page - 1) * limit,
        }
    }

    /// A `?limit=&offset=` API (RealWorld's).
    pub fn limit_offset(
        limit: Option<&str>,
        offset: Option<&str>,
        default_limit: i64,
        max_limit: i64,
        errors: &mut FieldErrors,
    ) -> Paging {
        let limit = number(errors, "limit", limit, default_limit, 1, max_limit);
        let offset = number(errors, "offset", offset, 0, 0, MAX_OFFSET);
        Paging {
            page: offset / limit + 1,
            limit,
            offset,
        }
    }

    /// How many pages `total` rows fill (at least one).
    pub fn pages(&self, total: i64) -> i64 {
        ((total.max(0) + self.limit - 1) / self.limit).max(1)
    }
}

/// A JSON list's `?page=&per_page=` as sent (`?<paging..>` in a route),
/// checked by [`PageQuery::paging`].
#[derive(Debug, Default, FromForm)]
pub struct PageQuery<'r> {
    pub page: Option<&'r str>,
    pub per_page: Option<&'r str>,
}

impl PageQuery<'_> {
    /// The page asked for, or field errors in `errors` (see [`Paging::page_per_page`]).
    pub fn paging(&self, default_size: i64, max_size: i64, errors: &mut FieldErrors) -> Paging {
        Paging::page_per_page(self.page, self.per_page, default_size, max_size, errors)
    }
}

/// A JSON list's `?limit=&offset=` as sent (`?<paging..>` in a route),
/// checked by [`LimitOffsetQuery::paging`].
#[derive(Debug, Default, FromForm)]
pub struct LimitOffsetQuery<'r> {
    pub limit: Option<&'r str>,
    pub offset: Option<&'r str>,
}

impl LimitOffsetQuery<'_> {
    /// The slice asked for, or field errors in `errors` (see [`Paging::limit_offset`]).
    pub fn paging(&self, default_limit: i64, max_limit: i64, errors: &mut FieldErrors) -> Paging {
        Paging::limit_offset(self.limit, self.offset, default_limit, max_limit, errors)
    }
}

/// A whole number from a query string within `min..=max`, or a field error
/// and the default.
fn number(
    errors: &mut FieldErrors,
    field: &'static str,
    value: Option<&str>,
    default: i64,
    min: i64,
    max: i64,
) -> i64 {
    match value.map(|v| v.trim().parse::<i64>()) {
        None => default,
        Some(Ok(n)) if (min..=max).contains(&n) => n,
        Some(_) => {
            let what = if min == 0 { "0 or more" } else { "from 1" };
            errors.add(field, format!("Use a whole number {what} to {max}."));
            default
        }
    }
}

/// The pager under an HTML list: where this page sits, and links to its
/// neighbours (`templates/partials/pager.html`).
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// The list's address, with its other query parameters, without `page`.
    pub base: String,
    /// The link texts: "Previous"/"Next", or "Newer"/"Older" for logs.
    pub prev_label: &'static str,
    pub next_label: &'static str,
}

impl Pager {
    /// The pager for `paging` over `total` rows of the list at `base`.
    pub fn new(base: impl Into<String>, paging: Paging, total: i64) -> Pager {
        Pager {
            page: paging.page,
            pages: paging.pages(total),
            total,
            base: base.into(),
            prev_label: "Previous",
            next_label: "Next",
        }
    }

    /// The same pager for a newest-first log.
    pub fn newest_first(self) -> Pager {
        Pager {
            prev_label: "Newer",
            next_label: "Older",
            ..self
        }
    }

    /// The same list on page `page`.
    pub fn link(&self, page: i64) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}page={page}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages_are_clamped_into_range() {
        assert_eq!(Paging::page(None, 20).offset, 0);
        assert_eq!(Paging::page(Some(0), 20).page, 1);
        assert_eq!(Paging::page(Some(-5), 20).page, 1);
        let huge = Paging::page(Some(i64::MAX), 20);
        assert_eq!(huge.page, MAX_PAGE);
        assert_eq!(huge.offset, (MAX_PAGE - 1) * 20);
    }

    #[test]
    fn api_paging_refuses_what_it_cannot_serve() {
        let mut errors = FieldErrors::default();
        let p = Paging::page_per_page(Some("9223372036854775807"), Some("0"), 20, 100, &mut errors);
        assert_eq!((p.page, p.limit), (1, 20));
        assert!(errors.get("page").is_some() && errors.get("per_page").is_some());
        let mut errors = FieldErrors::default();
        let p = Paging::limit_offset(Some("10"), Some("25"), 20, 100, &mut errors);
        assert!(errors.is_empty());
        assert_eq!((p.limit, p.offset, p.page), (10, 25, 3));
    }

    #[test]
    fn links_keep_the_other_parameters() {
        let p = Pager::new("/admin/users?q=a", Paging::page(Some(2), 10), 35);
        assert_eq!(p.pages, 4);
        assert_eq!(p.link(3), "/admin/users?q=a&page=3");
        assert_eq!(
            Pager::new("/blog", Paging::page(None, 10), 0).link(2),
            "/blog?page=2"
        );
    }
}
