// The live dashboard: loads /api/dashboard, follows /events (Server-Sent Events),
// and redraws. Every server string reaches the DOM through textContent (el(),
// in dom.js, which the page loads first with the other shared helpers).
'use strict';

const STAGES = ['placed', 'on_hold', 'shipped', 'delivered', 'completed', 'cancelled'];
const CHANNELS = ['web', 'store', 'phone', 'b2b', 'marketplace'];
const BUCKETS = [
  { key: 'current', label: 'Current', color: 'var(--age-current)' },
  { key: 'days_1_30', label: '1–30 d', color: 'var(--age-1-30)' },
  { key: 'days_31_60', label: '31–60 d', color: 'var(--age-31-60)' },
  { key: 'days_61_90', label: '61–90 d', color: 'var(--age-61-90)' },
  { key: 'over_90', label: '90+ d', color: 'var(--age-over-90)' },
];
const REFRESH_DELAY_MS = 400;      // SSE bursts collapse into one reload
const FALLBACK_REFRESH_MS = 10_000; // in case the stream is quiet or down
const FETCH_TIMEOUT_MS = 8_000;
const MAX_EVENTS = 50;
const MAX_TABLE_ROWS = 8;

// ---------------------------------------------------------------- helpers
// el, table, num, words, amountText, moneyText, money and isZero: in dom.js.

// Amounts are decimal strings. Sums are done exactly on BigInt (never floats);
// Number() is only used for bar lengths and ordering.
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
function sumDecimals(values) {
  const parts = values.map(v => DECIMAL.exec(String(v ?? '0').trim())).filter(Boolean);
  const scale = Math.max(0, ...parts.map(m => (m[3] || '').length));
  let total = 0n;
  for (const [, sign, int, frac = ''] of parts) {
    const n = BigInt((int || '0') + frac.padEnd(scale, '0'));
    total += sign === '-' ? -n : n;
  }
  const neg = total < 0n;
  const digits = (neg ? -total : total).toString().padStart(scale + 1, '0');
  return (neg ? '-' : '') + (scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits);
}

/** Sum a list of rows' money per currency: Map(currency -> amount string). */
function sumByCurrency(rows, pick) {
  const groups = new Map();
  for (const row of rows) {
    const m = pick(row);
    if (!m) continue;
    if (!groups.has(m.currency)) groups.set(m.currency, []);
    groups.get(m.currency).push(m.amount);
  }
  return new Map([...groups].map(([cur, amounts]) => [cur, sumDecimals(amounts)]));
}

const channelColor = ch => (CHANNELS.includes(ch) ? `var(--ch-${ch})` : 'var(--ch-other)');
const unique = xs => [...new Set(xs)];
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const DAY = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
/** The time of day, with the date in front when it is not today. */
function timeText(iso) {
  const d = iso ? new Date(iso) : new Date();
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? TIME.format(d) : `${DAY.format(d)}, ${TIME.format(d)}`;
}

const empty = text => el('p', { class: 'empty' }, text);
const moreNote = (total, shown, what) => (total > shown ? el('p', { class: 'more' }, `+ ${total - shown} more ${what}`) : null);

// ---------------------------------------------------------------- panels
// Each renderer takes the dashboard JSON and returns { nodes, note }.

