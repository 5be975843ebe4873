//! The list view of a project's tasks: filtered by column, assignee and
//! words in the title or description, in board order, paged.

use rocket::{get, routes, FromForm, Route};

use super::actions::project_for;
use super::columns;
use super::items::{self, Filter};
use super::repo;
use super::views::{ListPage, ProjectView, TaskView};
use crate::db::Db;
use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::web::paging::{Pager, Paging};
use crate::web::{enc, Layout, Reply};

/// Tasks per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The list's filters as sent; anything unreadable means "any".
#[derive(Debug, Default, FromForm)]
struct ListFilter<'r> {
    column: Option<&'r str>,
    assignee: Option<&'r str>,
    q: Option<&'r str>,
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
    let column_id = filter.column.and_then(|c| c.trim().parse::<i64>().ok());
    let assignee_id = filter.assignee.and_then(|a| a.trim().parse::<i64>().ok());
    let q: String = filter.q.unwrap_or("").chars().take(200).collect();
    let page = filter.page.and_then(|p| p.trim().parse::<i64>().ok());
    let paging = Paging::page(page, PAGE_SIZE);
    let query = Filter {
        column_id,
        assignee_id,
        q: q.clone(),
    };
    let (tasks, total) = items::list(db, id, &query, paging.limit, paging.offset).await?;
    let column = column_id.map(|c| c.to_string()).unwrap_or_default();
    let assignee = assignee_id.map(|a| a.to_string()).unwrap_or_default();
    let base = format!(
        "/tasks/{id}/list?column={column}&assignee={assignee}&q={}",
        enc(&q)
    );
    Reply::page(&ListPage {
        layout,
        project: ProjectView::from(&project),
        tasks: tasks.iter().map(TaskView::summary).collect(),
        columns: columns::list(db, id).await?,
        members: repo::members(db, id).await?,
        column,
        assignee,
        q,
        pager: Pager::new(base, paging, total),
    })
}

/// The list page.
pub fn routes() -> Vec<Route> {
    routes![list]
}
