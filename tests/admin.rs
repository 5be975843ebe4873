//! The admin area: access rules, last-admin protection, the audit log,
//! disabling, role changes taking effect at once, and the user list.

use crate::common;
use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// An app with an admin `boss` signed in on `app.client`, and returns a
/// second browser in which `user` is signed in.
async fn app_with_admin_and_user(user: &str) -> (TestApp, Client) {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    let other = app.another_browser().await;
    let r = signup(&other, user, &format!("{user}@example.org"), PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    (app, other)
}

async fn id_of(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    ))
    .await
}

/// Submit the confirmation page's DELETE form (`_method` must come first).
async fn delete_via_form(app: &TestApp, id: i64) -> Resp {
    let token = app.get(&format!("/admin/users/{id}/delete")).await.csrf();
    let token = if token.is_empty() {
        app.get("/users").await.csrf()
    } else {
        token
    };
    app.post_raw(
        &format!("/user/{id}"),
        &[("_method", "delete"), ("csrf_token", &token)],
    )
    .await
}

/// Every admin page (GET) and action (POST) with its form fields.
async fn admin_routes(
    app: &TestApp,
    target: i64,
) -> (
    Vec<String>,
    Vec<(String, Vec<(&'static str, &'static str)>)>,
) {
    let _ = app;
    let pages = vec![
        "/admin".to_string(),
        "/users".to_string(),
        "/users?q=a&sort=email&page=1".to_string(),
        format!("/admin/users/{target}"),
        format!("/admin/users/{target}/delete"),
        "/admin/audit".to_string(),
        "/admin/contact".to_string(),
    ];
    let actions = vec![
        (
            format!("/admin/users/{target}/role"),
            vec![("role", "admin")],
        ),
        (format!("/admin/users/{target}/disable"), vec![]),
        (format!("/admin/users/{target}/enable"), vec![]),
        (format!("/admin/users/{target}/sessions/end"), vec![]),
        (format!("/user/{target}"), vec![("_method", "delete")]),
    ];
    (pages, actions)
}

#[rocket::async_test]
async fn anonymous_visitors_are_sent_to_sign_in_from_every_admin_route() {
    let (app, _) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    let anonymous = app.another_browser().await;
    let (pages, actions) = admin_routes(&app, carol).await;
    for page in pages {
        let r = get(&anonymous, &page).await;
        assert_eq!(r.status, Status::SeeOther, "{page}");
        assert!(r.location().unwrap().starts_with("/login"), "{page}");
    }
    let token = get(&anonymous, "/login").await.csrf();
    for (action, mut fields) in actions {
        fields.insert(
            fields
                .iter()
                .position(|f| f.0 == "_method")
                .map(|p| p + 1)
                .unwrap_or(0),
            ("csrf_token", &token),
        );
        let r = post_raw(&anonymous, &action, &fields, &[]).await;
        assert_eq!(r.status, Status::SeeOther, "{action}");
        assert_eq!(r.location(), Some("/login"), "{action}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE username = 'carol' AND role = 'user'")
            .await,
        1
    );
}