function renderPipeline(data) {
  const rows = data.pipeline ?? [];
  // Known stages in pipeline order; anything new the server adds goes last.
  const stages = unique([...STAGES, ...rows.map(r => r.stage)]);
  const channels = unique([...CHANNELS.filter(c => rows.some(r => r.channel === c)), ...rows.map(r => r.channel)]);
  const ordersIn = stage => rows.filter(r => r.stage === stage).reduce((n, r) => n + (Number(r.orders) || 0), 0);
  const max = Math.max(1, ...stages.map(ordersIn));
  const total = stages.reduce((n, s) => n + ordersIn(s), 0);

  const list = el('div', { class: 'stages' });
  for (const stage of stages) {
    const inStage = rows.filter(r => r.stage === stage);
    const orders = ordersIn(stage);
    const segments = channels.map(ch => {
      const cells = inStage.filter(r => r.channel === ch);
      const n = cells.reduce((s, r) => s + (Number(r.orders) || 0), 0);
      const value = [...sumByCurrency(cells, r => r.value)].map(([c, a]) => moneyText(a, c)).join(' + ');
      return { value: n, color: channelColor(ch), title: `${words(ch)}: ${plural(n, 'order')}${value ? ` · ${value}` : ''}` };
    });
    const value = [...sumByCurrency(inStage, r => r.value)].map(([c, a]) => moneyText(a, c)).join(' + ');
    list.append(el('div', { class: 'stage', 'data-stage': stage, 'data-orders': orders },
      el('span', { class: 'stage-name' }, words(stage)),
      Charts.stackedBar({ segments, max, label: `${words(stage)}: ${plural(orders, 'order')}` }),
      el('span', { class: 'stage-orders num' }, String(orders), el('small', {}, orders === 1 ? ' order' : ' orders')),
      el('span', { class: 'stage-value num' }, value || '–')));
  }
  const legend = channels.length
    ? Charts.legend(channels.map(ch => ({ label: words(ch), color: channelColor(ch) })))
    : null;
  const nodes = [list, total === 0 ? el('p', { class: 'more' }, 'No orders yet.') : null];
  return { nodes: nodes.filter(Boolean), note: [legend, plural(total, 'order')] };
}

function renderSales(data) {
  const raw = data.sales_today ?? [];
  const note = data.today ? `on ${data.today}` : '';
  if (!raw.length) return { nodes: [empty('No sales recorded today yet.')], note };

  // Grouped by currency (in the server's order), channels in their usual order.
  const currencies = unique(raw.map(r => r.currency));
  const rank = r => currencies.indexOf(r.currency) * 100 + (CHANNELS.indexOf(r.channel) + 1 || 99);
  const rows = raw.slice().sort((a, b) => rank(a) - rank(b));
  const nodes = [];
  const heading = currencies.length > 1 ? note : `net revenue in ${currencies[0]} · ${note}`;
  for (const cur of currencies) {
    const mine = rows.filter(r => r.currency === cur);
    if (currencies.length > 1) nodes.push(el('p', { class: 'more' }, `Net revenue, ${cur}`));
    nodes.push(Charts.barChart({
      items: mine.map(r => ({
        label: words(r.channel),
        value: Number(r.net_revenue),
        text: amountText(r.net_revenue),
        color: channelColor(r.channel),
        title: `${words(r.channel)}: ${moneyText(r.net_revenue, cur)} net, ${plural(r.units_sold, 'unit')}`,
      })),
      width: 420, height: currencies.length > 1 ? 100 : 112,
      label: `Net revenue today by channel, ${cur}`,
    }));
  }

  const marginPct = r => {
    const rev = Number(r.net_revenue);
    return rev ? `${Math.round((Number(r.gross_margin) / rev) * 100)}%` : '–';
  };
  // Amounts without the currency in the cells: it is in the caption (or under
  // the channel when there are several), which keeps the table narrow.
  const body = rows.map(r => el('tr', { 'data-channel': r.channel, 'data-currency': r.currency },
    el('td', {}, words(r.channel), currencies.length > 1 ? el('span', { class: 'sub' }, r.currency) : null),
    num(r.units_sold), num(amountText(r.net_revenue)), num(amountText(r.gross_margin)), num(marginPct(r))));
  const foot = currencies.map(cur => {
    const mine = rows.filter(r => r.currency === cur);
    const total = { net_revenue: sumDecimals(mine.map(r => r.net_revenue)), gross_margin: sumDecimals(mine.map(r => r.gross_margin)) };
    return el('tr', {},
      el('td', {}, `Total ${cur}`),
      num(mine.reduce((n, r) => n + (Number(r.units_sold) || 0), 0)),
      num(amountText(total.net_revenue)), num(amountText(total.gross_margin)), num(marginPct(total)));
  });
  const headers = ['Channel', { label: 'Units', num: true }, { label: 'Net revenue', num: true },
    { label: 'Gross margin', num: true }, { label: 'Margin', num: true, title: 'Gross margin as a share of net revenue' }];
  nodes.push(el('div', { class: 'section-gap' }, table(headers, body, foot)));
  return { nodes, note: heading };
}

