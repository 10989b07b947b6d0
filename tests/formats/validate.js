#!/usr/bin/env node
// Validate speedscope files against the JSON schema the `speedscope` npm
// package publishes (dist/release/file-format-schema.json), with Ajv.
//
//   node validate.js FILE...
//
// Prints one line per file: "ok FILE" or "invalid FILE: <errors>"; exits 1
// if any file is invalid or unreadable. Used by tests/formats/run.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const pkg = path.dirname(require.resolve('speedscope/package.json'));
const schemaPath = path.join(pkg, 'dist', 'release', 'file-format-schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
// strict: false because the schema carries draft-07 annotations Ajv's strict
// mode does not know; it changes nothing about what is accepted.
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

let bad = 0;
for (const file of process.argv.slice(2)) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.log(`invalid ${file}: ${e.message}`);
    bad++;
    continue;
  }
  if (validate(doc)) {
    console.log(`ok ${file}`);
  } else {
    const errs = validate.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    console.log(`invalid ${file}: ${errs.join('; ')}`);
    bad++;
  }
}
console.log(`schema: ${path.relative(process.cwd(), schemaPath)}`);
process.exit(bad ? 1 : 0);
