// Validate newline-delimited OpenLineage events (stdin or a file) against
// the vendored OpenLineage spec and the facet schemas in facets/.
//   node validate.js [events.ndjson]
// Prints "ok N events" or each invalid event's errors; exit 1 on any.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '../../..');
const Ajv2020 = require(path.join(root, 'node_modules/ajv/dist/2020'));
const addFormats = require(path.join(root, 'node_modules/ajv-formats'));

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const core = JSON.parse(fs.readFileSync(path.join(__dirname, 'OpenLineage.json')));
ajv.addSchema(core);
const facetSchemas = {};
for (const f of fs.readdirSync(path.join(__dirname, 'facets'))) {
  const s = JSON.parse(fs.readFileSync(path.join(__dirname, 'facets', f)));
  ajv.addSchema(s);
  // Each facet file defines {properties: {<key>: {$ref: #/$defs/Name}}}.
  for (const [key, v] of Object.entries(s.properties || {}))
    facetSchemas[key] = { id: s.$id, ref: v.$ref };
}
const runEvent = ajv.getSchema(core.$id + '#/$defs/RunEvent');

const text = fs.readFileSync(process.argv[2] || 0, 'utf8');
const lines = text.split('\n').filter((l) => l.length);
let bad = 0;
function checkFacets(where, facets, errs) {
  for (const [key, val] of Object.entries(facets || {})) {
    const fs_ = facetSchemas[key];
    if (!fs_) { errs.push(`${where}.${key}: no vendored schema for this facet`); continue; }
    if (val._schemaURL !== fs_.id + fs_.ref) errs.push(`${where}.${key}: _schemaURL ${val._schemaURL} is not ${fs_.id + fs_.ref}`);
    const v = ajv.getSchema(fs_.id + fs_.ref);
    if (!v(val)) errs.push(`${where}.${key}: ` + ajv.errorsText(v.errors));
  }
}
lines.forEach((line, i) => {
  const errs = [];
  let ev;
  try { ev = JSON.parse(line); } catch (e) { errs.push('not JSON: ' + e.message); }
  if (ev) {
    if (!runEvent(ev)) errs.push(ajv.errorsText(runEvent.errors));
    checkFacets('run.facets', ev.run && ev.run.facets, errs);
    checkFacets('job.facets', ev.job && ev.job.facets, errs);
    for (const k of ['inputs', 'outputs'])
      (ev[k] || []).forEach((d, j) => {
        checkFacets(`${k}[${j}].facets`, d.facets, errs);
        checkFacets(`${k}[${j}].inputFacets`, d.inputFacets, errs);
        checkFacets(`${k}[${j}].outputFacets`, d.outputFacets, errs);
      });
  }
  if (errs.length) {
    bad++;
    console.log(`event ${i + 1}: ` + errs.join('; '));
  }
});
if (bad) { console.log(`${bad} of ${lines.length} events invalid`); process.exit(1); }
if (!lines.length) { console.log('no events'); process.exit(1); }
console.log(`ok ${lines.length} events`);
