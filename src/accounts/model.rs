//! Account input, parsed into validated values at the edge.

use rocket::form::FromForm;

use super::password;
use crate::error::FieldErrors;

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 64;
/// Longest bio, in characters.
pub const BIO_MAX: usize = 1000;
/// Longest avatar URL, in bytes.
pub const AVATAR_URL_MAX: usize = 500;

/// A username: 3–32 of ASCII letters, digits, `_` and `-`. Unique without
/// regard to case.
pub fn parse_username(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Choose a username.");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("Use only letters, digits, underscores (_) and hyphens (-).");
    }
    if !(3..=32).contains(&name.len()) {
        return Err("Use between 3 and 32 characters.");
    }
    Ok(name.to_string())
}

/// An email address: trimmed, lower-cased, and plausibly deliverable.
pub fn parse_email(input: &str) -> Result<String, &'static str> {
    let email = input.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.");
    }
    if email.len() > 254 {
        return Err("That email address is too long.");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("Enter a valid email address, like name@example.org.");
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !(local_ok && domain_ok) {
        return Err("Enter a valid email address, like name@example.org.");
    }
    Ok(email)
}

/// The sign-up form as sent.
#[derive(Debug, Clone, Default, FromForm)]
pub struct SignupForm {
    #[field(default = String::new())]
    pub username: String,
    #[field(default = String::new())]
    pub email: String,
    #[field(default = String::new())]
    pub password: String,
}

/// A sign-up that passed validation (uniqueness is checked by the database).
pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub password: String,
}

impl SignupForm {
    /// Validate every field, collecting a message per field.
    pub fn validate(&self) -> Result<NewAccount, FieldErrors> {
        let mut errors = FieldErrors::default();
        let username = parse_username(&self.username)
            .map_err(|e| errors.add("username", e))
            .ok();
        let email = parse_email(&self.email)
            .map_err(|e| errors.add("email", e))
            .ok();
        let personal = [self.username.trim(), self.email.trim()];
        if let Some(e) = password::policy_error(&self.password, &personal) {
            errors.add("password", e);
        }
        match (username, email) {
            (Some(username), Some(email)) if errors.is_empty() => Ok(NewAccount {
                username,
                email,
                password: self.password.clone(),
            }),
            _ => Err(errors),
        }
    }
}

/// The profile form as sent.
#[derive(Debug, Clone, Default, FromForm)]
pub struct ProfileForm {
    #[field(default = String::new())]
    pub display_name: String,
    #[field(default = String::new())]
    pub bio: String,
    #[field(default = String::new())]
    pub avatar_url: String,
}

/// A validated profile.
pub struct Profile {
    pub display_name: String,
    pub bio: String,
    pub avatar_url: String,
}

/// An http(s) URL with a host, or the reason it is not one.
pub fn parse_web_url(input: &str) -> Result<String, &'static str> {
    let url = input.trim();
    if url.len() > AVATAR_URL_MAX {
        return Err("That address is too long.");
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err("Use an address starting with http:// or https://.");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let ok = !host.is_empty()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
        && rocket::http::uri::Absolute::parse(url).is_ok();
    if !ok {
        return Err("That does not look like a web address.");
    }
    Ok(url.to_string())
}

impl ProfileForm {
    /// Validate every field, collecting a message per field.
    pub fn validate(&self) -> Result<Profile, FieldErrors> {
        let mut errors = FieldErrors::default();
        let display_name = self.display_name.trim().to_string();
        if display_name.chars().count() > DISPLAY_NAME_MAX {
            errors.add(
                "display_name",
                format!("Use at most {DISPLAY_NAME_MAX} characters."),
            );
        }
        if display_name.chars().any(char::is_control) {
            errors.add("display_name", "Remove the control characters.");
        }
        let bio = self.bio.trim().replace("\r\n", "\n");
        if bio.chars().count() > BIO_MAX {
            errors.add("bio", format!("Use at most {BIO_MAX} characters."));
        }
        let avatar_url = if self.avatar_url.trim().is_empty() {
            String::new()
        } else {
            parse_web_url(&self.avatar_url)
                .map_err(|e| errors.add("avatar_url", e))
                .unwrap_or_default()
        };
        if errors.is_empty() {
            Ok(Profile {
                display_name,
                bio,
                avatar_url,
            })
        } else {
            Err(errors)
        }
    }
}

/// The change-password form.
#[derive(Debug, Clone, Default, FromForm)]
pub struct PasswordForm {
    #[field(default = String::new())]
    pub current_password: String,
    #[field(default = String::new())]
    pub new_password: String,
}

/// The delete-account form: the password, to confirm.
#[derive(Debug, Clone, Default, FromForm)]
pub struct ConfirmForm {
    #[field(default = String::new())]
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        assert_eq!(parse_username("  Alice_1-x "), Ok("Alice_1-x".into()));
        assert!(parse_username("ab").is_err());
        assert!(parse_username(&"a".repeat(33)).is_err());
        assert!(parse_username("al ice").is_err());
        assert!(parse_username("alicé").is_err());
        assert!(parse_username("<script>").is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("  Alice@Example.ORG "),
            Ok("alice@example.org".into())
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "a@b",
            "a b@example.org",
            "a@exa mple.org",
            "a..b@x.org",
            "a@-x.org",
        ] {
            assert!(parse_email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(parse_web_url("https://example.org/a.png").is_ok());
        assert!(parse_web_url("http://example.org").is_ok());
        assert!(parse_web_url("javascript:alert(1)").is_err());
        assert!(parse_web_url("JaVaScRiPt:alert(1)").is_err());
        assert!(parse_web_url("data:image/png;base64,xx").is_err());
        assert!(parse_web_url("https://").is_err());
        assert!(parse_web_url("https://x.org/\"onerror=").is_err());
    }
}
