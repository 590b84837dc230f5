// Helpers shared by the pages (dashboard, track, docs): each page loads this
// first, then its own script. Plain globals, no modules, no build step. Server
// strings reach the DOM only as text: el() appends them as text nodes and never
// parses markup.
'use strict';

// ---------------------------------------------------------------- DOM

/** el('td', {class: 'num', 'data-x': 1}, 'text', node, ...): attributes set
 *  with setAttribute (null/undefined skipped), strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c != null) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** A table in its scrolling wrapper. headers: strings or {label, num, title};
 *  rows: the <tr>s of the body; foot: <tr>s for a <tfoot>, if any. */
function table(headers, rows, foot) {
  const head = el('tr', {}, headers.map(h => el('th', { class: h.num ? 'num' : null, title: h.title, scope: 'col' }, h.label ?? h)));
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'table' }, el('thead', {}, head), el('tbody', {}, rows), foot ? el('tfoot', {}, foot) : null));
}

/** A right-aligned number cell: num(12) or num('3 d', {class: 'alert'}). */
const num = (value, attrs = {}) => el('td', { ...attrs, class: `num ${attrs.class || ''}`.trim() }, value);

// ---------------------------------------------------------------- words and money

const LABELS = { b2b: 'B2B', on_hold: 'On hold' };
/** 'partially_shipped' -> 'Partially shipped'. */
function words(code) {
  if (code == null) return '';
  const s = String(code);
  if (LABELS[s]) return LABELS[s];
  const t = s.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// Amounts are decimal strings and stay strings, so nothing is ever rounded.
/** '12345.50' -> '12,345.50' (string surgery, so no precision is lost). */
function amountText(amount) {
  const s = String(amount ?? '');
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  return m ? m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] || '') : s;
}
const moneyText = (amount, currency) => `${amountText(amount)} ${currency ?? ''}`.trim();
/** A money object ({amount, currency}) as text; '—' when there is none. */
const money = m => (m && m.amount != null ? moneyText(m.amount, m.currency) : '—');
/** Whether an amount string is zero (a missing amount counts as zero). */
const isZero = amount => /^[+-]?0*(\.0*)?$/.test(String(amount ?? '0'));