#[rocket::async_test]
async fn signed_in_non_admins_get_403_everywhere_and_change_nothing() {
    let (app, carol_browser) = app_with_admin_and_user("carol").await;
    let boss = id_of(&app, "boss").await;
    let (pages, actions) = admin_routes(&app, boss).await;
    for page in pages {
        let r = get(&carol_browser, &page).await;
        assert_eq!(r.status, Status::Forbidden, "{page}");
        assert!(r.body.contains("Not allowed"), "{page}");
    }
    let token = get(&carol_browser, "/profile").await.csrf();
    for (action, mut fields) in actions {
        fields.insert(
            fields
                .iter()
                .position(|f| f.0 == "_method")
                .map(|p| p + 1)
                .unwrap_or(0),
            ("csrf_token", &token),
        );
        let r = post_raw(&carol_browser, &action, &fields, &[]).await;
        assert_eq!(r.status, Status::Forbidden, "{action}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users WHERE username = 'boss' AND role = 'admin' AND disabled = 0").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_log").await, 0);
}

#[rocket::async_test]
async fn admins_see_the_dashboard_users_and_a_users_page() {
    let (app, _) = app_with_admin_and_user("carol").await;
    let dash = app.get("/admin").await;
    assert_eq!(dash.status, Status::Ok);
    assert!(dash.body.contains("Admin dashboard"));
    assert!(dash.body.contains("sign-ups in the last 7 days"));
    assert!(dash.body.contains("Mail queue"));
    let users = app.get("/users").await;
    assert_eq!(users.status, Status::Ok);
    assert!(users.body.contains("carol@example.org") && users.body.contains("boss@example.org"));
    let carol = id_of(&app, "carol").await;
    app.exec(&format!(
        "INSERT INTO identities (user_id, provider, provider_user_id, email, created_at) \
         VALUES ({carol}, 'github', '4242', 'carol@users.github.example', 1)"
    ))
    .await;
    let page = app.get(&format!("/admin/users/{carol}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Linked sign-in providers"));
    assert!(page.body.contains("github") && page.body.contains("carol@users.github.example"));
    assert!(page.body.contains("carol@example.org"));
    assert!(page.body.contains("not confirmed"));
    assert!(
        page.body.contains("Chrome")
            || page.body.contains("Unknown device")
            || page.body.contains("<td>"),
        "sessions listed"
    );
    assert_eq!(
        app.get("/admin/users/999999").await.status,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn the_user_list_searches_sorts_and_pages() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    let t = "INSERT INTO users (username, email, role, created_at, updated_at) VALUES";
    for i in 0..30 {
        app.exec(&format!(
            "{t} ('member{i:02}', 'member{i:02}@example.org', 'user', {}, {})",
            1000 + i,
            1000 + i
        ))
        .await;
    }
    app.exec(&format!(
        "{t} ('percent', 'per%cent@example.org', 'user', 5, 5)"
    ))
    .await;
    let first = app.get("/users?sort=username").await;
    assert!(first.body.contains("32 users"));
    assert!(first.body.contains("Page 1 of 2"));
    assert!(first.body.find("member00").unwrap() < first.body.find("member01").unwrap());
    let second = app.get("/users?sort=username&page=2").await;
    assert!(second.body.contains("Page 2 of 2"));
    assert!(second.body.contains("percent"));
    let found = app.get("/users?q=MEMBER0").await;
    assert!(found.body.contains("10 users"), "{}", found.body);
    let literal = app.get("/users?q=%25").await;
    assert!(
        literal.body.contains("1 user."),
        "a % must match only itself"
    );
    assert!(literal.body.contains("per%cent@example.org"));
    let oldest = app.get("/users?sort=oldest").await;
    assert!(oldest.body.find("percent").unwrap() < oldest.body.find("member00").unwrap());
}

#[rocket::async_test]
async fn role_changes_take_effect_on_the_very_next_request() {
    let (app, carol_browser) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    assert_eq!(
        get(&carol_browser, "/admin").await.status,
        Status::Forbidden
    );
    let r = app
        .submit(
            &format!("/admin/users/{carol}"),
            &format!("/admin/users/{carol}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(get(&carol_browser, "/admin").await.status, Status::Ok);
    let r = app
        .submit(
            &format!("/admin/users/{carol}"),
            &format!("/admin/users/{carol}/role"),
            &[("role", "user")],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        get(&carol_browser, "/admin").await.status,
        Status::Forbidden
    );
    let bogus = app
        .submit(
            &format!("/admin/users/{carol}"),
            &format!("/admin/users/{carol}/role"),
            &[("role", "root")],
        )
        .await;
    assert_eq!(bogus.status, Status::BadRequest);
    assert_eq!(
        app.text(&format!("SELECT role FROM users WHERE id = {carol}"))
            .await
            .as_deref(),
        Some("user")
    );
}

#[rocket::async_test]
async fn the_last_admin_can_never_be_demoted_disabled_or_deleted() {
    let (app, _) = app_with_admin_and_user("carol").await;
    let boss = id_of(&app, "boss").await;
    let page = format!("/admin/users/{boss}");
    let demote = app
        .submit(
            &page,
            &format!("/admin/users/{boss}/role"),
            &[("role", "user")],
        )
        .await;
    assert_eq!(demote.status, Status::SeeOther);
    assert!(app.get(&page).await.body.contains("last admin"));
    let disable = app
        .submit(&page, &format!("/admin/users/{boss}/disable"), &[])
        .await;
    assert_eq!(disable.status, Status::SeeOther);
    let delete = delete_via_form(&app, boss).await;
    assert_eq!(delete.status, Status::SeeOther);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {boss} AND role = 'admin' AND disabled = 0"
        ))
        .await,
        1
    );
    assert_eq!(app.get("/admin").await.status, Status::Ok, "still an admin");

    // With a second admin, the first may step down.
    let carol = id_of(&app, "carol").await;
    app.submit(
        &format!("/admin/users/{carol}"),
        &format!("/admin/users/{carol}/role"),
        &[("role", "admin")],
    )
    .await;
    app.submit(
        &page,
        &format!("/admin/users/{boss}/role"),
        &[("role", "user")],
    )
    .await;
    assert_eq!(
        app.text(&format!("SELECT role FROM users WHERE id = {boss}"))
            .await
            .as_deref(),
        Some("user")
    );
}

#[rocket::async_test]
async fn disabling_signs_the_user_out_at_once_and_blocks_sign_in_until_enabled() {
    let (app, carol_browser) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    assert_eq!(get(&carol_browser, "/profile").await.status, Status::Ok);
    let page = format!("/admin/users/{carol}");
    assert_eq!(
        app.submit(&page, &format!("/admin/users/{carol}/disable"), &[])
            .await
            .status,
        Status::SeeOther
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {carol}"
        ))
        .await,
        0
    );
    assert_eq!(
        get(&carol_browser, "/profile").await.status,
        Status::SeeOther,
        "signed out at once"
    );
    let refused = login(&carol_browser, "carol@example.org", PASSWORD).await;
    assert_ne!(refused.status, Status::SeeOther);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {carol}"
        ))
        .await,
        0
    );

    assert_eq!(
        app.submit(&page, &format!("/admin/users/{carol}/enable"), &[])
            .await
            .status,
        Status::SeeOther
    );
    assert_eq!(
        login(&carol_browser, "carol@example.org", PASSWORD)
            .await
            .status,
        Status::SeeOther
    );
    assert_eq!(get(&carol_browser, "/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn ending_a_users_sessions_signs_them_out_everywhere() {
    let (app, carol_browser) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    let r = app
        .submit(
            &format!("/admin/users/{carol}"),
            &format!("/admin/users/{carol}/sessions/end"),
            &[],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        get(&carol_browser, "/profile").await.status,
        Status::SeeOther
    );
}

#[rocket::async_test]
async fn deleting_a_user_asks_first_then_removes_everything_they_own() {
    let (app, carol_browser) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    let confirm = app.get(&format!("/admin/users/{carol}/delete")).await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(confirm.body.contains("Delete carol?"));
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM users WHERE id = {carol}"))
            .await,
        1,
        "the GET deletes nothing"
    );
    let r = delete_via_form(&app, carol).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/users"));
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM users WHERE id = {carol}"))
            .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {carol}"
        ))
        .await,
        0
    );
    assert_eq!(
        get(&carol_browser, "/profile").await.status,
        Status::SeeOther
    );
    let again = delete_via_form(&app, carol).await;
    assert_eq!(again.status, Status::NotFound);
}

