// API docs: renders /openapi.json (OpenAPI 3.1) as operations grouped by tag,
// with a filter, and the component schemas as pretty-printed JSON. Every string
// from the document reaches the DOM through textContent (el() and table(), in
// dom.js, which the page loads first).
'use strict';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Prose with Markdown `code` spans: odd pieces between backticks become <code>. */
function rich(text) {
  return el('span', {}, String(text ?? '').split('`').map((piece, i) => (i % 2 ? el('code', { class: 'inline' }, piece) : piece)));
}

/** Nodes with a separator between them: join([a, b], ' | '). */
const join = (nodes, sep) => el('span', {}, nodes.flatMap((n, i) => (i ? [sep, n] : [n])));

// JSON Pointer segments escape '/' as ~1 and '~' as ~0.
const unescapePointer = s => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~');
const refName = ref => unescapePointer(String(ref).split('/').pop());
const SCHEMA_PREFIX = '#/components/schemas/';
const schemaAnchor = name => `schema-${name}`;

/** Follows local $refs (#/components/parameters/X, ...) to the object they name. */
function resolve(doc, obj) {
  for (let hops = 0; obj && typeof obj.$ref === 'string' && obj.$ref.startsWith('#/') && hops < 10; hops++) {
    obj = obj.$ref.slice(2).split('/').map(unescapePointer).reduce((o, k) => o?.[k], doc);
  }
  return obj ?? {};
}

/** A schema in a few words: a link for a named component, else its type. */
function schemaNode(s) {
  if (s === true || s == null || (typeof s === 'object' && !Object.keys(s).length)) return el('code', {}, 'any');
  if (s === false) return el('code', {}, 'nothing');
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return s.$ref.startsWith(SCHEMA_PREFIX)
      ? el('a', { href: `#${schemaAnchor(name)}`, class: 'mono', 'data-schema': name }, name)
      : el('code', {}, name);
  }
  if ('const' in s) return el('code', {}, JSON.stringify(s.const));
  if (Array.isArray(s.enum)) {
    const shown = s.enum.slice(0, 6).map(v => JSON.stringify(v)).join(' | ');
    return el('code', { title: s.enum.map(v => JSON.stringify(v)).join(' | ') }, s.enum.length > 6 ? `${shown} | …` : shown);
  }
  for (const [key, sep] of [['oneOf', ' | '], ['anyOf', ' | '], ['allOf', ' & ']]) {
    if (Array.isArray(s[key])) return join(s[key].map(schemaNode), sep);
  }
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const parts = types.map(t => {
    if (t === 'array') return el('span', {}, 'array of ', schemaNode(s.prefixItems ? { type: 'array' } : s.items ?? true));
    return el('code', {}, s.format && t !== 'null' ? `${t} (${s.format})` : t);
  });
  if (!parts.length) parts.push(el('code', {}, s.properties ? 'object' : 'any'));
  return join(parts, ' | ');
}

// ---------------------------------------------------------------- operations

function parametersOf(doc, pathItem, op) {
  // Operation parameters override path-level ones with the same name and place.
  const byKey = new Map();
  for (const p of [...(pathItem.parameters ?? []), ...(op.parameters ?? [])].map(p => resolve(doc, p))) {
    byKey.set(`${p.in}:${p.name}`, p);
  }
  return [...byKey.values()];
}

function contentList(content) {
  const entries = Object.entries(content ?? {});
  if (!entries.length) return [el('span', { class: 'muted' }, 'no body')];
  return entries.map(([type, media]) => el('div', {}, schemaNode(media?.schema), ' ', el('span', { class: 'muted' }, type)));
}

function operationElement(doc, path, method, pathItem, op, tag) {
  const params = parametersOf(doc, pathItem, op);
  const body = resolve(doc, op.requestBody);
  const responses = Object.entries(op.responses ?? {});

  const parts = [];
  if (op.operationId) parts.push(el('p', { class: 'muted' }, 'operationId ', el('code', {}, op.operationId)));
  if (op.description) parts.push(el('p', { class: 'description' }, rich(op.description)));

  parts.push(el('h4', {}, 'Parameters'));
  parts.push(params.length
    ? table(['Name', 'In', 'Required', 'Type', 'Description'], params.map(p => el('tr', { 'data-param': p.name },
      el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.required ? 'yes' : 'no'),
      el('td', {}, schemaNode(p.schema)), el('td', {}, rich(p.description)))))
    : el('p', { class: 'muted' }, 'None.'));

  if (op.requestBody) {
    parts.push(el('h4', {}, `Request body${body.required ? ' (required)' : ''}`));
    parts.push(el('div', { class: 'request-body' }, contentList(body.content)));
  }

  parts.push(el('h4', {}, 'Responses'));
  parts.push(table(['Status', 'Description', 'Body'], responses.map(([status, r]) => {
    const res = resolve(doc, r);
    return el('tr', { 'data-status': status },
      el('td', {}, el('code', {}, status)), el('td', {}, rich(res.description)), el('td', {}, contentList(res.content)));
  })));

  return el('details', {
    class: 'op', id: op.operationId ? `op-${op.operationId}` : null,
    'data-method': method, 'data-path': path, 'data-operation-id': op.operationId, 'data-tag': tag,
  },
  el('summary', {},
    el('span', { class: 'method', 'data-method': method }, method.toUpperCase()),
    el('code', { class: 'path' }, path),
    el('span', { class: 'summary' }, op.summary ?? ''),
    op.deprecated ? el('span', { class: 'badge', 'data-tone': 'warn' }, 'deprecated') : null),
  el('div', { class: 'op-body' }, parts));
}

