//! Index terms: what a record is found under within its kind, so that a command
//! reads the few records that concern it — the open purchase orders and the
//! suppliers of the SKUs it orders — instead of every record of the kind.

use super::{Record, RecordKey};
use crate::ids::Sku;

/// A term the records of a kind are found under, which
/// [`Prefetch::found_under`](super::Prefetch::found_under) asks for.
///
/// What a record is found under follows from the record alone, as stored
/// ([`Record::index_terms`]): a store keeps each record's terms beside it and
/// rewrites them in the commit that puts the record, so a read finds a record
/// under a term exactly when the record as read has it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IndexTerm {
    /// What concerns one SKU: a purchase order while it is open
    /// ([`PurchaseOrder::is_open`]: a draft, approved or partly received) is found
    /// under each SKU on its lines, and a supplier under each SKU it has an offer
    /// for, whatever the offer's validity (a ranking reports the stale ones).
    ///
    /// [`PurchaseOrder::is_open`]: crate::purchasing::PurchaseOrder::is_open
    Sku(Sku),
}

impl IndexTerm {
    /// The term as text (`"sku/TEE-M"`), as a store that keeps terms in a column
    /// writes them. Files keep it, so it never changes: the SQLite schema fills
    /// its terms table from stored records with the same text.
    pub fn describe(&self) -> String {
        match self {
            IndexTerm::Sku(sku) => format!("sku/{sku}"),
        }
    }
}

impl RecordKey {
    /// Whether records of this key's kind may be found under any term: a store
    /// skips the terms of every other kind at commit without looking.
    pub(crate) fn may_have_terms(&self) -> bool {
        match self {
            RecordKey::PurchaseOrder(_) | RecordKey::Supplier(_) => true,
            RecordKey::Customer(_)
            | RecordKey::Product(_)
            | RecordKey::Location(_)
            | RecordKey::TaxTable
            | RecordKey::Order(_)
            | RecordKey::Invoice(_)
            | RecordKey::Payment(_)
            | RecordKey::Shipment(_)
            | RecordKey::Counter(_)
            | RecordKey::BackOrderQueue(_)
            | RecordKey::ReorderRule(..)
            | RecordKey::CreditNote(_)
            | RecordKey::Return(_)
            | RecordKey::ThirdPartyFeed(_)
            | RecordKey::Settlement(_) => false,
        }
    }
}

impl Record {
    /// The terms this record is found under within its kind, each once: an open
    /// purchase order under each SKU on its lines, a supplier under each SKU it
    /// offers ([`IndexTerm::Sku`]); no other kind has any. A purchase order that is
    /// received in full, closed or cancelled is found under none: nothing more
    /// arrives on it, so no command deciding about a SKU's supply needs it.
    pub fn index_terms(&self) -> Vec<IndexTerm> {
        let skus: Vec<&Sku> = match self {
            Record::PurchaseOrder(po) if po.is_open() => po.lines.iter().map(|l| &l.sku).collect(),
            Record::Supplier(s) => s.offers.iter().map(|o| &o.sku).collect(),
            Record::PurchaseOrder(_)
            | Record::Customer(_)
            | Record::Product(_)
            | Record::Location(_)
            | Record::TaxTable(_)
            | Record::Order(_)
            | Record::Invoice(_)
            | Record::Payment(_)
            | Record::Shipment(_)
            | Record::Counter(_)
            | Record::BackOrderQueue(_)
            | Record::ReorderRule(_)
            | Record::CreditNote(_)
            | Record::Return(_)
            | Record::ThirdPartyFeed(_)
            | Record::Settlement(_) => return Vec::new(),
        };
        // A supplier may offer one SKU several times (packs, validity windows).
        crate::ids::distinct(skus)
            .into_iter()
            .map(IndexTerm::Sku)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::purchasing::fixtures::{draft, mills, sku, usd};
    use crate::purchasing::{Offer, PurchaseOrderStatus};

    #[test]
    fn an_open_purchase_order_is_found_under_each_of_its_skus_until_it_is_done() {
        let mut po = draft(
            10,
            vec![(sku("MUG"), 10, usd(250)), (sku("CUP"), 4, usd(90))],
        );
        let want = vec![IndexTerm::Sku(sku("MUG")), IndexTerm::Sku(sku("CUP"))];
        for status in [
            PurchaseOrderStatus::Draft,
            PurchaseOrderStatus::Approved,
            PurchaseOrderStatus::PartiallyReceived,
        ] {
            po.status = status;
            assert_eq!(Record::PurchaseOrder(po.clone()).index_terms(), want);
        }
        for status in [
            PurchaseOrderStatus::Received,
            PurchaseOrderStatus::Closed,
            PurchaseOrderStatus::Cancelled,
        ] {
            po.status = status;
            let record = Record::PurchaseOrder(po.clone());
            assert!(record.index_terms().is_empty(), "{status:?}");
            assert!(record.key().may_have_terms());
        }
    }

    #[test]
    fn a_supplier_is_found_under_each_sku_it_offers_once() {
        // Mills offers mugs, then cups; a second mug offer and a tea offer follow.
        let mut supplier = mills();
        let again = supplier.offers[0]
            .clone()
            .packs_of(crate::quantity::Quantity::new(6));
        let day = again.valid_from;
        supplier.offers.push(again);
        supplier
            .offers
            .push(Offer::new(sku("TEA"), usd(90), 3, day, day));
        let record = Record::Supplier(supplier);
        let want = ["MUG", "CUP", "TEA"].map(|s| IndexTerm::Sku(sku(s)));
        assert_eq!(record.index_terms(), want);
        assert!(record.key().may_have_terms());
    }

    #[test]
    fn terms_read_as_stable_text() {
        assert_eq!(IndexTerm::Sku(sku("TEE-M")).describe(), "sku/TEE-M");
    }
}