#[rocket::async_test]
async fn every_admin_action_is_audited_with_who_what_whom_and_where() {
    let (app, _) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    let page = format!("/admin/users/{carol}");
    app.submit(
        &page,
        &format!("/admin/users/{carol}/role"),
        &[("role", "admin")],
    )
    .await;
    app.submit(
        &page,
        &format!("/admin/users/{carol}/role"),
        &[("role", "user")],
    )
    .await;
    app.submit(&page, &format!("/admin/users/{carol}/disable"), &[])
        .await;
    app.submit(&page, &format!("/admin/users/{carol}/enable"), &[])
        .await;
    app.submit(&page, &format!("/admin/users/{carol}/sessions/end"), &[])
        .await;
    delete_via_form(&app, carol).await;
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        actions,
        [
            "user.role",
            "user.role",
            "user.disable",
            "user.enable",
            "user.sessions_end",
            "user.delete"
        ]
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor_name = 'boss' AND target_name = 'carol'"
        )
        .await,
        6
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE created_at > 0 AND ip <> ''")
            .await,
        6
    );

    let log = app.get("/admin/audit").await;
    assert!(log.body.contains("6 entries"));
    assert!(log.body.contains("user.delete") && log.body.contains("user → admin"));
    let filtered = app.get("/admin/audit?action=user.role").await;
    assert!(filtered.body.contains("2 entries"));
    assert!(app
        .get("/admin/audit?actor=BOSS")
        .await
        .body
        .contains("6 entries"));
    assert!(app
        .get("/admin/audit?actor=carol")
        .await
        .body
        .contains("0 entries"));
    assert!(app
        .get("/admin/audit?target=carol")
        .await
        .body
        .contains("6 entries"));
}

#[rocket::async_test]
async fn admin_pages_escape_what_users_typed() {
    let (app, carol_browser) = app_with_admin_and_user("carol").await;
    let token = get(&carol_browser, "/profile").await.csrf();
    post_raw(
        &carol_browser,
        "/update-profile",
        &[
            ("_method", "put"),
            ("csrf_token", &token),
            ("display_name", "<script>alert(1)</script>"),
        ],
        &[],
    )
    .await;
    assert_eq!(get(&carol_browser, "/profile").await.status, Status::Ok);
    let carol = id_of(&app, "carol").await;
    for page in ["/users".to_string(), format!("/admin/users/{carol}")] {
        let body = app.get(&page).await.body;
        assert!(!body.contains("<script>alert(1)</script>"), "{page}");
        assert!(body.contains("&#60;script&#62;alert(1)"), "{page}");
    }
}

#[rocket::async_test]
async fn a_page_past_the_last_still_says_how_many_there_are() {
    // The member list and the audit log count on each row of a page (a
    // window); a page with no row counts separately.
    let (app, _carol) = app_with_admin_and_user("carol").await;
    let carol = id_of(&app, "carol").await;
    let user = format!("/admin/users/{carol}");
    let r = submit(&app.client, &user, &format!("{user}/disable"), &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let users = app.scalar("SELECT COUNT(*) FROM users").await;
    let entries = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    assert!(entries > 0);
    for (uri, said) in [
        ("/users", format!("{users} users.")),
        ("/users?page=40", format!("{users} users.")),
        ("/users?q=carol&page=40", "1 user.".to_string()),
        ("/admin/audit", format!("{entries} entr")),
        ("/admin/audit?page=40", format!("{entries} entr")),
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, Status::Ok, "{uri}");
        assert!(r.body.contains(&said), "{uri}: no {said:?} in {}", r.body);
    }
}
