//! The `groundwork` command: serve the site, apply migrations, create an admin.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Create an admin account, or make an existing account an admin.
    CreateAdmin {
        /// The account's email address.
        email: String,
        /// Read the password from standard input (it is never a command-line argument).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[rocket::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let figment = groundwork::config::figment();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match groundwork::build(figment).launch().await {
            Ok(_) => Ok(String::new()),
            Err(e) => Err(e.to_string()),
        },
        Command::Migrate => groundwork::cli::migrate(&figment).await,
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