function renderAgeing(data) {
  const totals = data.ageing_totals ?? [];
  const customers = (data.ageing ?? []).slice().sort((a, b) => Number(b.total) - Number(a.total));
  if (!totals.length && !customers.length) {
    return { nodes: [empty('Nothing owed — no open receivables.')], note: '' };
  }
  const overdue = row => sumDecimals(BUCKETS.slice(1).map(b => row[b.key]));
  const segmentsOf = row => BUCKETS.map(b => ({
    value: Number(row[b.key]), color: b.color, title: `${b.label}: ${moneyText(row[b.key], row.currency)}`,
  }));

  const nodes = [];
  for (const t of totals) {
    nodes.push(el('div', { class: 'ageing-currency', 'data-currency': t.currency },
      el('div', { class: 'ageing-caption' },
        el('span', {}, 'Owed in ', el('strong', {}, t.currency)),
        el('span', {}, 'Total ', el('strong', {}, moneyText(t.total, t.currency)))),
      Charts.stackedBar({ segments: segmentsOf(t), label: `Receivables in ${t.currency} by age` }),
      el('div', { class: 'bucket-figures' }, BUCKETS.map(b => el('span', {},
        el('span', { class: 'bucket-label' }, el('span', { class: 'swatch', style: `background:${b.color}` }), b.label),
        el('span', { class: 'bucket-value' }, amountText(t[b.key])))))));
  }

  // Top customers: one mini bar each, on a shared scale so they compare.
  const shown = customers.slice(0, MAX_TABLE_ROWS);
  const max = Math.max(0, ...shown.map(c => Number(c.total) || 0));
  const multi = unique(customers.map(c => c.currency)).length > 1;
  const rows = shown.map(c => {
    const late = overdue(c);
    return el('tr', { 'data-customer': c.customer },
      el('td', { class: 'customer', title: c.customer }, c.customer ?? '—'),
      el('td', { class: 'bar-cell' }, Charts.stackedBar({ segments: segmentsOf(c), max, label: `${c.customer ?? 'Customer'}: owed by age` })),
      num(isZero(late) ? '–' : amountText(late), { class: isZero(late) ? 'zero' : 'alert' }),
      num(multi ? moneyText(c.total, c.currency) : amountText(c.total)));
  });
  const headers = ['Top customers', { label: 'By age' }, { label: 'Overdue', num: true }, { label: 'Total', num: true }];
  nodes.push(el('div', { class: 'section-gap' },
    shown.length ? table(headers, rows) : empty('No customer owes anything.')));
  const note = customers.length > shown.length ? `top ${shown.length} of ${customers.length} customers` : 'by days past due';
  return { nodes, note };
}

function renderLowStock(data) {
  const rows = (data.low_stock ?? []).slice().sort((a, b) => (b.shortfall ?? 0) - (a.shortfall ?? 0));
  if (!rows.length) return { nodes: [empty('Every SKU is above its reorder point.')], note: '' };
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  // Back-ordered units are in the back-orders table; here they only go in the tooltip.
  const body = shown.map(r => el('tr', { 'data-sku': r.sku, 'data-location': r.location, title: `${plural(r.back_ordered ?? 0, 'unit')} back-ordered` },
    el('td', {}, el('span', { class: 'mono' }, r.sku), el('span', { class: 'sub' }, r.location)),
    num(r.on_hand), num(r.available), num(r.reorder_point ?? '–'), num(r.on_order),
    num(r.shortfall, { class: r.shortfall > 0 ? 'alert' : '' })));
  const headers = ['SKU', { label: 'On hand', num: true }, { label: 'Avail.', num: true, title: 'Available to promise' },
    { label: 'Reorder at', num: true, title: 'Reorder point' }, { label: 'On order', num: true },
    { label: 'Short', num: true, title: 'Shortfall: units needed to get back to the reorder point and cover back orders' }];
  return { nodes: [table(headers, body), moreNote(rows.length, shown.length, 'SKUs')].filter(Boolean), note: plural(rows.length, 'SKU') };
}

