//! What cards, list rows and the task page show besides the task itself:
//! its labels and its checklist's progress, loaded for a whole board or
//! page in two queries (never one per card).

use std::collections::HashMap;

use super::checklist::{self, Item};
use super::labels::{self, Label};
use crate::db::DbPool;
use crate::error::{AppResult, FieldErrors};

/// One card's labels and checklist progress.
#[derive(Debug, Clone, Default)]
pub struct CardExtras {
    pub labels: Vec<Label>,
    pub done: i64,
    pub total: i64,
}

impl CardExtras {
    /// True when the task has a checklist.
    pub fn has_checklist(&self) -> bool {
        self.total > 0
    }
}

/// The extras of every card on a page.
#[derive(Debug, Default)]
pub struct Extras {
    cards: HashMap<i64, CardExtras>,
    none: CardExtras,
}

impl Extras {
    /// The extras of task `id` (empty when it has none).
    pub fn of(&self, id: &i64) -> &CardExtras {
        self.cards.get(id).unwrap_or(&self.none)
    }
}

/// The labels and checklist progress of `task_ids`.
pub async fn load(db: &DbPool, task_ids: &[i64]) -> AppResult<Extras> {
    let mut by_task = labels::of_tasks(db, task_ids).await?;
    let progress = checklist::progress(db, task_ids).await?;
    let mut cards = HashMap::new();
    for id in task_ids {
        let labels = by_task.remove(id).unwrap_or_default();
        let (done, total) = progress.get(id).copied().unwrap_or((0, 0));
        if !labels.is_empty() || total > 0 {
            cards.insert(
                *id,
                CardExtras {
                    labels,
                    done,
                    total,
                },
            );
        }
    }
    Ok(Extras {
        cards,
        none: CardExtras::default(),
    })
}

/// The task page's labels and checklist, with the forms' input and errors.
#[derive(Debug, Default)]
pub struct TaskExtras {
    /// Every label of the project, and whether the task has it.
    pub labels: Vec<(Label, bool)>,
    pub checklist: Vec<Item>,
    pub done: i64,
    /// The add-item form's text, and what is wrong with it.
    pub text: String,
    pub errors: FieldErrors,
    /// The item whose rename failed, with the text typed.
    pub renaming: Option<(i64, String)>,
}

impl TaskExtras {
    /// The labels the task has.
    pub fn chosen(&self) -> Vec<&Label> {
        self.labels
            .iter()
            .filter(|(_, on)| *on)
            .map(|(l, _)| l)
            .collect()
    }

    /// What the rename field of item `id` shows.
    pub fn text_of<'a>(&'a self, item: &'a Item) -> &'a str {
        match &self.renaming {
            Some((id, text)) if *id == item.id => text,
            _ => &item.text,
        }
    }

    /// The error beside item `id`'s rename field, if that one failed.
    pub fn rename_error(&self, item: &Item) -> Option<&str> {
        match &self.renaming {
            Some((id, _)) if *id == item.id => self.errors.get("rename"),
            _ => None,
        }
    }
}

/// The task page's labels and checklist.
pub async fn for_task(db: &DbPool, project_id: i64, task_id: i64) -> AppResult<TaskExtras> {
    let all = labels::list(db, project_id).await?;
    let mine = labels::of_tasks(db, &[task_id])
        .await?
        .remove(&task_id)
        .unwrap_or_default();
    let items = checklist::list(db, task_id).await?;
    Ok(TaskExtras {
        labels: all
            .into_iter()
            .map(|l| {
                let on = mine.iter().any(|m| m.id == l.id);
                (l, on)
            })
            .collect(),
        done: items.iter().filter(|i| i.done != 0).count() as i64,
        checklist: items,
        ..TaskExtras::default()
    })
}
