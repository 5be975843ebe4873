//! What a notification is about, and the sentence the page shows for it.

/// The kinds of notification. The stored name is [`Kind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Someone followed me.
    Follow,
    /// Someone favourited my article.
    Favourite,
    /// Someone commented on my article.
    Comment,
    /// Someone replied to my comment.
    Reply,
    /// Someone named me with `@username`.
    Mention,
    /// A moderator decided about my report.
    Report,
    /// Someone assigned a task to me.
    TaskAssigned,
    /// Someone commented on a task assigned to me or created by me.
    TaskComment,
    /// Someone named me with `@username` in a chat room.
    ChatMention,
}

impl Kind {
    /// Every kind, in the order the preferences list them.
    pub const ALL: [Kind; 9] = [
        Kind::Follow,
        Kind::Favourite,
        Kind::Comment,
        Kind::Reply,
        Kind::Mention,
        Kind::Report,
        Kind::TaskAssigned,
        Kind::TaskComment,
        Kind::ChatMention,
    ];

    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Follow => "follow",
            Kind::Favourite => "favourite",
            Kind::Comment => "comment",
            Kind::Reply => "reply",
            Kind::Mention => "mention",
            Kind::Report => "report",
            Kind::TaskAssigned => "task_assigned",
            Kind::TaskComment => "task_comment",
            Kind::ChatMention => "chat_mention",
        }
    }

    /// Every kind's stored name.
    pub fn names() -> Vec<&'static str> {
        Kind::ALL.into_iter().map(Kind::as_str).collect()
    }

    /// The kind called `name`, if any.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether a day's notices of this kind on one target are one entry:
    /// favourites and follows come in crowds, the rest are each worth a
    /// line of their own.
    pub fn grouped(self) -> bool {
        matches!(self, Kind::Follow | Kind::Favourite)
    }

    /// What the preferences call it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Follow => "New followers",
            Kind::Favourite => "Favourites of my articles",
            Kind::Comment => "Comments on my articles",
            Kind::Reply => "Replies to my comments",
            Kind::Mention => "Mentions of me",
            Kind::Report => "Decisions on my reports",
            Kind::TaskAssigned => "Tasks assigned to me",
            Kind::TaskComment => "Comments on my tasks",
            Kind::ChatMention => "Mentions of me in chat",
        }
    }

    /// The verb after the actors' names ("Ada favourited").
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Follow => "started following you",
            Kind::Favourite => "favourited",
            Kind::Comment => "commented on",
            Kind::Reply => "replied to your comment on",
            Kind::Mention => "mentioned you in",
            Kind::Report => "decided about your report on",
            Kind::TaskAssigned => "assigned you",
            Kind::TaskComment => "commented on your task",
            Kind::ChatMention => "mentioned you in",
        }
    }
}

/// Who did it, for a sentence: "Ada", "Ada and Bob", "Ada and 37 others".
/// `names` are the latest actors, newest first; `count` is how many acted.
pub fn who(names: &[String], count: i64) -> String {
    let first = names.first().map_or("Someone", String::as_str);
    match (count, names.get(1)) {
        (c, _) if c <= 1 => first.to_string(),
        (2, Some(second)) => format!("{first} and {second}"),
        (2, None) => format!("{first} and 1 other"),
        (c, _) => format!("{first} and {} others", c - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_joined_as_a_person_would() {
        let names: Vec<String> = ["Ada", "Bob", "Cy"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(who(&names[..1], 1), "Ada");
        assert_eq!(who(&names[..2], 2), "Ada and Bob");
        assert_eq!(who(&names, 38), "Ada and 37 others");
        assert_eq!(who(&[], 1), "Someone");
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
    }
}
