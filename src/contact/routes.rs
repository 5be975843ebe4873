//! `GET/POST /contact` and the thank-you page.

use askama::Template;
use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::model::{AckMail, ContactForm, ContactMail};
use super::repo;
use crate::config::AppConfig;
use crate::db::{begin_write, Db};
use crate::error::{AppResult, FieldErrors};
use crate::mail::{self, MailContent, Wakeup};
use crate::web::ratelimit::{self, Limit};
use crate::web::{ClientIp, CsrfForm, Layout, Reply, UserAgent};

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

#[allow(clippy::too_many_arguments)]
#[post("/contact", data = "<form>")]
async fn send(
    db: &Db,
    cfg: &State<AppConfig>,
    wakeup: &State<Wakeup>,
    layout: Layout,
    ip: ClientIp,
    ua: UserAgent,
    form: CsrfForm<ContactForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let limit = Limit {
        max: cfg.contact.per_address_per_hour,
        window: 3600,
    };
    let bucket = format!("contact:{}", ip.label());
    // Count the message before storing it, or a burst of parallel posts
    // would all pass the limit; a form sent back for correction is forgiven.
    let counted = ratelimit::attempt(db, &bucket, limit).await?;
    let message = match form.validate() {
        Ok(m) => m,
        Err(errors) => {
            ratelimit::forgive(db, counted).await?;
            let form = ContactForm {
                website: String::new(),
                ..form
            };
            return Reply::page_with(
                Status::UnprocessableEntity,
                &ContactPage {
                    layout,
                    form,
                    errors,
                },
            );
        }
    };
    let spam = form.is_spam();
    // The message and its mails are committed together, before any attempt
    // to send: an SMTP outage cannot lose a message.
    let mut tx = begin_write(db).await?;
    let id = repo::insert(&mut tx, &message, &ip.label(), &ua.0, spam).await?;
    if !spam {
        let recipients = if cfg.contact.recipients.is_empty() {
            repo::admin_emails(&mut tx).await?
        } else {
            cfg.contact.recipients.clone()
        };
        if recipients.is_empty() {
            log::warn!("contact message {id} stored, but there is no admin or contact.recipients to mail it to");
        }
        let base = cfg.base_url.trim_end_matches('/');
        let mail = ContactMail {
            name: message.name.clone(),
            email: message.email.clone(),
            subject: message.subject.clone(),
            message: message.message.clone(),
            inbox_url: format!("{base}/admin/contact/{id}"),
        };
        for to in &recipients {
            mail::enqueue(
                &mut tx,
                base,
                &mail.to(to, Some(&message.email))?,
                Some(("contact", id)),
            )
            .await?;
        }
        if cfg.contact.acknowledge {
            let ack = AckMail {
                name: message.name.clone(),
                subject: message.subject.clone(),
                site_url: base.to_string(),
            };
            mail::enqueue(
                &mut tx,
                base,
                &ack.to(&message.email, None)?,
                Some(("contact_ack", id)),
            )
            .await?;
        }
    }
    tx.commit().await?;
    wakeup.notify();
    // Spam gets the very same answer: nothing tells a bot it was caught.
    Ok(Reply::to("/contact/thanks"))
}

#[get("/contact/thanks")]
fn thanks(layout: Layout) -> AppResult<Reply> {
    Reply::page(&ThanksPage { layout })
}

/// The public routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![contact_page, send, thanks]
}
