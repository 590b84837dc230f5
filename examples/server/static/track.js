// Customer self-service: POST /api/track with an order number and e-mail and
// show the order. Every server string reaches the DOM through textContent (el(),
// in dom.js, which the page loads first with the other shared helpers).
'use strict';

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
function dateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '—') : DATE_TIME.format(d);
}
/** A calendar day ('2026-12-07'): formatted in UTC so it never shifts by a day. */
function day(iso) {
  if (!iso) return '—';
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? String(iso) : DATE.format(d);
}

// Badge colours by meaning; anything unknown stays neutral.
const TONES = {
  good: ['completed', 'delivered', 'shipped', 'paid', 'fulfilled', 'closed', 'settled'],
  info: ['open', 'partially_shipped', 'partially_paid', 'partially_delivered', 'in_transit', 'out_for_delivery', 'booked', 'invoiced', 'released'],
  warn: ['on_hold', 'unpaid', 'back_ordered', 'awaiting_payment', 'pending', 'overpaid'],
  bad: ['cancelled', 'overdue', 'failed', 'declined', 'exception', 'lost', 'returned'],
};
const toneOf = value => Object.keys(TONES).find(t => TONES[t].includes(String(value))) ?? 'neutral';

function badge(value, label, field) {
  return el('span', { class: 'badge', 'data-tone': toneOf(value), 'data-field': field, 'data-value': value },
    label ? el('span', { class: 'badge-label' }, `${label}: `) : null, words(value));
}

// ---------------------------------------------------------------- rendering

function stat(label, value, cls) {
  return el('div', { class: cls }, el('dt', {}, label), el('dd', {}, money(value)));
}

function linesSection(lines) {
  if (!lines?.length) return el('p', { class: 'empty' }, 'This order has no lines.');
  return table(['Item', 'SKU', { label: 'Ordered', num: true }, { label: 'Shipped', num: true }], lines.map(l => {
    const share = l.ordered > 0 ? Math.min(100, Math.round((l.shipped / l.ordered) * 100)) : 0;
    return el('tr', { 'data-sku': l.sku },
      el('td', {}, l.description ?? l.sku),
      el('td', { class: 'mono' }, l.sku),
      num(l.ordered),
      el('td', { class: 'num' }, String(l.shipped ?? 0),
        el('span', { class: 'progress', role: 'img', 'aria-label': `${share}% shipped` }, el('span', { style: `width:${share}%` }))));
  }));
}

function shipmentCard(s) {
  const service = s.service ? ` · ${words(s.service)}` : '';
  const events = (s.tracking ?? []).slice().sort((a, b) => new Date(b.at) - new Date(a.at)); // newest first
  return el('article', { class: 'shipment', 'data-shipment': s.id, 'data-status': s.status },
    el('div', { class: 'shipment-head' },
      el('div', {},
        el('strong', {}, s.carrier ?? 'Carrier'), service,
        el('div', { class: 'muted' }, s.tracking_number ? `Tracking number ${s.tracking_number}` : 'No tracking number')),
      badge(s.status)),
    events.length
      ? el('ol', { class: 'timeline', 'aria-label': 'Tracking history, newest first' }, events.map(t => el('li', {},
        el('div', {}, el('strong', {}, words(t.status)), t.description ? ` — ${t.description}` : ''),
        el('div', { class: 'when' }, dateTime(t.at)))))
      : el('p', { class: 'muted' }, 'No carrier updates yet.'));
}

function invoicesSection(invoices) {
  if (!invoices?.length) return el('p', { class: 'empty' }, 'No invoices yet — you are invoiced as your goods ship.');
  return table(['Invoice', 'Issued', 'Due date', { label: 'Total', num: true }, { label: 'Amount due', num: true }],
    invoices.map(i => el('tr', { 'data-invoice': i.number },
      el('td', { class: 'mono' }, i.number),
      el('td', {}, day(i.issued_on)),
      el('td', {}, i.due_on ? day(i.due_on) : '—'),
      num(money(i.total)),
      isZero(i.due?.amount) ? num('Paid', { class: 'paid' }) : num(money(i.due), { class: 'alert' }))));
}

