//! Document numbers: gapless per series, handed out inside the commit.

use crate::event::Event;
use crate::ids::{CreditNoteId, InvoiceId};
use crate::ledger::{CreditNote, Invoice, InvoiceNumber};
use crate::store::{Changeset, Put, RecordKey, Store, StoreError};

use super::{CaseResult, Failure, OrFail, at, block_on, fixtures, usd};

/// A changeset inserting `invoice` for the store to number, with its event.
fn issuing(invoice: &Invoice) -> Changeset {
    let mut c = Changeset::new(at());
    c.puts.push(Put::insert(invoice.clone()));
    c.events.push(Event::InvoiceIssued {
        invoice: invoice.id,
        number: InvoiceNumber::new(0),
        order: invoice.order,
        total: usd(100),
    });
    c.number(RecordKey::Invoice(invoice.id));
    c
}

/// Document numbers run 1, 2, 3, … per series in commit order: the number reaches
/// the document and its event, a failed commit takes none, series do not share
/// numbers, a key the commit does not insert is refused, and eight writers at once
/// get every number exactly once.
pub async fn document_numbers_are_gapless<S: Store>(store: &S) -> CaseResult {
    let case = "document_numbers_are_gapless";
    let f = fixtures(case).await?;
    let invoice = |n: u128| {
        let mut invoice = f.invoice.clone();
        invoice.id = InvoiceId::from_uuid(uuid::Uuid::from_u128(n));
        invoice
    };
    let first = invoice(1);
    let committed = store
        .commit(issuing(&first))
        .await
        .or_fail(case, "numbering")?;
    let key = RecordKey::Invoice(first.id);
    ensure!(
        case,
        committed.number_of(&key) == Some(1),
        "the first invoice got {:?}",
        committed.numbers
    );
    let stored = store
        .load::<Invoice>(&first.id)
        .await
        .or_fail(case, "reading")?
        .map(|v| v.value.number.value());
    ensure!(case, stored == Some(1), "the stored invoice has {stored:?}");
    let events = store.events_after(0, 10).await.or_fail(case, "events")?;
    let numbered = events.iter().any(|e| {
        matches!(e.event, Event::InvoiceIssued { invoice, number, .. }
            if invoice == first.id && number.value() == 1)
    });
    ensure!(
        case,
        numbered,
        "the event does not carry the number: {events:?}"
    );

    // A commit that fails takes no number with it.
    let mut failing = issuing(&invoice(2));
    failing.puts.push(Put::update(f.product.clone(), 41));
    let refused = store.commit(failing).await;
    ensure!(
        case,
        matches!(
            refused,
            Err(StoreError::NotFound { .. } | StoreError::Conflict { .. })
        ),
        "a stale update was accepted: {refused:?}"
    );
    // Numbering a document the commit does not insert is refused.
    let mut stray = Changeset::new(at());
    stray.number(RecordKey::Invoice(invoice(99).id));
    let refused = store.commit(stray).await;
    ensure!(
        case,
        matches!(refused, Err(StoreError::Invalid { .. })),
        "numbering nothing was accepted: {refused:?}"
    );
    let second = store
        .commit(issuing(&invoice(3)))
        .await
        .or_fail(case, "numbering again")?;
    ensure!(
        case,
        second.number_of(&RecordKey::Invoice(invoice(3).id)) == Some(2),
        "after a failed commit the next invoice got {:?}",
        second.numbers
    );

    // Another series starts at 1 on its own.
    let mut note: CreditNote = f.credit_note.clone();
    note.id = CreditNoteId::from_uuid(uuid::Uuid::from_u128(7));
    let mut c = Changeset::new(at());
    c.puts.push(Put::insert(note.clone()));
    c.number(RecordKey::CreditNote(note.id));
    let noted = store.commit(c).await.or_fail(case, "a credit note")?;
    ensure!(
        case,
        noted.number_of(&RecordKey::CreditNote(note.id)) == Some(1),
        "the first credit note got {:?}",
        noted.numbers
    );

    // Eight writers at once share 3..=82 between them.
    let got: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..8u128)
            .map(|w| {
                let invoice = &invoice;
                scope.spawn(move || {
                    (0..10u128)
                        .map(|n| {
                            let doc = invoice(1_000 + w * 100 + n);
                            let committed =
                                block_on(store.commit(issuing(&doc))).map_err(|e| e.to_string())?;
                            committed
                                .number_of(&RecordKey::Invoice(doc.id))
                                .ok_or_else(|| "no number".to_owned())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|_| vec![Err("a writer panicked".to_owned())])
            })
            .collect()
    });
    let mut numbers = Vec::new();
    for n in got {
        numbers.push(n.map_err(|message| Failure { case, message })?);
    }
    numbers.sort_unstable();
    let expected: Vec<u64> = (3..=82).collect();
    ensure!(
        case,
        numbers == expected,
        "concurrent writers got {numbers:?}"
    );
    Ok(())
}
