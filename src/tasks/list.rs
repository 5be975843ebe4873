//! The list view of a project's tasks (filtered, sorted and paged as
//! `query.rs` says), and "My tasks": what is assigned to me across
//! projects, by when it is due.

use rocket::{get, routes, FromForm, Route};

use super::actions::project_for;
use super::cards;
use super::columns;
use super::items;
use super::labels;
use super::query::{self, Params, MAX_DEPTH};
use super::repo;
use super::views::{ListForm, ListPage, MineGroup, MinePage, MineView, ProjectView, TaskView};
use super::zone::{self, localise_all};
use crate::accounts::timezone;
use crate::db::Db;
use crate::error::{AppResult, FieldErrors};
use crate::session::CurrentUser;
use crate::web::paging::{Pager, Paging};
use crate::web::{Layout, Reply};

/// Tasks per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The list's filters and order as sent; anything unreadable means "any"
/// (and is said above the list).
#[derive(Debug, Default, FromForm)]
struct ListFilter<'r> {
    column: Option<&'r str>,
    assignee: Option<&'r str>,
    label: Option<&'r str>,
    due_before: Option<&'r str>,
    due_after: Option<&'r str>,
    overdue: Option<&'r str>,
    q: Option<&'r str>,
    sort: Option<&'r str>,
    dir: Option<&'r str>,
    page: Option<&'r str>,
}

#[get("/tasks/<id>/list?<filter..>")]
async fn list(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    filter: ListFilter<'_>,
) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    let mut errors = FieldErrors::default();
    let tz = timezone::of(db, user.id).await?;
    let query = Params {
        column_id: filter.column,
        assignee_id: filter.assignee,
        label_id: filter.label,
        due_before: filter.due_before,
        due_after: filter.due_after,
        overdue: filter.overdue,
        q: filter.q,
        sort: filter.sort,
        dir: filter.dir,
    }
    .query(&tz, &mut errors);
    let page = filter.page.and_then(|p| p.trim().parse::<i64>().ok());
    // Bounded paging: the deepest page starts at MAX_DEPTH.
    let page = page.map(|p| p.clamp(1, MAX_DEPTH / PAGE_SIZE + 1));
    let paging = Paging::page(page, PAGE_SIZE);
    let (mut tasks, total) = query::list(db, id, &query, paging.limit, paging.offset).await?;
    localise_all(&mut tasks, &tz);
    let form = ListForm::of(&query);
    let base = format!("/tasks/{id}/list?{}", form.query_string());
    let ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    let mut pager = Pager::new(base, paging, total);
    pager.pages = pager.pages.min(MAX_DEPTH / PAGE_SIZE + 1);
    Reply::page(&ListPage {
        layout,
        project: ProjectView::from(&project),
        tasks: tasks.iter().map(TaskView::summary).collect(),
        columns: columns::list(db, id).await?,
        members: repo::members(db, id).await?,
        labels: labels::list(db, id).await?,
        extras: cards::load(db, &ids).await?,
        form,
        errors,
        pager,
    })
}

/// Most tasks "My tasks" shows.
pub const MINE_MAX: i64 = 500;

/// Which group of "My tasks" a due date falls in, seen from `today`:
/// 0 overdue, 1 today, 2 the next six days, 3 later, 4 no date.
pub fn group_of(due: Option<&str>, today: time::Date) -> usize {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Some(date) = due.and_then(|d| time::Date::parse(d, &format).ok()) else {
        return 4;
    };
    let days = (date - today).whole_days();
    match days {
        d if d < 0 => 0,
        0 => 1,
        1..=6 => 2,
        _ => 3,
    }
}

#[get("/tasks/mine")]
async fn mine(db: &Db, user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    let tz = timezone::of(db, user.id).await?;
    let today = zone::today(&tz);
    let mut tasks = items::assigned_to(db, user.id, MINE_MAX).await?;
    localise_all(&mut tasks, &tz);
    // Timed tasks were ordered by their UTC date; in the member's zone
    // the order of dates is the same, but "today" is theirs.
    let mut groups: Vec<MineGroup> = ["Overdue", "Today", "This week", "Later", "No due date"]
        .iter()
        .map(|title| MineGroup {
            title,
            tasks: Vec::new(),
        })
        .collect();
    let total = tasks.len();
    for t in tasks {
        let g = group_of(t.due_date.as_deref(), today);
        groups[g].tasks.push(MineView::from(t));
    }
    Reply::page(&MinePage {
        layout,
        groups,
        zone: tz.iana_name().unwrap_or("UTC").to_string(),
        total,
        max: MINE_MAX as usize,
    })
}

/// The list page and "My tasks".
pub fn routes() -> Vec<Route> {
    routes![list, mine]
}

#[cfg(test)]
mod tests {
    use super::group_of;

    #[test]
    fn due_dates_fall_into_groups_from_today() {
        let today = time::macros::date!(2026 - 12 - 07);
        assert_eq!(group_of(Some("2026-12-06"), today), 0);
        assert_eq!(group_of(Some("2026-12-07"), today), 1);
        assert_eq!(group_of(Some("2026-12-13"), today), 2);
        assert_eq!(group_of(Some("2026-12-14"), today), 3);
        assert_eq!(group_of(None, today), 4);
        assert_eq!(group_of(Some("garbage"), today), 4);
    }
}