function renderOperations(doc) {
  const groups = new Map((doc.tags ?? []).map(t => [t.name, { tag: t, ops: [] }]));
  for (const [path, pathItem] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = pathItem?.[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, ops: [] });
      groups.get(tag).ops.push(operationElement(doc, path, method, pathItem, op, tag));
    }
  }
  const container = document.getElementById('operations');
  container.replaceChildren(...[...groups.values()].filter(g => g.ops.length).map(({ tag, ops }) =>
    el('details', { class: 'tag-group', open: '', id: `tag-${tag.name}`, 'data-tag': tag.name },
      el('summary', {}, tag.name, ' ', el('span', { class: 'muted', 'data-count': '' }, `(${ops.length})`)),
      tag.description ? el('p', { class: 'muted description' }, rich(tag.description)) : null,
      ops)));
}

/** Shows the operations whose method, path, summary or operationId contain the text. */
function applyFilter() {
  const needle = document.getElementById('filter').value.trim().toLowerCase();
  let shown = 0;
  let total = 0;
  for (const group of document.querySelectorAll('.tag-group')) {
    let inGroup = 0;
    for (const op of group.querySelectorAll('.op')) {
      const hay = [op.dataset.method, op.dataset.path, op.querySelector('.summary').textContent, op.dataset.operationId]
        .join(' ').toLowerCase();
      const match = !needle || hay.includes(needle);
      op.hidden = !match;
      inGroup += match;
      total += 1;
    }
    group.hidden = inGroup === 0;
    group.querySelector('[data-count]').textContent = `(${inGroup})`;
    if (needle && inGroup) group.open = true;
    shown += inGroup;
  }
  document.getElementById('no-match').hidden = shown > 0 || total === 0;
  document.getElementById('op-count').textContent = needle ? `${shown} of ${total} operations` : `${total} operations`;
}

// ---------------------------------------------------------------- schemas

function renderSchemas(doc) {
  const schemas = Object.entries(doc.components?.schemas ?? {}).sort(([a], [b]) => a.localeCompare(b));
  document.getElementById('schema-count').textContent = `${schemas.length} schemas`;
  const list = document.getElementById('schemas');
  if (!schemas.length) {
    list.replaceChildren(el('p', { class: 'empty' }, 'This document defines no component schemas.'));
    return;
  }
  list.replaceChildren(...schemas.map(([name, schema]) => {
    const about = (schema?.description ?? '').split('\n')[0];
    return el('details', { id: schemaAnchor(name), 'data-schema': name },
      el('summary', {}, name, about ? el('span', { class: 'muted' }, about) : null),
      el('pre', { class: 'json' }, JSON.stringify(schema, null, 2)));
  }));
}

/** #schema-Name or #op-id: open it (and what contains it) and bring it into view. */
function openFromHash() {
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (!target) return;
  for (let node = target; node; node = node.parentElement) {
    if (node.tagName === 'DETAILS') node.open = true;
  }
  target.scrollIntoView({ block: 'start' });
}

// ---------------------------------------------------------------- start

function renderInfo(doc) {
  const info = doc.info ?? {};
  document.title = `${info.title ?? 'API'} — docs`;
  document.getElementById('api-title').textContent = info.title ?? 'API';
  const bits = [info.version ? `Version ${info.version}` : null, doc.openapi ? `OpenAPI ${doc.openapi}` : null,
    ...(doc.servers ?? []).map(s => `server ${s.url}`)];
  document.getElementById('api-version').textContent = bits.filter(Boolean).join(' · ');
  document.getElementById('api-description').replaceChildren(rich(info.description));
}

async function main() {
  let doc;
  try {
    const res = await fetch('/openapi.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = await res.json();
  } catch (err) {
    document.getElementById('api-title').textContent = 'Couldn’t load the API description';
    document.getElementById('api-version').textContent = `/openapi.json: ${err.message}. Reload the page to try again.`;
    return;
  }
  renderInfo(doc);
  renderOperations(doc);
  renderSchemas(doc);
  applyFilter();
  openFromHash();
}

document.getElementById('filter').addEventListener('input', applyFilter);
window.addEventListener('hashchange', openFromHash);

const expandButton = document.getElementById('expand-all');
expandButton.addEventListener('click', () => {
  const open = expandButton.textContent === 'Expand all';
  for (const op of document.querySelectorAll('.op')) op.open = open;
  expandButton.textContent = open ? 'Collapse all' : 'Expand all';
});

main();
