//! `GET/POST /contact` and the thank-you page.

use askama::Template;
use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::model::{AckMail, ContactForm, ContactMail, NewMessage};
use super::{repo, ContactConfig};
use crate::db::begin_write;
use crate::error::{AppResult, FieldErrors};
use crate::mail::{self, MailContent};
use crate::session::CsrfForm;
use crate::web::ratelimit::{self, Limit};
use crate::web::{Ctx, Layout, Reply};

#[derive(Template)]
#[template(path = "contact/form.html")]
struct ContactPage {
    layout: Layout,
    form: ContactForm,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "contact/thanks.html")]
struct ThanksPage {
    layout: Layout,
}

#[get("/contact")]
fn contact_page(layout: Layout) -> AppResult<Reply> {
    Reply::page(&ContactPage {
        layout,
        form: ContactForm::default(),
        errors: FieldErrors::default(),
    })
}

#[post("/contact", data = "<form>")]
async fn send(
    ctx: Ctx<'_>,
    settings: &State<ContactConfig>,
    layout: Layout,
    form: CsrfForm<ContactForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    // Count the message before storing it, or a burst of parallel posts
    // would all pass the limit; a form sent back for correction is forgiven.
    let counted = count_message(&ctx, settings).await?;
    let message = match form.validate() {
        Ok(m) => m,
        Err(errors) => {
            ratelimit::forgive(ctx.db, counted).await?;
            return show_again(layout, form, errors);
        }
    };
    store_and_queue_mails(&ctx, settings, &message, form.is_spam()).await?;
    ctx.wakeup.notify();
    // Spam gets the very same answer: nothing tells a bot it was caught.
    Ok(Reply::to("/contact/thanks"))
}

/// Count one message against the sender's hourly limit (429 beyond it).
async fn count_message(ctx: &Ctx<'_>, settings: &ContactConfig) -> AppResult<i64> {
    let limit = Limit {
        max: settings.per_address_per_hour,
        window: 3600,
    };
    let bucket = format!("contact:{}", ctx.ip.bucket_key());
    ratelimit::attempt(ctx.db, &bucket, limit).await
}

/// The form again, with what was typed (but never the honeypot) and a
/// message beside each field.
fn show_again(layout: Layout, form: ContactForm, errors: FieldErrors) -> AppResult<Reply> {
    let form = ContactForm {
        website: String::new(),
        ..form
    };
    Reply::page_with(
        Status::UnprocessableEntity,
        &ContactPage {
            layout,
            form,
            errors,
        },
    )
}

/// Store the message and queue its mails in one transaction, before any
/// attempt to send: an SMTP outage cannot lose a message. Spam is stored,
/// marked, and mailed to nobody.
async fn store_and_queue_mails(
    ctx: &Ctx<'_>,
    settings: &ContactConfig,
    message: &NewMessage,
    spam: bool,
) -> AppResult<()> {
    let mut tx = begin_write(ctx.db).await?;
    let id = repo::insert(&mut tx, message, &ctx.ip.label(), &ctx.ua.0, spam).await?;
    if !spam {
        let recipients = if settings.recipients.is_empty() {
            repo::admin_emails(&mut tx).await?
        } else {
            settings.recipients.clone()
        };
        if recipients.is_empty() {
            log::warn!("contact message {id} stored, but there is no admin or contact.recipients to mail it to");
        }
        let base = ctx.cfg.base_url.trim_end_matches('/');
        let mail = ContactMail {
            name: message.name.clone(),
            email: message.email.clone(),
            subject: message.subject.clone(),
            message: message.message.clone(),
            inbox_url: format!("{base}/admin/contact/{id}"),
        };
        for to in &recipients {
            let content = mail.to(to, Some(&message.email))?;
            mail::enqueue(&mut tx, base, &content, Some(("contact", id))).await?;
        }
        if settings.acknowledge {
            let ack = AckMail {
                name: message.name.clone(),
                subject: message.subject.clone(),
                site_url: base.to_string(),
            };
            let content = ack.to(&message.email, None)?;
            mail::enqueue(&mut tx, base, &content, Some(("contact_ack", id))).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[get("/contact/thanks")]
fn thanks(layout: Layout) -> AppResult<Reply> {
    Reply::page(&ThanksPage { layout })
}

/// The public routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![contact_page, send, thanks]
}