function renderBackOrders(data) {
  const rows = (data.back_orders ?? []).slice().sort((a, b) => (b.units ?? 0) - (a.units ?? 0));
  if (!rows.length) return { nodes: [empty('No back orders — every line is covered.')], note: '' };
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  const body = shown.map(r => el('tr', { 'data-sku': r.sku },
    el('td', { class: 'mono' }, r.sku), num(r.units), num(r.orders),
    num(`${r.oldest_days} d`, { class: r.oldest_days > 7 ? 'alert' : '' })));
  const headers = ['SKU', { label: 'Units', num: true }, { label: 'Orders', num: true }, { label: 'Oldest', num: true, title: 'Age of the oldest waiting line' }];
  const units = rows.reduce((n, r) => n + (Number(r.units) || 0), 0);
  return { nodes: [table(headers, body), moreNote(rows.length, shown.length, 'SKUs')].filter(Boolean), note: `${plural(units, 'unit')} waiting` };
}

const PANELS = [
  ['pipeline', renderPipeline],
  ['sales', renderSales],
  ['ageing', renderAgeing],
  ['low-stock', renderLowStock],
  ['back-orders', renderBackOrders],
];

function render(data) {
  // One panel failing (an unexpected shape, say) must not blank the others.
  for (const [id, draw] of PANELS) {
    const panel = document.getElementById(id);
    const body = panel.querySelector('[data-body]');
    try {
      const { nodes, note } = draw(data);
      body.replaceChildren(...nodes);
      panel.querySelector('[data-note]').replaceChildren(...[note ?? []].flat().filter(n => n != null));
    } catch (err) {
      console.error(`panel ${id}`, err);
      body.replaceChildren(el('p', { class: 'panel-error' }, `Couldn’t draw this panel: ${err.message}`));
    }
  }
  const updated = document.getElementById('updated');
  updated.textContent = `Updated ${timeText(data.as_of)}`;
  updated.title = data.as_of ? `Figures as of ${data.as_of}` : '';
}

// ---------------------------------------------------------------- refreshing

const statusLine = document.getElementById('status');
function setStatus(text) {
  statusLine.hidden = !text;
  statusLine.textContent = text || '';
}

let refreshTimer = null;
let inFlight = false;
let refreshAgain = false;

/** Trailing throttle: the first request in a burst starts a 400 ms timer, the
 *  rest ride on it, so the dashboard loads at most once per 400 ms. */
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, REFRESH_DELAY_MS);
}

async function refresh() {
  if (inFlight) { refreshAgain = true; return; } // never two loads at once
  inFlight = true;
  const ctl = new AbortController();
  const timeout = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch('/api/dashboard', { headers: { Accept: 'application/json' }, cache: 'no-store', signal: ctl.signal });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
    setStatus(null);
  } catch (err) {
    const why = err.name === 'AbortError' ? 'timed out' : err.message;
    setStatus(`Couldn’t refresh the dashboard (${why}) — retrying.`);
    const updated = document.getElementById('updated');
    if (updated.textContent === 'Loading…') updated.textContent = 'No data yet';
  } finally {
    clearTimeout(timeout);
    inFlight = false;
    if (refreshAgain) { refreshAgain = false; scheduleRefresh(); }
  }
}

// ---------------------------------------------------------------- event stream

const eventList = document.getElementById('events');
const eventsEmpty = document.getElementById('events-empty');
const eventsNote = document.getElementById('events-note');
let eventsSeen = 0;

