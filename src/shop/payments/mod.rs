//! Payments for the shop's orders (issue 18). This first slice is the
//! `Stripe-Signature` check (`signature.rs`); the providers, webhooks,
//! reconciliation and refunds follow. See docs/payments.md.

pub mod signature;
