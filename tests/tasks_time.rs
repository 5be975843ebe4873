//! Tasks in members' time zones: the time-zone setting on the profile, due
//! dates with a time typed and shown in each member's zone and stored as
//! an instant, "My tasks" grouped by the member's own today, reminders by
//! mail on the morning in their zone (across daylight saving changes),
//! moved or dropped when the task changes and sent once with several
//! processes, and the iCalendar feed, checked with a real parser.

use crate::common;
use common::mail::DEADLINE;
use common::tasks::{add_member, create_project, create_task, token_of};
use common::*;

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;

/// Members, each in a browser on its own app process with its own jobs
/// worker, looking at the queue often.
async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("jobs.poll_interval", 0.05))
    })
    .await
}

async fn set_zone(client: &Client, zone: &str) -> Resp {
    submit(
        client,
        "/account/time-zone",
        "/account/time-zone",
        &[("time_zone", zone)],
    )
    .await
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

#[rocket::async_test]
async fn the_time_zone_is_chosen_from_the_list_on_its_own_page_and_needs_a_csrf_token() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let page = get(&ada, "/account/time-zone").await;
    assert!(
        page.body.contains(r#"<option value="UTC" selected>"#),
        "UTC by default"
    );
    assert!(page.body.contains(r#"<option value="Europe/Berlin">"#));
    // The profile names the zone and links to the list, without the list.
    let profile = get(&ada, "/profile").await;
    assert!(profile
        .body
        .contains("Your time zone is <strong>UTC</strong>"));
    assert!(profile.body.contains(r#"href="/account/time-zone""#));
    assert!(!profile.body.contains("<option"));
    let r = set_zone(&ada, "Europe/Berlin").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let page = get(&ada, "/account/time-zone").await;
    assert!(page
        .body
        .contains(r#"<option value="Europe/Berlin" selected>"#));
    let profile = get(&ada, "/profile").await;
    assert!(profile
        .body
        .contains("Your time zone is <strong>Europe/Berlin</strong>"));
    let r = set_zone(&ada, "Mars/<b>Olympus</b>").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Choose a time zone from the list"));
    assert!(r.body.contains(r#"aria-invalid="true""#));
    assert!(!r.body.contains("<b>Olympus"));
    let visitor = app.get("/account/time-zone").await;
    assert_eq!(
        visitor.status,
        Status::SeeOther,
        "a visitor is sent to sign in"
    );
    let r = post_raw(&ada, "/account/time-zone", &[("time_zone", "UTC")], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    let stored = app
        .text("SELECT time_zone FROM users WHERE username = 'ada'")
        .await;
    assert_eq!(stored.as_deref(), Some("Europe/Berlin"));
}

#[rocket::async_test]
async fn a_due_time_is_typed_in_ones_zone_stored_as_an_instant_and_shown_in_each_members_zone() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let bob = app.member("bob").await;
    set_zone(&ada, "Europe/Berlin").await;
    set_zone(&bob, "America/New_York").await;
    let p = create_project(&ada, "Launch").await;
    add_member(&ada, p, "bob", "editor").await;
    // Summer: Berlin is UTC+2, New York UTC-4.
    let t = create_task(
        &ada,
        p,
        &[
            ("title", "Call"),
            ("due_date", "2027-07-01"),
            ("due_time", "09:00"),
        ],
    )
    .await;
    let at = app
        .scalar(&format!("SELECT due_at FROM tasks WHERE id = {t}"))
        .await;
    assert_eq!(at, 1_814_425_200, "2027-07-01 07:00 UTC");
    let page = get(&ada, &format!("/tasks/{p}/items/{t}")).await;
    assert!(page.body.contains("2027-07-01 09:00"), "{}", page.body);
    let page = get(&bob, &format!("/tasks/{p}/items/{t}")).await;
    assert!(page.body.contains("2027-07-01 03:00"), "{}", page.body);
    let board = get(&bob, &format!("/tasks/{p}")).await;
    assert!(board.body.contains("due 2027-07-01 03:00"));
    // Saving bob's edit form unchanged keeps the instant.
    let edit = get(&bob, &format!("/tasks/{p}/items/{t}/edit")).await;
    assert_eq!(
        extract_value(&edit.body, "due_time").as_deref(),
        Some("03:00")
    );
    // The API: the caller's wall clock and the instant.
    let token = token_of(&bob, "bob").await;
    let r = app
        .api(Method::Get, &format!("/tasks/{p}/items/{t}"))
        .token(&token)
        .send()
        .await;
    let j = r.json();
    assert_eq!(j["due_time"], "03:00");
    assert_eq!(j["due_at"], "2027-07-01T07:00:00Z");
    let body = format!(
        r#"{{"title":"Call","due_date":"2027-07-01","due_time":"05:00","version":{}}}"#,
        j["version"]
    );
    let r = app
        .api(Method::Put, &format!("/tasks/{p}/items/{t}"))
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["due_at"], "2027-07-01T09:00:00Z");
    let page = get(&ada, &format!("/tasks/{p}/items/{t}")).await;
    assert!(page.body.contains("2027-07-01 11:00"));
    // An all-day task stays a plain date for everyone.
    let d = create_task(&ada, p, &[("title", "Holiday"), ("due_date", "2027-07-02")]).await;
    let page = get(&bob, &format!("/tasks/{p}/items/{d}")).await;
    assert!(page.body.contains("2027-07-02"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tasks WHERE id = {d} AND due_at IS NULL"
        ))
        .await,
        1
    );
}

#[rocket::async_test]
async fn my_tasks_groups_by_today_in_the_members_zone() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    // UTC+14 and UTC-11: 25 hours apart, so their dates always differ.
    set_zone(&ada, "Pacific/Kiritimati").await;
    let kiritimati_today = (time::OffsetDateTime::now_utc() + time::Duration::hours(14)).date();
    let day = kiritimati_today.to_string();
    let p = create_project(&ada, "Home").await;
    let ada_id = user_id(&app, "ada").await.to_string();
    create_task(
        &ada,
        p,
        &[
            ("title", "Water plants"),
            ("due_date", &day),
            ("assignee", &ada_id),
        ],
    )
    .await;
    let section = |body: &str, heading: &str| -> bool {
        let at = body.find(heading).expect(heading);
        let rest = &body[at..];
        let end = rest[heading.len()..]
            .find("<h2")
            .map_or(rest.len(), |e| e + heading.len());
        rest[..end].contains("Water plants")
    };
    let page = get(&ada, "/tasks/mine").await;
    assert!(page.body.contains("Pacific/Kiritimati"));
    assert!(section(&page.body, ">Today <span"), "{}", page.body);
    set_zone(&ada, "Pacific/Pago_Pago").await;
    let page = get(&ada, "/tasks/mine").await;
    assert!(section(&page.body, ">This week <span"), "{}", page.body);
}

#[rocket::async_test]
async fn overdue_is_past_due_on_the_members_clock_not_utcs() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    set_zone(&ada, "Pacific/Kiritimati").await;
    let now = time::OffsetDateTime::now_utc();
    let kiritimati = |d: time::Duration| now + time::Duration::hours(14) + d;
    let hm = |t: time::OffsetDateTime| format!("{:02}:{:02}", t.hour(), t.minute());
    let p = create_project(&ada, "Home").await;
    // Yesterday in Kiritimati (UTC+14). Pago Pago (UTC-11) is 25 hours
    // behind, so there it is today or tomorrow: never overdue. UTC's
    // today is one of the two, so a UTC "today" fails one of the checks.
    let yesterday = kiritimati(time::Duration::days(-1)).date().to_string();
    create_task(
        &ada,
        p,
        &[("title", "Water plants"), ("due_date", &yesterday)],
    )
    .await;
    // An instant two minutes ago is past due everywhere, ten minutes ahead
    // nowhere, whatever date either falls on in UTC.
    let past = kiritimati(time::Duration::minutes(-2));
    let soon = kiritimati(time::Duration::minutes(10));
    for (title, at) in [("Call the bank", past), ("Call the vet", soon)] {
        create_task(
            &ada,
            p,
            &[
                ("title", title),
                ("due_date", &at.date().to_string()),
                ("due_time", &hm(at)),
            ],
        )
        .await;
    }
    let overdue = |body: &str| -> Vec<&str> {
        ["Water plants", "Call the bank", "Call the vet"]
            .into_iter()
            .filter(|t| body.contains(t))
            .collect()
    };
    let page = get(&ada, &format!("/tasks/{p}/list?overdue=1")).await;
    assert_eq!(page.status, Status::Ok);
    assert_eq!(overdue(&page.body), ["Water plants", "Call the bank"]);
    set_zone(&ada, "Pacific/Pago_Pago").await;
    let page = get(&ada, &format!("/tasks/{p}/list?overdue=1")).await;
    assert_eq!(overdue(&page.body), ["Call the bank"], "{}", page.body);
    // The API reads the same filter in the caller's zone.
    let token = token_of(&ada, "ada").await;
    let r = app
        .api(Method::Get, &format!("/tasks/{p}/items?overdue=true"))
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(overdue(&r.body), ["Call the bank"], "{}", r.body);
    // "Due before" a day is the member's day: the call falls on Pago
    // Pago's date of that instant (UTC's date may be the next one).
    let pago = (now - time::Duration::hours(11) - time::Duration::minutes(2)).date();
    let page = get(&ada, &format!("/tasks/{p}/list?due_before={pago}")).await;
    assert!(page.body.contains("Call the bank"), "{}", page.body);
    let day_before = pago - time::Duration::days(1);
    let page = get(&ada, &format!("/tasks/{p}/list?due_before={day_before}")).await;
    assert!(!page.body.contains("Call the bank"), "{}", page.body);
}

async fn opt_in(client: &Client, due: bool, assigned: bool) {
    let mut fields = vec![];
    if due {
        fields.push(("remind_due", "true"));
    }
    if assigned {
        fields.push(("remind_assigned", "true"));
    }
    let r = submit(client, "/tasks/preferences", "/tasks/preferences", &fields).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

/// The run times of the task's waiting morning reminders, once the plans
/// queued by its changes have run.
async fn reminder_times(app: &TestApp, task: i64) -> Vec<i64> {
    eventually!(
        DEADLINE,
        "the reminder plans to run",
        app.scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'task_reminder_plan' AND state <> 'done'"
        )
        .await
            == 0
    );
    sqlx::query_scalar(&format!(
        "SELECT run_at FROM jobs WHERE kind = 'task_due_reminder' AND state = 'queued' \
         AND unique_key LIKE 'task-due:{task}:%' ORDER BY run_at"
    ))
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

async fn edit_due(client: &Client, p: i64, t: i64, date: &str, assignee: &str) -> Resp {
    let page = format!("/tasks/{p}/items/{t}/edit");
    let form = get(client, &page).await;
    let version = extract_value(&form.body, "version").unwrap();
    submit(
        client,
        &page,
        &page,
        &[
            ("title", "Report"),
            ("due_date", date),
            ("assignee", assignee),
            ("version", &version),
        ],
    )
    .await
}

#[rocket::async_test]
async fn the_morning_reminder_is_at_eight_in_the_members_zone_across_daylight_saving_and_moves_with_the_task(
) {
    let app = spawn().await;
    let ada = app.member("ada").await;
    set_zone(&ada, "Europe/Berlin").await;
    opt_in(&ada, true, false).await;
    let me = user_id(&app, "ada").await.to_string();
    let p = create_project(&ada, "Work").await;
    // Berlin moves its clocks forward on 2027-03-28: 08:00 is 06:00 UTC
    // that day and 07:00 UTC the day before.
    let t = create_task(
        &ada,
        p,
        &[
            ("title", "Report"),
            ("due_date", "2027-03-28"),
            ("assignee", &me),
        ],
    )
    .await;
    assert_eq!(reminder_times(&app, t).await, vec![1_806_213_600]);
    let r = edit_due(&ada, p, t, "2027-03-27", &me).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(reminder_times(&app, t).await, vec![1_806_130_800]);
    // New York moves forward on 2027-03-14: 08:00 is 12:00 UTC, 13:00 the day before.
    set_zone(&ada, "America/New_York").await;
    edit_due(&ada, p, t, "2027-03-14", &me).await;
    assert_eq!(reminder_times(&app, t).await, vec![1_805_025_600]);
    edit_due(&ada, p, t, "2027-03-13", &me).await;
    assert_eq!(reminder_times(&app, t).await, vec![1_804_942_800]);
    // Unassigned: no reminder. Assigned again, then completed: none either.
    edit_due(&ada, p, t, "2027-03-13", "").await;
    assert!(reminder_times(&app, t).await.is_empty());
    edit_due(&ada, p, t, "2027-03-13", &me).await;
    assert_eq!(reminder_times(&app, t).await.len(), 1);
    let r = submit(
        &ada,
        &format!("/tasks/{p}/items/{t}"),
        &format!("/tasks/{p}/items/{t}/complete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(reminder_times(&app, t).await.is_empty());
    // Turning reminders off drops them.
    let u = create_task(
        &ada,
        p,
        &[
            ("title", "Other"),
            ("due_date", "2027-05-01"),
            ("assignee", &me),
        ],
    )
    .await;
    assert_eq!(reminder_times(&app, u).await.len(), 1);
    opt_in(&ada, false, false).await;
    assert!(reminder_times(&app, u).await.is_empty());
}

async fn outbox(app: &TestApp, template: &str, to: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE template = '{template}' AND to_addr = '{to}'"
    ))
    .await
}

#[rocket::async_test]
async fn a_due_reminder_is_mailed_once_with_two_workers_and_a_deleted_tasks_is_not() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let _second_process = app.another_browser().await;
    opt_in(&ada, true, false).await;
    let me = user_id(&app, "ada").await.to_string();
    let p = create_project(&ada, "Work").await;
    let t = create_task(
        &ada,
        p,
        &[
            ("title", "Pay, rent; now"),
            ("due_date", "2027-06-01"),
            ("assignee", &me),
        ],
    )
    .await;
    assert_eq!(reminder_times(&app, t).await.len(), 1);
    let payload = app
        .text("SELECT payload FROM jobs WHERE kind = 'task_due_reminder'")
        .await
        .unwrap();
    // Its morning has come; and a second copy of it (as a worker whose
    // lease lapsed would run it again) is queued beside it.
    app.exec_unannounced(
        "UPDATE jobs SET run_at = 0 WHERE kind = 'task_due_reminder' AND state = 'queued'",
    )
    .await;
    app.exec_unannounced(&format!(
        "INSERT INTO jobs (kind, payload, state, run_at, attempts, created_at, updated_at) \
         VALUES ('task_due_reminder', '{payload}', 'queued', 0, 0, 0, 0)"
    ))
    .await;
    eventually!(
        DEADLINE,
        "both reminder jobs to run",
        app.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'task_due_reminder' AND state = 'done'")
            .await
            == 2
    );
    assert_eq!(outbox(&app, "task_due", "ada@example.org").await, 1);
    let subject = app
        .text("SELECT subject FROM outbox WHERE template = 'task_due'")
        .await;
    assert_eq!(subject.as_deref(), Some("Due today: Pay, rent; now"));
    // A deleted task's reminder sends nothing.
    let u = create_task(
        &ada,
        p,
        &[
            ("title", "Gone"),
            ("due_date", "2027-06-02"),
            ("assignee", &me),
        ],
    )
    .await;
    assert_eq!(reminder_times(&app, u).await.len(), 1);
    let r = submit(
        &ada,
        &format!("/tasks/{p}/items/{u}/delete"),
        &format!("/tasks/{p}/items/{u}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    app.exec_unannounced(
        "UPDATE jobs SET run_at = 0 WHERE kind = 'task_due_reminder' AND state = 'queued'",
    )
    .await;
    eventually!(
        DEADLINE,
        "the reminder to run",
        app.scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'task_due_reminder' AND state = 'queued'"
        )
        .await
            == 0
    );
    assert_eq!(outbox(&app, "task_due", "ada@example.org").await, 1);
}

#[rocket::async_test]
async fn being_assigned_by_someone_else_is_mailed_to_members_who_asked() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let bob = app.member("bob").await;
    let cy = app.member("cyd").await;
    opt_in(&bob, false, true).await;
    opt_in(&ada, false, true).await;
    drop(cy);
    let p = create_project(&ada, "Work").await;
    add_member(&ada, p, "bob", "editor").await;
    add_member(&ada, p, "cyd", "editor").await;
    let bob_id = user_id(&app, "bob").await.to_string();
    let ada_id = user_id(&app, "ada").await.to_string();
    let cy_id = user_id(&app, "cyd").await.to_string();
    create_task(&ada, p, &[("title", "For <bob>"), ("assignee", &bob_id)]).await;
    create_task(&ada, p, &[("title", "Mine"), ("assignee", &ada_id)]).await;
    create_task(&ada, p, &[("title", "For cy"), ("assignee", &cy_id)]).await;
    eventually!(
        DEADLINE,
        "the mail to bob",
        outbox(&app, "task_assigned", "bob@example.org").await == 1
    );
    eventually!(
        DEADLINE,
        "every assignment job to run",
        app.scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'task_assigned_mail' AND state <> 'done'"
        )
        .await
            == 0
    );
    assert_eq!(outbox(&app, "task_assigned", "ada@example.org").await, 0);
    assert_eq!(outbox(&app, "task_assigned", "cyd@example.org").await, 0);
    let html = app
        .text("SELECT html_body FROM outbox WHERE template = 'task_assigned'")
        .await
        .unwrap();
    assert!(html.contains("ada assigned"));
    assert!(
        html.contains("For &#60;bob&#62;") || html.contains("For &lt;bob&gt;"),
        "{html}"
    );
}

/// Make a calendar address on the preferences page; the path of it.
async fn new_calendar(client: &Client) -> String {
    let r = submit(
        client,
        "/tasks/preferences",
        "/tasks/preferences/calendar",
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let at = r
        .body
        .find("/tasks/calendar/")
        .expect("the address is shown");
    let rest = &r.body[at..];
    rest[..rest.find(".ics").unwrap() + 4].to_string()
}

#[rocket::async_test]
async fn the_calendar_feed_lists_dated_tasks_parses_as_icalendar_and_a_new_address_revokes_the_old()
{
    let app = spawn().await;
    let ada = app.member("ada").await;
    set_zone(&ada, "Europe/Berlin").await;
    let me = user_id(&app, "ada").await.to_string();
    let p = create_project(&ada, "Home, garden; more").await;
    let long = "A very long title ".repeat(8);
    create_task(
        &ada,
        p,
        &[
            ("title", "Buy milk, eggs; bread \\ more"),
            ("due_date", "2027-07-01"),
            ("due_time", "09:30"),
            ("assignee", &me),
        ],
    )
    .await;
    create_task(
        &ada,
        p,
        &[
            ("title", long.trim()),
            ("due_date", "2027-12-31"),
            ("assignee", &me),
        ],
    )
    .await;
    create_task(&ada, p, &[("title", "Undated"), ("assignee", &me)]).await;
    let path = new_calendar(&ada).await;
    let anonymous = app.another_browser().await;
    let r = get(&anonymous, &path).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert!(r
        .header("Content-Type")
        .unwrap()
        .starts_with("text/calendar"));
    let text = r.body.clone();
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
    }
    assert!(text.contains("DTSTART:20270701T073000Z"), "{text}");
    assert!(text.contains("DTSTART;VALUE=DATE:20271231"));
    assert!(text.contains("DTEND;VALUE=DATE:20280101"));
    assert!(text.contains("SUMMARY:Buy milk\\, eggs\\; bread \\\\ more"));
    assert!(!text.contains("Undated"));
    let cal: icalendar::Calendar = text.parse().expect("a valid iCalendar document");
    let events: Vec<_> = cal
        .components
        .iter()
        .filter_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2);
    use icalendar::Component;
    let summaries: Vec<String> = events
        .iter()
        .map(|e| e.get_summary().unwrap_or_default().to_string())
        .collect();
    assert!(summaries.iter().any(|s| s == long.trim()), "{summaries:?}");
    assert!(events
        .iter()
        .all(|e| e.get_uid().is_some() && e.get_timestamp().is_some()));
    // UIDs stay the same from one fetch to the next.
    let again = get(&anonymous, &path).await.body;
    let uids = |t: &str| -> Vec<String> {
        t.split("\r\n")
            .filter(|l| l.starts_with("UID:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(uids(&text), uids(&again));
    // Only a hash is stored; a new address revokes the old one.
    let secret = path
        .trim_start_matches("/tasks/calendar/")
        .trim_end_matches(".ics");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM task_user_settings WHERE calendar_hash = '{secret}'"
        ))
        .await,
        0
    );
    let newer = new_calendar(&ada).await;
    assert_ne!(newer, path);
    assert_eq!(get(&anonymous, &path).await.status, Status::NotFound);
    assert_eq!(get(&anonymous, &newer).await.status, Status::Ok);
    assert_eq!(
        get(&anonymous, "/tasks/calendar/not-a-secret.ics")
            .await
            .status,
        Status::NotFound
    );
    let r = post_raw(&ada, "/tasks/preferences/calendar", &[], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
}