// Only order_placed carries the order's number; remember it so later events can
// say "order SO-000042" instead of a UUID. Bounded so a long session stays small.
const orderNumbers = new Map();
const MAX_REMEMBERED = 5000;

function docNumber(prefix, n) {
  if (n == null) return null;
  return /^\d+$/.test(String(n)) ? `${prefix}-${String(n).padStart(6, '0')}` : String(n);
}
const isUuid = v => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(v));
// The tail, not the head: o2c's ids are UUIDv7, whose first digits are a
// timestamp shared by everything created in the same moment.
const shortId = id => (id == null ? '?' : isUuid(id) ? `…${String(id).slice(-6)}` : String(id));
const orderRef = id => orderNumbers.get(id) ?? shortId(id);
const units = (q, sku) => `${q} × ${sku}`;
const because = reason => (reason ? `: ${reason}` : '');

const DESCRIBE = {
  order_placed: e => `Order ${docNumber('SO', e.number) ?? orderRef(e.order)} placed on ${words(e.channel)} — ${money(e.total)}`,
  order_amended: e => `Order ${orderRef(e.order)} amended — now ${money(e.value)}`,
  order_cancelled: e => `Order ${orderRef(e.order)} cancelled${because(e.reason)}`,
  order_remainder_cancelled: e => `Rest of order ${orderRef(e.order)} cancelled (${plural(e.units, 'unit')})`,
  order_completed: e => `Order ${orderRef(e.order)} completed`,
  order_held: e => `Order ${orderRef(e.order)} put on hold (${words(e.hold).toLowerCase()})`,
  hold_released: e => `Hold released on order ${orderRef(e.order)} (${words(e.hold).toLowerCase()})`,
  order_released: e => `Order ${orderRef(e.order)} released to ${e.location}`,
  release_rejected: e => `${e.location} gave back order ${orderRef(e.order)}${because(e.reason)}`,
  stock_reserved_for_order: e => {
    const res = e.reservations ?? [];
    const n = res.reduce((s, r) => s + (Number(r.quantity) || 0), 0);
    const what = res.length === 1 ? res[0].sku : plural(unique(res.map(r => r.sku)).length, 'SKU');
    return `Stock reserved for order ${orderRef(e.order)} — ${plural(n, 'unit')} of ${what}`;
  },
  stock_reserved: e => `${units(e.quantity, e.sku)} reserved at ${e.location} for order ${orderRef(e.order)}`,
  stock_released: e => `${units(e.quantity, e.sku)} released at ${e.location} from order ${orderRef(e.order)}`,
  stock_received: e => `${units(e.quantity, e.sku)} received at ${e.location}`,
  stock_adjusted: e => `${e.sku} at ${e.location} adjusted by ${e.delta > 0 ? '+' : ''}${e.delta}${because(e.reason)}`,
  stock_counted: e => `Stock count at ${e.location}: ${plural(e.differences, 'difference')}`,
  back_order_created: e => `${units(e.quantity, e.sku)} back-ordered for order ${orderRef(e.order)}${e.promised_on ? `, promised ${e.promised_on}` : ''}`,
  back_order_allocated: e => `${units(e.quantity, e.sku)} allocated to back-ordered order ${orderRef(e.order)}`,
  promise_date_changed: e => `${e.sku} for order ${orderRef(e.order)} now promised ${e.promised_on ?? '— no date yet'}`,
  requisition_raised: e => `Requisition raised for ${units(e.quantity, e.sku)} at ${e.location}`,
  purchase_order_raised: e => `Purchase order ${docNumber('PO', e.number) ?? shortId(e.purchase_order)} raised — ${money(e.total)}`,
  purchase_order_late: e => `Purchase order ${shortId(e.purchase_order)} late — now expected ${e.expected_on}`,
  goods_received: e => `${units(e.quantity, e.sku)} received at ${e.location} on a purchase order`,
  invoice_issued: e => `Invoice ${docNumber('INV', e.number) ?? shortId(e.invoice)} issued for order ${orderRef(e.order)} — ${money(e.total)}`,
  invoice_voided: e => `Invoice voided for order ${orderRef(e.order)}`,
  payment_recorded: e => `Payment of ${money(e.amount)} recorded for order ${orderRef(e.order)}`,
  payment_authorised: e => `${money(e.amount)} authorised on card for order ${orderRef(e.order)}`,
  payment_declined: e => `Card declined for order ${orderRef(e.order)}${because(e.reason)}`,
  authorisation_released: e => `Card hold of ${money(e.released)} released for order ${orderRef(e.order)}`,
  capture_failed: e => `Capture of ${money(e.amount)} failed for order ${orderRef(e.order)}${because(e.reason)}`,
  payment_settled: e => `Payout of ${money(e.gross)} settled (fee ${money(e.fee)})`,
  payment_reminder: e => `Reminder ${e.level} for order ${orderRef(e.order)} — ${money(e.outstanding)}, ${plural(e.days_overdue, 'day')} overdue`,
  refund_issued: e => `Refund of ${money(e.amount)} issued`,
  refund_failed: e => `Refund of ${money(e.amount)} failed${because(e.reason)}`,
  customer_credited: e => `${money(e.amount)} credited to a customer`,
  customer_overdue: e => `Customer ${shortId(e.customer)} overdue — shipping held`,
  customer_overdue_cleared: e => `Customer ${shortId(e.customer)} no longer overdue`,
  credit_note_issued: e => `Credit note ${docNumber('CN', e.number) ?? shortId(e.credit_note)} for order ${orderRef(e.order)} — ${money(e.total)}`,
  shipment_booked: e => `Shipment booked for order ${orderRef(e.order)} with ${e.carrier}${e.tracking ? ` (${e.tracking})` : ''}`,
  tracking_updated: e => `Shipment ${shortId(e.shipment)} now ${words(e.status).toLowerCase()}`,
  shipment_delivered: e => `Shipment delivered for order ${orderRef(e.order)}`,
  return_requested: e => `Return ${docNumber('RMA', e.number) ?? shortId(e.rma)} requested for order ${orderRef(e.order)}`,
  return_received: e => `${units(e.quantity, e.sku)} returned from order ${orderRef(e.order)}${e.restocked_at ? `, restocked at ${e.restocked_at}` : ', written off'}`,
  exchange_placed: e => `Exchange for order ${orderRef(e.order)} placed as order ${orderRef(e.replacement)}`,
  customer_registered: () => 'New customer registered',
  product_saved: e => `Product ${e.sku} saved`,
  location_saved: e => `Location ${e.location} saved`,
  tax_table_saved: () => 'Tax table updated',
  reorder_rule_saved: e => `Reorder rule set for ${e.sku} at ${e.location}`,
};

