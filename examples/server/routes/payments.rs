//! Money: payments, invoices, credit notes, refunds, the provider's webhooks and
//! payouts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use o2c::ids::{CreditNoteId, InvoiceId, PaymentId};
use o2c::ledger::{IssueCreditNote, RecordPayment, RecordRefund};
use o2c::payment::{PaymentNotification, RecordSettlement};
use o2c::store::Store;
use serde::Serialize;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params};

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::post("/payments", "recordPayment")
                .about("payments", "Record a payment against an invoice")
                .body(s.body_of::<RecordPayment>(&["idempotency_key"]))
                .answers(201, "The payment", s.named("Payment"))
        },
        post(record_payment::<S>),
    );
    api.add(
        |s| {
            Op::get("/payments/{id}", "getPayment")
                .about("payments", "A payment or refund")
                .path("id", s.of::<PaymentId>())
                .answers(200, "The payment", s.named("Payment"))
        },
        get(payment::<S>),
    );
    api.add(
        |s| {
            Op::get("/invoices/{id}", "getInvoice")
                .about("payments", "An invoice, with what is still due")
                .path("id", s.of::<InvoiceId>())
                .answers(200, "The invoice", s.named("Invoice"))
        },
        get(invoice::<S>),
    );
    api.add(
        |s| {
            Op::post("/credit-notes", "issueCreditNote")
                .about("payments", "Issue a credit note against an invoice")
                .body(s.body_of::<IssueCreditNote>(&["idempotency_key"]))
                .answers(201, "The credit note", s.named("CreditNote"))
        },
        post(issue_credit_note::<S>),
    );
    api.add(
        |s| {
            Op::get("/credit-notes/{id}", "getCreditNote")
                .about("payments", "A credit note")
                .path("id", s.of::<CreditNoteId>())
                .answers(200, "The credit note", s.named("CreditNote"))
        },
        get(credit_note::<S>),
    );
    api.add(
        |s| {
            Op::post("/refunds", "recordRefund")
                .about(
                    "payments",
                    "Refund a payment (through the provider for a card)",
                )
                .body(s.body_of::<RecordRefund>(&["idempotency_key"]))
                .answers(201, "The refund", s.named("Payment"))
        },
        post(record_refund::<S>),
    );
    api.add(
        |s| {
            Op::post("/payment-notifications", "applyPaymentNotification")
                .about(
                    "payments",
                    "Apply the payment provider's notification (its webhook)",
                )
                .body(s.named("PaymentNotification"))
                .answers(200, "Applied, or known already", s.of::<Acknowledged>())
        },
        post(notification::<S>),
    );
    api.add(
        |s| {
            Op::post("/settlements", "recordSettlement")
                .about(
                    "payments",
                    "Record the provider's payout: bank, fees, card clearing",
                )
                .body(s.named("RecordSettlement"))
                .answers(201, "The settlement", s.named("Settlement"))
        },
        post(record_settlement::<S>),
    );
    api.add(
        |s| {
            Op::get("/settlements/{payout}", "getSettlement")
                .about("payments", "A payout, by the provider's id")
                .path(
                    "payout",
                    serde_json::json!({"type": "string", "minLength": 1}),
                )
                .answers(200, "The settlement", s.named("Settlement"))
        },
        get(settlement::<S>),
    );
}

async fn record_payment<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: RecordPayment = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.record_payment(cmd).await?)
}

async fn payment<S: Store>(State(app): State<Shared<S>>, Params(id): Params<PaymentId>) -> Reply {
    ok(&app.oms.payment(id).await?)
}

async fn invoice<S: Store>(State(app): State<Shared<S>>, Params(id): Params<InvoiceId>) -> Reply {
    ok(&app.oms.invoice(id).await?)
}

async fn issue_credit_note<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: IssueCreditNote = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.issue_credit_note(cmd).await?)
}

async fn credit_note<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<CreditNoteId>,
) -> Reply {
    ok(&app.oms.credit_note(id).await?)
}

async fn record_refund<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: RecordRefund = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.record_refund(cmd).await?)
}

/// A notification's fate.
#[derive(Serialize, schemars::JsonSchema)]
struct Acknowledged {
    /// True when this notification had been applied before (a provider's
    /// redelivery): nothing was done again.
    known: bool,
}

async fn notification<S: Store>(State(app): State<Shared<S>>, _: Key, body: Body) -> Reply {
    let note: PaymentNotification = body.parse()?;
    let outcome = app.oms.apply_payment_event(&note).await?;
    ok(&Acknowledged {
        known: outcome.is_replay(),
    })
}

async fn record_settlement<S: Store>(State(app): State<Shared<S>>, _: Key, body: Body) -> Reply {
    let cmd: RecordSettlement = body.parse()?;
    applied(StatusCode::CREATED, app.oms.record_settlement(cmd).await?)
}

async fn settlement<S: Store>(
    State(app): State<Shared<S>>,
    Params(payout): Params<String>,
) -> Reply {
    ok(&app.oms.settlement(&payout).await?)
}
