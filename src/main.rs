//! The `groundwork` command: serve the site, apply migrations, create an admin.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's allocator: a page allocates and frees a few
/// hundred small objects (headers, cookies, the rendered body, Rocket's and
/// hyper's per-request state), and glibc's malloc and free were about a
/// quarter of a signed-in page's instructions (bench/RESULTS.md, run G).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "groundwork",
    version,
    about = "A self-hostable web presence for a small organisation"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web site (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to PATH while the site runs.
    Backup {
        /// Where to write the copy (a new file).
        path: std::path::PathBuf,
    },
    /// Create an admin account, or make an existing account an admin.
    CreateAdmin {
        /// The account's email address.
        email: String,
        /// Read the password from standard input (it is never a command-line argument).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a Stripe-Signature header for the webhook body on standard
    /// input, signed now with the secret in GROUNDWORK_WEBHOOK_SECRET (CI
    /// checks it with Stripe's own SDK: .ci/stripe-sdk.sh).
    SignWebhook,
}

#[rocket::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let figment = groundwork::config::figment();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(figment).await,
        Command::Migrate => groundwork::cli::migrate(&figment).await,
        Command::Backup { path } => groundwork::cli::backup(&figment, &path).await,
        Command::CreateAdmin {
            email,
            password_stdin,
        } => {
            if !password_stdin {
                Err("pass the password on standard input: echo PASSWORD | groundwork create-admin EMAIL --password-stdin".into())
            } else {
                let mut input = String::new();
                match std::io::stdin().read_to_string(&mut input) {
                    Ok(_) => {
                        let password = input.strip_suffix('\n').unwrap_or(&input);
                        let password = password.strip_suffix('\r').unwrap_or(password);
                        groundwork::cli::create_admin(&figment, &email, password).await
                    }
                    Err(e) => Err(format!("cannot read the password: {e}")),
                }
            }
        }
        Command::SignWebhook => sign_webhook(),
    };
    match result {
        Ok(message) => {
            if !message.is_empty() {
                println!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("groundwork: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sign_webhook() -> Result<String, String> {
    let secret = std::env::var("GROUNDWORK_WEBHOOK_SECRET")
        .map_err(|_| "set GROUNDWORK_WEBHOOK_SECRET to the endpoint's signing secret")?;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read the body: {e}"))?;
    let t = groundwork::db::now();
    Ok(groundwork::shop::payments::signature::sign(
        &secret, t, &body,
    ))
}

/// Serve until SIGTERM or SIGINT, drain (`web::drain`), finish the requests
/// in flight, and only then close the database pool.
async fn serve(figment: rocket::figment::Figment) -> Result<String, String> {
    if figment.extract_inner::<String>("log_format").as_deref() == Ok("json") {
        let level = figment
            .extract_inner::<String>("log_level")
            .unwrap_or_else(|_| "normal".into());
        groundwork::logging::init_json(&level);
    }
    let rocket = groundwork::build(groundwork::web::drain::serve_figment(figment))
        .attach(groundwork::web::drain::on_signals());
    match rocket.launch().await {
        Ok(rocket) => {
            if let Some(db) = <groundwork::db::Db as rocket_db_pools::Database>::fetch(&rocket) {
                db.pool.close().await;
            }
            Ok(String::new())
        }
        Err(e) => Err(e.to_string()),
    }
}