// For types without a sentence: the type in words, then its id-ish fields.
const ID_FIELDS = ['order', 'number', 'sku', 'location', 'invoice', 'shipment', 'purchase_order', 'rma', 'payment', 'customer', 'supplier'];
function fallbackSentence(type, e) {
  const bits = ID_FIELDS.filter(k => e[k] != null && typeof e[k] !== 'object')
    .map(k => `${words(k).toLowerCase()} ${k === 'order' ? orderRef(e[k]) : shortId(e[k])}`);
  if (e.quantity != null) bits.push(plural(e.quantity, 'unit'));
  if (e.amount && typeof e.amount === 'object') bits.push(money(e.amount));
  return [words(type), ...bits].join(' · ');
}

/** The sentence as nodes, with document numbers and short ids kept on one line. */
function unbroken(sentence) {
  return sentence.split(/((?:SO|INV|PO|CN|RMA)-\d+|…[0-9a-f]{6})/)
    .map((piece, i) => (i % 2 ? el('span', { class: 'nowrap' }, piece) : piece));
}

function describe(type, e) {
  try {
    if (DESCRIBE[type]) return DESCRIBE[type](e);
  } catch (err) {
    console.warn('describe', type, err); // an unexpected shape: fall through
  }
  return fallbackSentence(type, e);
}

