//! The order state machine, in one place: which transitions are legal,
//! and what each one does to stock. Pages, the API, the expiry job and
//! (later) payments all ask [`may_transition`] before they change a state.

use serde::Serialize;

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    PendingPayment,
    Paid,
    Fulfilled,
    Completed,
    Cancelled,
    Expired,
    Refunded,
    PartiallyRefunded,
}

/// Every state, in the order an admin's filter lists them.
pub const ALL: [OrderState; 8] = [
    OrderState::PendingPayment,
    OrderState::Paid,
    OrderState::Fulfilled,
    OrderState::Completed,
    OrderState::Cancelled,
    OrderState::Expired,
    OrderState::Refunded,
    OrderState::PartiallyRefunded,
];

impl OrderState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::PendingPayment => "pending_payment",
            OrderState::Paid => "paid",
            OrderState::Fulfilled => "fulfilled",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
            OrderState::Expired => "expired",
            OrderState::Refunded => "refunded",
            OrderState::PartiallyRefunded => "partially_refunded",
        }
    }

    /// The state a stored name stands for.
    pub fn parse(s: &str) -> Option<OrderState> {
        ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            OrderState::PendingPayment => "Waiting for payment",
            OrderState::Paid => "Paid",
            OrderState::Fulfilled => "Shipped",
            OrderState::Completed => "Completed",
            OrderState::Cancelled => "Cancelled",
            OrderState::Expired => "Expired (not paid in time)",
            OrderState::Refunded => "Refunded",
            OrderState::PartiallyRefunded => "Partly refunded",
        }
    }
}

/// True when an order may go from `from` to `to`:
/// `pending_payment → paid → fulfilled → completed`; an unpaid order may be
/// cancelled or expire; a paid one may still be cancelled before it ships;
/// refunds (reached by payments) follow payment.
pub fn may_transition(from: OrderState, to: OrderState) -> bool {
    use OrderState::*;
    matches!(
        (from, to),
        (PendingPayment, Paid | Cancelled | Expired)
            | (Paid, Fulfilled | Cancelled)
            | (Fulfilled, Completed)
            | (
                Paid | Fulfilled | Completed | PartiallyRefunded,
                Refunded | PartiallyRefunded
            )
    )
}

/// True when entering `to` from `from` gives the order's stock back.
pub fn releases_stock(from: OrderState, to: OrderState) -> bool {
    matches!(
        (from, to),
        (
            OrderState::PendingPayment | OrderState::Paid,
            OrderState::Cancelled
        ) | (OrderState::PendingPayment, OrderState::Expired)
    )
}

/// Why a transition is refused, in words for the person who asked.
pub fn refusal(from: OrderState, to: OrderState) -> String {
    format!(
        "This order is {} and cannot become {}.",
        from.label().to_lowercase(),
        to.label().to_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_are_legal() {
        use OrderState::*;
        assert!(may_transition(PendingPayment, Paid));
        assert!(may_transition(Paid, Fulfilled));
        assert!(may_transition(Fulfilled, Completed));
        assert!(!may_transition(PendingPayment, Fulfilled));
        assert!(!may_transition(Fulfilled, Cancelled));
        assert!(!may_transition(Expired, Paid));
        assert!(!may_transition(Cancelled, Cancelled));
        assert!(!may_transition(Completed, PendingPayment));
        for s in ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
        }
    }
}