function render(order) {
  const section = (title, body) => el('section', { class: 'result-section' }, el('h3', {}, title), body);
  const shipments = order.shipments ?? [];
  result.replaceChildren(
    el('div', { class: 'order-head' },
      el('div', {},
        el('h2', { id: 'result-title' }, `Order ${order.order_number}`),
        el('p', { class: 'muted' }, `Placed ${dateTime(order.placed_at)}`)),
      el('div', { class: 'badges' },
        badge(order.status, 'Status', 'status'),
        badge(order.fulfilment, 'Fulfilment', 'fulfilment'),
        badge(order.payment, 'Payment', 'payment'))),
    el('dl', { class: 'totals' },
      stat('Order total', order.total), stat('Invoiced', order.invoiced), stat('Paid', order.paid),
      stat('Amount due', order.due, isZero(order.due?.amount) ? 'due settled' : 'due')),
    section('Items', linesSection(order.lines)),
    section(`Shipments (${shipments.length})`, shipments.length
      ? el('div', {}, shipments.map(shipmentCard))
      : el('p', { class: 'empty' }, 'Nothing has shipped yet.')),
    section('Invoices', invoicesSection(order.invoices)));
  result.dataset.orderNumber = order.order_number;
  result.setAttribute('aria-labelledby', 'result-title');
  result.hidden = false;
}

// ---------------------------------------------------------------- lookup

const form = document.getElementById('track-form');
const orderInput = document.getElementById('order-number');
const emailInput = document.getElementById('email');
const submit = document.getElementById('track-submit');
const result = document.getElementById('track-result');
const errorBox = document.getElementById('track-error');

function showError(text, status, code) {
  errorBox.textContent = text;
  errorBox.dataset.status = status ?? '';
  errorBox.dataset.code = code ?? '';
  errorBox.hidden = false;
  // Whatever was shown before belongs to another lookup.
  result.hidden = true;
  result.replaceChildren();
}

/** Friendly text for a failed answer; the server's problem `detail` when it has one. */
async function problemText(res) {
  let problem = null;
  if (/json/.test(res.headers.get('Content-Type') ?? '')) {
    try { problem = await res.json(); } catch { /* not JSON after all */ }
  }
  const detail = problem?.detail || problem?.title;
  let text;
  if (res.status === 404) text = detail || 'We couldn’t find an order with that number and e-mail.';
  else if (res.status === 400 || res.status === 422) text = detail || 'Please check the order number and e-mail address.';
  else if (res.status === 429) {
    const after = res.headers.get('Retry-After');
    text = `${detail || 'Too many lookups'} — please try again ${after ? `in ${after} seconds` : 'in a moment'}.`;
  } else if (res.status >= 500) text = `Something went wrong on our side (HTTP ${res.status}). Please try again shortly.`;
  else text = detail || `Unexpected answer from the server (HTTP ${res.status}).`;
  return { text, code: problem?.code };
}

/** Customers type 'so-42' or just '42': send the canonical 'SO-000042'. */
function normaliseOrderNumber(raw) {
  const s = raw.trim().toUpperCase();
  const digits = /^(?:SO-?)?(\d{1,6})$/.exec(s);
  return digits ? `SO-${digits[1].padStart(6, '0')}` : s;
}

async function lookup() {
  const orderNumber = normaliseOrderNumber(orderInput.value);
  const email = emailInput.value.trim();
  if (!orderNumber || !email) return showError('Please enter both your order number and your e-mail address.', 'client');
  if (!emailInput.checkValidity()) return showError('That e-mail address doesn’t look right.', 'client');
  orderInput.value = orderNumber;

  submit.disabled = true;
  submit.textContent = 'Looking up…';
  errorBox.hidden = true;
  errorBox.dataset.status = errorBox.dataset.code = '';
  try {
    const res = await fetch('/api/track', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: JSON.stringify({ order_number: orderNumber, email }),
    });
    if (res.ok) {
      render(await res.json());
    } else {
      const { text, code } = await problemText(res);
      showError(text, res.status, code);
    }
  } catch (err) {
    console.error(err);
    showError('We couldn’t reach the server. Check your connection and try again.', 'network');
  } finally {
    submit.disabled = false;
    submit.textContent = 'Track order';
  }
}

form.addEventListener('submit', event => {
  event.preventDefault();
  lookup();
});

// ?order=SO-000042&email=ada@example.com pre-fills the form and looks it up
// (links in e-mails, and the browser test).
const params = new URLSearchParams(location.search);
const preOrder = params.get('order') ?? params.get('order_number');
const preEmail = params.get('email');
if (preOrder) orderInput.value = preOrder;
if (preEmail) emailInput.value = preEmail;
if (preOrder && preEmail) lookup();