/** A colour family for the dot beside each event. */
function kindOf(type) {
  if (/^(shipment|tracking|order_released|release_)/.test(type)) return 'shipping';
  if (/^(return|exchange|credit_note|refund)/.test(type)) return 'return';
  if (/(invoice|payment|capture|authoris|credited|reminder|overdue)/.test(type)) return 'money';
  if (/^(stock|back_order|goods|requisition|purchase_order|reorder|promise|product|location|supplier)/.test(type)) return 'stock';
  if (/^(order|hold)/.test(type)) return 'order';
  return 'other';
}

function addEvent(msg) {
  const seq = Number(msg.sequence);
  const e = msg.event ?? {};
  const type = String(e.type ?? 'unknown');
  if (type === 'order_placed' && e.order && e.number != null) {
    orderNumbers.set(e.order, docNumber('SO', e.number));
    if (orderNumbers.size > MAX_REMEMBERED) orderNumbers.delete(orderNumbers.keys().next().value);
  }
  // A reconnect may replay what we already show.
  if (Number.isFinite(seq) && eventList.querySelector(`li[data-sequence="${seq}"]`)) return;

  const li = el('li', { class: 'fresh', 'data-sequence': msg.sequence, 'data-type': type, 'data-order': e.order, 'data-kind': kindOf(type) },
    el('span', { class: 'kind', 'aria-hidden': 'true' }),
    el('span', { class: 'text' }, unbroken(describe(type, e))),
    el('span', { class: 'when' }, `#${msg.sequence} · ${timeText(msg.recorded_at)}`));
  li.addEventListener('animationend', () => li.classList.remove('fresh'), { once: true });

  // Newest first, even if messages arrive out of order.
  const before = [...eventList.children].find(x => Number(x.dataset.sequence) < seq);
  eventList.insertBefore(li, before ?? null);
  while (eventList.children.length > MAX_EVENTS) eventList.lastElementChild.remove();

  eventsSeen += 1;
  eventsEmpty.hidden = true;
  eventsNote.textContent = `${eventsSeen} this session · newest first`;
}

function setLive(open) {
  const live = document.getElementById('live');
  live.dataset.state = open ? 'open' : 'reconnecting';
  document.getElementById('live-text').textContent = open ? 'live' : 'reconnecting…';
}

let lastSequence = null; // the newest event shown, to resume a fresh stream after it
let retryDelay = 2000;

function connect() {
  // A stream the browser gave up on is replaced by a new EventSource, which has
  // no Last-Event-ID of its own: ?after= says where to go on from instead.
  const source = new EventSource(lastSequence == null ? '/events' : `/events?after=${lastSequence}`);
  let dropped = false;
  source.onopen = () => {
    setLive(true);
    retryDelay = 2000;
    if (dropped) scheduleRefresh(); // catch up on whatever changed while away
  };
  // The server sends every event under the default name, so onmessage sees all.
  source.onmessage = message => {
    try {
      const recorded = JSON.parse(message.data);
      addEvent(recorded);
      if (Number.isFinite(Number(recorded.sequence))) lastSequence = Math.max(lastSequence ?? 0, Number(recorded.sequence));
    } catch (err) {
      console.error('bad event', message.data, err);
    }
    scheduleRefresh();
  };
  source.onerror = event => {
    dropped = true;
    setLive(false);
    // The server ends a stream it cannot go on with by a message named
    // `error` carrying a problem document; that lands here too.
    if (event.data) {
      try { setStatus(`Event stream: ${JSON.parse(event.data).detail ?? 'interrupted'} — reconnecting.`); } catch { /* not JSON */ }
    }
    // CONNECTING: the browser retries by itself (sending Last-Event-ID).
    // CLOSED: it gave up (a non-200 answer, e.g. 503 when too many streams are
    // open), so start a fresh stream later, backing off up to 30 s.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30_000);
    }
  };
}

refresh();
setInterval(refresh, FALLBACK_REFRESH_MS);
connect();
