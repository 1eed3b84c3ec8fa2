import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import type { ResultPromise } from 'execa';
import fc from 'fast-check';
import { Pool } from 'undici';
import * as v from 'valibot';
import { ROUTES, type Route } from '../../src/backend/routes.js';
import { BODY_LIMIT } from '../../src/server/server.js';
import { Home, PASSWORD } from '../e2e/helpers.js';
import { startServe } from './serve.js';

// Issue #14, point 2: every route of ROUTES fuzzed over real HTTP against a real `acctsec serve`.
// Wrong-typed, missing, extra, huge, deeply nested and Unicode-odd values must all be refused with
// 400 before authentication or the Backend: the requests carry a signed-in admin's session, so a
// value that slipped past the schema would reach the service layer, and the database, which is
// compared before and after, would show it. A second server takes arbitrary calls, valid ones too,
// and must only never fail (5xx) or log a stack trace.
//
// The generators read the route schemas themselves (valibot keeps them as plain objects), so a new
// route or field is fuzzed without touching this file; but whether a value is wrong is judged by the
// fuzzer's own type oracle, not by those schemas, so a schema that lets a wrong type through shows.

/** Per route: calls that must be refused, and arbitrary calls on the second server. */
const STRICT_RUNS = 80;
const ARBITRARY_RUNS = 25;
/** fast-check's seed; FUZZ_SEED=n replays a run (the summary line names the seed). */
const SEED = Number(process.env.FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
/** Node's default --max-http-header-size counts the request line: a longer query may be 431. */
const HEADER_LIMIT = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// The route schemas, read back: valibot keeps its schemas as plain objects (type, entries, pipe...).

interface Node {
  type: string;
  pipe?: readonly { type: string; requirement?: unknown }[];
  entries?: Record<string, Node>;
  wrapped?: Node;
  item?: Node;
  literal?: unknown;
}
type Path = (string | number)[];

/**
 * The schema tree as the fuzzer reads it: src/schemas.ts guards each object schema with a check that
 * refuses arrays (`v.pipe(custom, strictObject)`); such a node stands for its object schema here.
 */
function normalize(n: Node): Node {
  const object =
    n.type === 'custom' ? n.pipe?.find((a) => a.type === 'strict_object' || a.type === 'loose_object') : undefined;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- without it the pipe item's type is not resolved
  const base = (object as Node | undefined) ?? n;
  return {
    ...base,
    ...(base.entries
      ? { entries: Object.fromEntries(Object.entries(base.entries).map(([k, e]) => [k, normalize(e)])) }
      : {}),
    ...(base.wrapped ? { wrapped: normalize(base.wrapped) } : {}),
    ...(base.item ? { item: normalize(base.item) } : {}),
  };
}
const node = (schema: unknown) => normalize(schema as Node);
const requirement = (n: Node, action: string): number | undefined => {
  const found = n.pipe?.find((a) => a.type === action)?.requirement;
  return typeof found === 'number' ? found : undefined;
};
const unwrap = (n: Node): Node => (n.type === 'optional' || n.type === 'nullable' ? unwrap(n.wrapped!) : n);
const isObjectNode = (n: Node) => n.type === 'strict_object' || n.type === 'loose_object';
const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether `x` has the JSON type the schema wants, its bounds aside: the fuzzer's own, independent oracle. */
function fitsType(n: Node, x: unknown): boolean {
  switch (n.type) {
    case 'optional':
      return x === undefined || fitsType(n.wrapped!, x);
    case 'nullable':
      return x === null || fitsType(n.wrapped!, x);
    case 'string':
      return typeof x === 'string';
    case 'number':
      return typeof x === 'number';
    case 'boolean':
      return typeof x === 'boolean';
    case 'literal':
      return x === n.literal;
    case 'array':
      return Array.isArray(x);
    case 'strict_object':
    case 'loose_object':
      return isPlainObject(x);
    default:
      // A new kind of schema in src/schemas.ts: teach the fuzzer about it rather than skip it.
      throw new Error(`the fuzzer does not know the schema type ${n.type}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Values.

/** Odd but well-formed text: NUL, bidi controls, zero-width, emoji and ZWJ sequences, combining marks, BOM, noncharacters. */
const ODD_VALID = [
  '\u0000',
  '\u202e',
  '\u200f',
  '\u200b',
  '😀',
  '👩‍👩‍👧',
  'e\u0301',
  '\ufeff',
  '\uffff',
  '\u2028',
  '𝕏',
  'ﷺ',
  '\r\n',
  '%00',
  '${x}',
  "'; DROP TABLE x; --",
];
/** Lone surrogates: never well-formed UTF-16 (schemas.ts refuses them). */
const LONE = ['\ud800', '\udbff', '\udc00', '\udfff'];

const validText = (max: number) =>
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.constantFrom(...ODD_VALID),
        fc.string({ unit: 'binary', maxLength: 8 }),
      ),
      { maxLength: 3 },
    )
    .map((parts) => parts.join(''))
    .filter((s) => s.length <= max);

const oddText = fc.oneof(
  fc.constantFrom(...ODD_VALID, ...LONE, 'a\ud800b', '\udc00\ud800'),
  fc.array(fc.constantFrom(...ODD_VALID, ...LONE), { minLength: 1, maxLength: 8 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Up to ~60 KB of one character; as JSON some are over the 64 KiB body limit (\u0000 takes 6 bytes). */
const hugeText = fc
  .tuple(fc.constantFrom('x', 'é', '😀', '\u0000', '\u202e', '\ud800'), fc.integer({ min: 1000, max: 60_000 }))
  .map(([c, n]) => c.repeat(Math.ceil(n / c.length)));

/** 1 to 1000 levels of arrays or objects. */
const deep = fc
  .tuple(fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(1000)), fc.boolean(), fc.jsonValue({ maxDepth: 0 }))
  .map(([depth, arrays, leaf]) => {
    let x: unknown = leaf;
    for (let i = 0; i < depth; i++) x = arrays ? [x] : { a: x };
    return x;
  });

/** Field names no route has, some of them what an attacker tries first. */
const strangeKey = fc.oneof(
  fc.constantFrom(
    'extra',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '',
    ' ',
    'input.username',
    '0',
    'INPUT',
    'Username',
    '\u0000',
    '\ud800',
    '😀',
    'a'.repeat(300),
  ),
  fc.string({ maxLength: 10 }),
);

/** Anything JSON can carry, with a bias to the values that most often break a type check. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e300,
    -0,
    '',
    [],
    {},
    'x',
    '[]',
    '{}',
    'null',
    'true',
    [[]],
    [{}],
    [null],
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  oddText,
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
  fc.dictionary(strangeKey, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  deep,
  hugeText,
);

/** A value the schema accepts (a base for exactly one mutation). */
function validOf(n: Node): fc.Arbitrary<unknown> {
  switch (n.type) {
    case 'string':
      return validText(requirement(n, 'max_length') ?? 64);
    case 'number':
      return fc.integer({ min: requirement(n, 'min_value') ?? -1e6, max: requirement(n, 'max_value') ?? 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'literal':
      return fc.constant(n.literal);
    case 'optional':
      return validOf(n.wrapped!);
    case 'nullable':
      return fc.option(validOf(n.wrapped!), { nil: null });
    case 'array':
      return fc.array(validOf(n.item!), { maxLength: Math.min(requirement(n, 'max_length') ?? 3, 3) });
    case 'strict_object':
    case 'loose_object': {
      const keys = Object.keys(n.entries!);
      const model: Record<string, fc.Arbitrary<unknown>> = Object.fromEntries(
        keys.map((k) => [k, validOf(n.entries![k]!)]),
      );
      return fc.record(model, { requiredKeys: keys.filter((k) => n.entries![k]!.type !== 'optional') });
    }
    default:
      throw new Error(`the fuzzer does not know the schema type ${n.type}`);
  }
}

/** What the server parses: JSON drops undefined, turns -0 into 0, and makes every key an own property. */
const asSent = (x: unknown): unknown => JSON.parse(JSON.stringify(x)) as unknown;

/** An own property, even `__proto__` (plain assignment would set the prototype instead). */
function defineOwn(target: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...Path];
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...(root as object) }) as Record<
    string | number,
    unknown
  >;
  defineOwn(copy, head, setAt(copy[head], rest, value));
  return copy;
}

function deleteAt(root: unknown, path: Path, key: string): unknown {
  if (path.length === 0) {
    const copy = { ...(root as Record<string, unknown>) };
    delete copy[key];
    return copy;
  }
  const [head, ...rest] = path as [string | number, ...Path];
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...(root as object) }) as Record<
    string | number,
    unknown
  >;
  defineOwn(copy, head, deleteAt(copy[head], rest, key));
  return copy;
}

interface Slot {
  path: Path;
  schema: Node;
  value: unknown;
}

/** Every place of a valid value, with the schema that judges it. */
function slotsOf(n: Node, value: unknown, path: Path, out: Slot[] = []): Slot[] {
  out.push({ path, schema: n, value });
  const inner = unwrap(n);
  if (isObjectNode(inner) && isPlainObject(value)) {
    for (const [k, e] of Object.entries(inner.entries!))
      if (Object.hasOwn(value, k)) slotsOf(e, value[k], [...path, k], out);
  }
  if (inner.type === 'array' && Array.isArray(value))
    value.forEach((x, i) => slotsOf(inner.item!, x, [...path, i], out));
  return out;
}

/** valibot's dot path (getDotPath), as the server names a field. */
const dotPath = (path: Path) =>
  path.length === 0 ? 'body' : path.reduce<string>((acc, k) => (acc ? `${acc}.${k}` : String(k)), '');

const MUTATIONS = ['wrongType', 'missing', 'extra', 'tooLong', 'surrogate', 'number'] as const;
type MutationKind = (typeof MUTATIONS)[number];

interface Mutated {
  value: unknown;
  /** Where the defect is: the field the server must name, as it is the value's only defect. */
  path: Path;
  what: string;
}

/**
 * A valid value with exactly one defect, whose field is therefore known: a wrong type, a required
 * field removed, an unknown field added (top level or nested), a string over its bound or with a lone
 * surrogate, a number out of range or not an integer. `root` false: the top level stays an object (a query).
 */
function mutatedOf(schema: Node, root: boolean): fc.Arbitrary<Mutated> {
  return (
    fc
      .record({
        base: validOf(schema),
        kind: fc.constantFrom<MutationKind>(...MUTATIONS),
        pick: fc.nat(),
        junk,
        key: strangeKey,
        overflow: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 60_000 })),
        char: fc.constantFrom('x', 'é', '😀', '\u0000', '\u202e'),
        lone: fc.constantFrom(...LONE),
        n: fc.nat(5),
      })
      // The base must be valid, or the mutation would not be its only defect.
      .filter(({ base }) => v.safeParse(schema as unknown as v.GenericSchema, asSent(base)).success)
      .map(({ base, kind, pick, junk: j, key, overflow, char, lone, n }): Mutated => {
        const all = slotsOf(schema, base, []);
        // A query's top level is always an object: no wrong type there.
        const slots = all.filter((s) => root || s.path.length > 0);
        const strings = slots.filter(
          (s) =>
            unwrap(s.schema).type === 'string' &&
            typeof s.value === 'string' &&
            requirement(unwrap(s.schema), 'max_length') !== undefined,
        );
        const numbers = slots.filter((s) => unwrap(s.schema).type === 'number' && typeof s.value === 'number');
        const objects = all.filter((s) => isObjectNode(unwrap(s.schema)) && isPlainObject(s.value));
        const strict = objects.filter((s) => unwrap(s.schema).type === 'strict_object');
        const required = objects.flatMap((s) =>
          Object.entries(unwrap(s.schema).entries!)
            .filter(([k, e]) => e.type !== 'optional' && Object.hasOwn(s.value as object, k))
            .map(([k]) => ({ ...s, key: k })),
        );
        const choose = <T>(list: T[]) => list[pick % list.length]!;
        if (kind === 'missing' && required.length) {
          const s = choose(required);
          return { value: deleteAt(base, s.path, s.key), path: [...s.path, s.key], what: 'a required field removed' };
        }
        if ((kind === 'extra' || slots.length === 0) && strict.length) {
          const s = choose(strict);
          const k = Object.hasOwn(unwrap(s.schema).entries!, key) ? `${key}_extra` : key;
          return { value: setAt(base, [...s.path, k], j), path: [...s.path, k], what: 'an unknown field' };
        }
        if (kind === 'tooLong' && strings.length) {
          const s = choose(strings);
          const max = requirement(unwrap(s.schema), 'max_length')!;
          return {
            value: setAt(base, s.path, char.repeat(Math.ceil((max + overflow) / char.length))),
            path: s.path,
            what: `a string over ${max} characters`,
          };
        }
        if (kind === 'surrogate' && strings.length) {
          const s = choose(strings);
          // A high surrogate at the end or a low one at the start can pair with nothing.
          const odd = lone < '\udc00' ? `${s.value as string}${lone}` : `${lone}${s.value as string}`;
          return { value: setAt(base, s.path, odd), path: s.path, what: 'a lone surrogate' };
        }
        if (kind === 'number' && numbers.length) {
          const s = choose(numbers);
          const inner = unwrap(s.schema);
          const x = s.value as number;
          const bad = [
            x + 0.5,
            (requirement(inner, 'min_value') ?? 0) - 1 - n,
            (requirement(inner, 'max_value') ?? 0) + 1 + n,
            1e21,
            -1e21,
          ][pick % 5]!;
          return { value: setAt(base, s.path, bad), path: s.path, what: `the number ${bad}` };
        }
        // A wrong type (the fallback of every kind that has no place in this value).
        const s = choose(slots);
        // When the junk happens to fit, wrapping it makes it wrong: an array fits no scalar or object, an object no array.
        const wrong = fitsType(s.schema, j) ? (unwrap(s.schema).type === 'array' ? { value: j } : [j]) : j;
        return {
          value: setAt(base, s.path, wrong),
          path: s.path,
          what: `a wrong type (${Array.isArray(wrong) ? 'array' : wrong === null ? 'null' : typeof wrong})`,
        };
      })
  );
}

/** Param names and strange keys with junk or valid values: often invalid, sometimes not. */
function randomFieldsOf(route: Route): fc.Arbitrary<Record<string, unknown>> {
  const names = route.params.map(([name]) => name);
  const value = (name: string) => fc.oneof(junk, validOf(node(route.params.find(([n]) => n === name)![1])));
  return fc.oneof(
    fc.record(Object.fromEntries(names.map((name) => [name, value(name)])) as Record<string, fc.Arbitrary<unknown>>, {
      requiredKeys: [],
    }),
    fc.dictionary(names.length ? fc.oneof(fc.constantFrom(...names), strangeKey) : strangeKey, junk, { maxKeys: 4 }),
  );
}

// ---------------------------------------------------------------------------------------------
// Requests.

interface Call {
  method: 'GET' | 'POST';
  /** Path and query. */
  path: string;
  contentType?: string;
  body?: string | Buffer;
  /** What the answer must be when the call goes to the strict server. */
  expect: { code: 'invalid_input' | 'malformed_json'; field?: string };
  /** The route's own schema accepts it although the fuzzer's type oracle says it is wrong: a finding. */
  schemaAccepts?: boolean;
  what: string;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON'];

/** Well-formed UTF-16, as a URL can carry it (a lone surrogate would make encodeURIComponent throw). */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
const queryPair = (key: string, raw: string) => `${encodeURIComponent(wellFormed(key))}=${raw}`;
const queryOf = (fields: Record<string, unknown>) =>
  Object.entries(fields).map(([k, x]) => queryPair(k, encodeURIComponent(JSON.stringify(x))));

/** How the server reads a query (server.ts queryFields), but with own properties only: an unknown name, `__proto__` too, is refused. */
function readQuery(query: string): { fields: Record<string, unknown> } | { field: string } {
  const fields: Record<string, unknown> = {};
  for (const [name, raw] of new URLSearchParams(query)) {
    if (Object.hasOwn(fields, name)) return { field: name };
    try {
      defineOwn(fields, name, JSON.parse(raw));
    } catch {
      return { field: name };
    }
  }
  return { fields };
}

/** How the server reads an RFC 7662 form body (server.ts formFields), but with own properties only. */
function readForm(body: string): { fields: Record<string, unknown> } | { field: string } {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(fields, name)) return { field: name };
    if (name !== 'token_type_hint') defineOwn(fields, name, value);
  }
  return { fields };
}

/** The field of the first schema problem, as the server names it; undefined when the schema accepts. */
function schemaField(route: Route, fields: unknown): string | undefined {
  const checked = v.safeParse(route.input, fields);
  return checked.success ? undefined : (v.getDotPath(checked.issues[0]) ?? 'body');
}

const queryCall = (
  route: Route,
  pairs: string[],
  field: string | undefined,
  what: string,
  schemaAccepts = false,
): Call => ({
  method: 'GET',
  path: `${route.path}?${pairs.join('&')}`,
  expect: { code: 'invalid_input', ...(field === undefined ? {} : { field }) },
  schemaAccepts,
  what,
});

const jsonCall = (
  route: Route,
  value: unknown,
  type: string,
  field: string | undefined,
  what: string,
  schemaAccepts = false,
): Call => ({
  method: 'POST',
  path: route.path,
  contentType: type,
  body: JSON.stringify(value),
  expect: { code: 'invalid_input', ...(field === undefined ? {} : { field }) },
  schemaAccepts,
  what,
});

/** The server refuses a top level that is not an object before the schema (server.ts jsonFields). */
const bodyAccepted = (route: Route, x: unknown) => isPlainObject(x) && schemaField(route, x) === undefined;

/** The smallest valid value, with the optional objects (an identity proof, a filter) present too. */
function minimalOf(n: Node): unknown {
  const inner = unwrap(n);
  switch (inner.type) {
    case 'string':
      return '';
    case 'number':
      return requirement(inner, 'min_value') ?? 0;
    case 'boolean':
      return false;
    case 'literal':
      return inner.literal;
    case 'array':
      return [];
    default:
      return Object.fromEntries(
        Object.entries(inner.entries!)
          .filter(([, e]) => e.type !== 'optional' || isObjectNode(unwrap(e)))
          .map(([k, e]) => [k, minimalOf(e)]),
      );
  }
}

/**
 * The classic pitfalls, tried on every route before the random calls: an array where an object is
 * expected (an empty one fits every field of an object that has only optional ones), and `__proto__`
 * as a field name in a JSON body, a query and a form.
 */
function pitfalls(route: Route): Call[] {
  const schema = node(route.input);
  const base = minimalOf(schema);
  if (v.safeParse(route.input, base).success === false)
    throw new Error(`the fuzzer's smallest valid value for ${route.path} is not valid`);
  const calls: Call[] = [];
  const objects = slotsOf(schema, base, []).filter((s) => isObjectNode(unwrap(s.schema)));
  const accepted = (x: unknown) =>
    route.method === 'GET' ? schemaField(route, asSent(x)) === undefined : bodyAccepted(route, asSent(x));
  const asCall = (value: unknown, field: string, what: string) =>
    route.method === 'GET'
      ? queryCall(route, queryOf(value as Record<string, unknown>), field, what, accepted(value))
      : jsonCall(route, value, 'application/json', field, what, accepted(value));
  for (const s of objects) {
    if (s.path.length > 0 || route.method === 'POST') {
      calls.push(asCall(setAt(base, s.path, []), dotPath(s.path), 'an empty array for an object'));
      calls.push(asCall(setAt(base, s.path, [{}]), dotPath(s.path), 'an array for an object'));
    }
    if (unwrap(s.schema).type === 'strict_object' && (s.path.length > 0 || route.method === 'POST')) {
      calls.push(
        asCall(
          setAt(base, [...s.path, '__proto__'], { x: 1 }),
          dotPath([...s.path, '__proto__']),
          'a field named __proto__',
        ),
      );
    }
  }
  if (route.method === 'GET') {
    const pairs = queryOf(base as Record<string, unknown>);
    for (const raw of ['0', '%22x%22', '%7B%7D', '%7B%22x%22%3A1%7D'])
      calls.push(queryCall(route, [...pairs, `__proto__=${raw}`], '__proto__', 'a parameter named __proto__'));
  }
  if (route.form) {
    const pairs = new URLSearchParams(Object.entries(base as Record<string, string>)).toString();
    for (const extra of ['__proto__=x', 'constructor=x', 'token_type_hint=x&__proto__=']) {
      calls.push({
        method: 'POST',
        path: route.path,
        contentType: 'application/x-www-form-urlencoded',
        body: `${pairs}&${extra}`,
        expect: { code: 'invalid_input' },
        what: `a form with ${extra}`,
      });
    }
  }
  return calls;
}

/** Query values that are not JSON, some as raw percent-encoding (a bad escape, a byte that is not UTF-8). */
const notJson = fc
  .oneof(
    fc.constantFrom(
      '',
      'abc',
      '%ZZ',
      '%ff',
      '%',
      '{',
      '%7B',
      "'x'",
      'undefined',
      'NaN',
      '1e',
      '%22unterminated',
      '+',
      '%00',
    ),
    fc.string({ maxLength: 8 }).map(encodeURIComponent),
  )
  .filter((raw) => {
    try {
      JSON.parse(new URLSearchParams(`k=${raw}`).get('k') ?? '');
      return false;
    } catch {
      return true;
    }
  });

/** GET: one defect in the params, or a value that is not JSON, a repeated parameter, an unknown one. */
function invalidQueries(route: Route): fc.Arbitrary<Call> {
  const schema = node(route.input);
  const names = route.params.map(([name]) => name);
  const call = (pairs: string[], field: string | undefined, what: string, schemaAccepts = false) =>
    queryCall(route, pairs, field, what, schemaAccepts);
  const mutated = mutatedOf(schema, false).map((m) => {
    // A parameter's name travels as URL text (well-formed); the names inside its JSON value as JSON.
    const [first, ...rest] = m.path;
    const field = dotPath(typeof first === 'string' ? [wellFormed(first), ...rest] : m.path);
    return call(
      queryOf(m.value as Record<string, unknown>),
      field,
      m.what,
      schemaField(route, asSent(m.value)) === undefined,
    );
  });
  const broken = fc
    .record({
      base: validOf(schema),
      kind: fc.constantFrom('notJson', 'repeated', 'unknown'),
      pick: fc.nat(),
      raw: notJson,
      key: strangeKey,
      extra: junk,
    })
    .map(({ base, kind, pick, raw, key, extra }) => {
      const pairs = queryOf(base as Record<string, unknown>);
      const present = Object.keys(base as object);
      if (kind === 'notJson' && names.length) {
        const name = names[pick % names.length]!;
        return call(
          [...pairs.filter((p) => !p.startsWith(`${encodeURIComponent(name)}=`)), queryPair(name, raw)],
          name,
          'a value that is not JSON',
        );
      }
      if (kind === 'repeated' && present.length) {
        const name = present[pick % present.length]!;
        return call(
          [...pairs, queryPair(name, pick % 2 ? raw : encodeURIComponent(JSON.stringify(extra)))],
          name,
          'a repeated parameter',
        );
      }
      const k = names.includes(wellFormed(key)) ? `${key}_extra` : wellFormed(key);
      return call(
        [...pairs, queryPair(k, pick % 2 ? raw : encodeURIComponent(JSON.stringify(extra)))],
        k,
        'an unknown parameter',
      );
    });
  // Anything at all, kept when the server (reading own properties only) must refuse it. With several
  // defects, which one the answer names is the server's choice: any field will do.
  const random = fc
    .array(
      fc.tuple(
        names.length ? fc.oneof(fc.constantFrom(...names), strangeKey) : strangeKey,
        fc.oneof(
          notJson,
          junk.map((x) => encodeURIComponent(JSON.stringify(x))),
        ),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((pairs) => pairs.map(([k, raw]) => queryPair(k, raw)))
    .map((pairs) => {
      const read = readQuery(pairs.join('&'));
      return { pairs, refused: 'field' in read || schemaField(route, read.fields) !== undefined };
    })
    .filter(({ refused }) => refused)
    .map(({ pairs }) => call(pairs, undefined, 'random parameters'));
  return fc.oneof(
    { arbitrary: mutated, weight: 5 },
    { arbitrary: broken, weight: 3 },
    { arbitrary: random, weight: 2 },
  );
}

/** Text that is not JSON: a valid body cut short, with a stray character, with bytes that are not UTF-8. */
function malformedBodies(route: Route): fc.Arbitrary<Buffer> {
  return fc
    .record({
      base: fc.oneof(validOf(node(route.input)), randomFieldsOf(route)).map((x) => JSON.stringify(x)),
      kind: fc.constantFrom('cut', 'stray', 'bytes', 'fixed'),
      at: fc.nat(),
      stray: fc.constantFrom('{', '}', ',', ':', '"', '\\', 'x', '\u0000', ']', "'", '\ufeff', 'NaN', '\n}'),
      fixed: fc.constantFrom(
        ' ',
        '\n',
        '{',
        '{"a":1,}',
        "{'a':1}",
        '{"a":NaN}',
        '{"a":undefined}',
        '\ufeff{}',
        '{}{}',
        '[',
        '{"a":"\\x"}',
        '{"a":01}',
        '/* */{}',
        'nul',
        'tru',
      ),
      bytes: fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xfe, 0xff], [0x80]),
    })
    .map(({ base, kind, at, stray, fixed, bytes }) => {
      const i = 1 + (at % Math.max(1, base.length - 1));
      if (kind === 'cut') return Buffer.from(base.slice(0, i));
      if (kind === 'stray') return Buffer.from(base.slice(0, i) + stray + base.slice(i));
      if (kind === 'bytes')
        return Buffer.concat([Buffer.from(base.slice(0, i)), Buffer.from(bytes), Buffer.from(base.slice(i))]);
      return Buffer.from(fixed);
    })
    .filter((raw) => {
      // An empty body is read as {}; and bytes that are not UTF-8 can decode (as U+FFFD) to valid JSON.
      if (raw.length === 0) return false;
      try {
        JSON.parse(raw.toString('utf8'));
        return false;
      } catch {
        return true;
      }
    });
}

/** POST: one defect, random fields (kept when invalid), a top level that is no object, text that is not JSON; form bodies where the route takes them. */
function invalidBodies(route: Route): fc.Arbitrary<Call> {
  const schema = node(route.input);
  const json = (value: unknown, type: string, field: string | undefined, what: string, schemaAccepts = false) =>
    jsonCall(route, value, type, field, what, schemaAccepts);
  const type = fc.constantFrom(...JSON_TYPES);
  const mutated = fc
    .tuple(mutatedOf(schema, true), type)
    .map(([m, t]) => json(m.value, t, dotPath(m.path), m.what, bodyAccepted(route, asSent(m.value))));
  // Several defects, maybe: any field named will do.
  const random = fc
    .tuple(randomFieldsOf(route), type)
    .filter(([fields]) => schemaField(route, asSent(fields)) !== undefined)
    .map(([fields, t]) => json(fields, t, undefined, 'random fields'));
  const topLevel = fc
    .tuple(
      fc.oneof(
        fc.constantFrom<unknown>(null, [], 5, 'x', true, 0, '', [{}]),
        deep.filter((x) => Array.isArray(x)),
        hugeText,
      ),
      type,
    )
    .map(([x, t]) => json(x, t, 'body', 'a top level that is not an object'));
  const malformed = fc.tuple(malformedBodies(route), type).map(([body, t]): Call => ({
    method: 'POST',
    path: route.path,
    contentType: t,
    body,
    expect: { code: 'malformed_json' },
    what: 'text that is not JSON',
  }));
  const arbitraries = [
    { arbitrary: mutated, weight: 6 },
    { arbitrary: random, weight: 2 },
    { arbitrary: topLevel, weight: 1 },
    { arbitrary: malformed, weight: 2 },
  ];
  if (route.form) {
    const names = [...route.params.map(([name]) => name), 'token_type_hint'];
    // Form fields are strings: a valid form with more fields after it (repeated, unknown, huge), or any fields at all.
    const pair = fc.tuple(fc.oneof(fc.constantFrom(...names), strangeKey), fc.oneof(oddText, validText(40), hugeText));
    const form = fc
      .oneof(
        fc
          .tuple(validOf(node(route.input)), fc.array(pair, { minLength: 1, maxLength: 2 }))
          .map(([base, more]) => [...Object.entries(base as Record<string, string>), ...more]),
        fc.array(pair, { maxLength: 4 }),
      )
      .map((pairs) => new URLSearchParams(pairs.map(([k, x]): [string, string] => [wellFormed(k), x])).toString())
      .filter((body) => {
        const read = readForm(body);
        return 'field' in read || schemaField(route, read.fields) !== undefined;
      })
      .map((body): Call => ({
        method: 'POST',
        path: route.path,
        contentType: 'application/x-www-form-urlencoded',
        body,
        expect: { code: 'invalid_input' },
        what: 'a form body',
      }));
    arbitraries.push({ arbitrary: form, weight: 3 });
  }
  return fc.oneof(...arbitraries);
}

/** Anything for the second server: valid calls too. */
function arbitraryCalls(route: Route): fc.Arbitrary<Call> {
  const invalid = route.method === 'GET' ? invalidQueries(route) : invalidBodies(route);
  const valid = validOf(node(route.input)).map((x): Call =>
    route.method === 'GET'
      ? {
          method: 'GET',
          path: `${route.path}?${queryOf(x as Record<string, unknown>).join('&')}`,
          expect: { code: 'invalid_input' },
          what: 'valid params',
        }
      : {
          method: 'POST',
          path: route.path,
          contentType: 'application/json',
          body: JSON.stringify(x),
          expect: { code: 'invalid_input' },
          what: 'a valid body',
        },
  );
  const random = randomFieldsOf(route).map((x): Call =>
    route.method === 'GET'
      ? {
          method: 'GET',
          path: `${route.path}?${queryOf(x).join('&')}`,
          expect: { code: 'invalid_input' },
          what: 'random params',
        }
      : {
          method: 'POST',
          path: route.path,
          contentType: 'application/json',
          body: JSON.stringify(x),
          expect: { code: 'invalid_input' },
          what: 'random fields',
        },
  );
  return fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: random, weight: 2 }, { arbitrary: invalid, weight: 2 });
}

// ---------------------------------------------------------------------------------------------
// The servers.

interface Served {
  home: Home;
  server: ResultPromise;
  pool: Pool;
  db: string;
  session: string;
  stderr: () => string;
  /** Each call from another client address (X-Forwarded-For from the trusted loopback proxy). */
  spread?: boolean;
}

/** `acctsec serve` with its first account, an admin, set up over HTTP with the bootstrap secret. */
async function serveWithAdmin(args: string[] = []): Promise<Served> {
  const home = new Home();
  const db = join(home.dir, 'srv.db');
  const { server, url, secret, stderr } = await startServe(home, args);
  // Keep-alive: thousands of small requests on a few connections.
  const pool = new Pool(url, { connections: 2 });
  const init = await pool.request({
    method: 'POST',
    path: '/v1/init',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      input: { username: 'admin', email: 'admin@example.com', password: PASSWORD },
      bootstrapSecret: secret,
    }),
  });
  const result = (await init.body.json()) as { account: { role: string }; session: { token: string } };
  expect(init.statusCode).toBe(200);
  expect(result.account.role).toBe('admin');
  return { home, server, pool, db, session: result.session.token, stderr, spread: args.includes('--trust-proxy') };
}

async function stop(s: Served | undefined): Promise<void> {
  if (!s) return;
  await s.pool.close();
  s.server.kill('SIGTERM');
  await s.server;
  await s.home.remove();
}

/** Every row of every table, and every other file of the server's home (outbox mail, key file). */
function snapshot(s: Served): { tables: Record<string, string[]>; files: string[] } {
  const db = new Database(s.db, { readonly: true, fileMustExist: true });
  try {
    const tables: Record<string, string[]> = {};
    const schema = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all() as {
      type: string;
      name: string;
      sql: string | null;
    }[];
    tables.sqlite_master = schema.map((r) => JSON.stringify(r));
    for (const { name } of schema.filter((r) => r.type === 'table')) {
      const rows = db
        .prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`)
        .raw()
        .all() as unknown[][];
      tables[name] = rows
        .map((row) =>
          JSON.stringify(row, (_k, x: unknown) =>
            Buffer.isBuffer(x) ? x.toString('hex') : typeof x === 'bigint' ? String(x) : x,
          ),
        )
        .sort();
    }
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        // The database's own files change size with reads (WAL index): its rows are compared above.
        else if (!/^srv\.db(-wal|-shm|-journal)?$/.test(entry.name))
          files.push(`${relative(s.home.dir, path)} ${statSync(path).size}`);
      }
    };
    walk(s.home.dir);
    return { tables, files: files.sort() };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------

let sent = 0;
let failedAnswers = 0;
const routesHit = new Set<string>();

async function send(s: Served, route: Route, c: Call): Promise<{ status: number; text: string }> {
  sent++;
  routesHit.add(`${route.method} ${route.path}`);
  const headers: Record<string, string> = { authorization: `Bearer ${s.session}` };
  if (c.contentType) headers['content-type'] = c.contentType;
  // Failed calls from one address soon make every limited route 429: on the second server each call
  // comes from an address of its own, so arbitrary calls reach the service layer instead.
  if (s.spread) headers['x-forwarded-for'] = `198.18.${(sent >> 8) & 255}.${sent & 255}`;
  const r = await s.pool.request({
    method: c.method,
    path: c.path,
    headers,
    ...(c.body === undefined ? {} : { body: c.body }),
  });
  const text = await r.body.text();
  if (r.statusCode >= 500) failedAnswers++;
  return { status: r.statusCode, text };
}

const preview = (x: unknown, max = 300) => {
  const text = typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('utf8') : JSON.stringify(x);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);
};
const describeCall = (c: Call) =>
  `${c.method} ${preview(c.path, 200)}${c.body === undefined ? '' : ` ${c.contentType ?? ''} ${preview(c.body)}`} (${c.what})`;

/**
 * Findings, one per route and kind of problem with how often it was seen and its shortest example:
 * the fuzzing goes on after a finding, so that one bug does not hide the next on the same route.
 */
class Findings {
  private readonly seen = new Map<string, { count: number; example: string }>();
  add(route: Route, problem: string, example: string): void {
    const key = `${route.method} ${route.path}: ${problem}`;
    const known = this.seen.get(key);
    if (!known) this.seen.set(key, { count: 1, example });
    else {
      known.count++;
      if (example.length < known.example.length) known.example = example;
    }
  }
  list(): string[] {
    // Grouped by problem: one bug usually shows on many routes.
    const problem = (key: string) => key.slice(key.indexOf(': ') + 2);
    return [...this.seen]
      .sort(([a], [b]) => problem(a).localeCompare(problem(b)) || a.localeCompare(b))
      .map(([key, { count, example }]) => `${key} (${count}×), e.g. ${example}`);
  }
}

/** The problem with the strict server's answer to a call its schema refuses, if any. */
function problemWith(c: Call, status: number, text: string): string | undefined {
  if (status >= 500) return `a server error ${status}`;
  if (c.body !== undefined && Buffer.byteLength(c.body) > BODY_LIMIT)
    return status === 413 ? undefined : `${status}, not 413, for a body over ${BODY_LIMIT} bytes`;
  if (c.method === 'GET' && c.path.length > HEADER_LIMIT - 1024 && status === 431) return undefined;
  if (status === 429) return '429 for a call its schema refuses (schema failures must not count toward the limit)';
  if (status !== 400) return `${status}, not 400`;
  const error = (JSON.parse(text) as { error?: { code?: string; field?: unknown } }).error;
  if (error?.code !== c.expect.code) return `${String(error?.code)}, not ${c.expect.code}`;
  if (c.expect.code !== 'invalid_input') return undefined;
  if (typeof error.field !== 'string') return 'no field named';
  // A wrong value that is itself an object or array may be refused for a field inside it.
  const expected = c.expect.field;
  if (
    expected !== undefined &&
    error.field !== expected &&
    (expected === 'body' || !error.field.startsWith(`${expected}.`))
  )
    return '400 naming another field than the wrong one';
  return undefined;
}

describe('acctsec serve under fuzzed input (fast-check, every route)', () => {
  let strict: Served | undefined;
  let loose: Served | undefined;
  let before: ReturnType<typeof snapshot>;
  const started = Date.now();

  beforeAll(async () => {
    [strict, loose] = await Promise.all([serveWithAdmin(), serveWithAdmin(['--trust-proxy', '127.0.0.1/32'])]);
    before = snapshot(strict);
  });
  afterAll(async () => {
    console.log(
      `fuzz: sent ${sent} requests to ${routesHit.size} routes; ${failedAnswers} answers >= 500; ${((Date.now() - started) / 1000).toFixed(1)} s; FUZZ_SEED=${SEED}`,
    );
    await Promise.all([stop(strict), stop(loose)]);
  });

  it('refuses every invalid body or query of every route with 400 and the field, though the caller is a signed-in admin', async () => {
    const s = strict!;
    const findings = new Findings();
    for (const [i, route] of ROUTES.entries()) {
      const arbitrary = route.method === 'GET' ? invalidQueries(route) : invalidBodies(route);
      await fc.assert(
        fc.asyncProperty(arbitrary, async (c) => {
          if (c.schemaAccepts) {
            // Not sent: it would reach the service layer.
            findings.add(route, `the schema accepts a wrong value at ${c.expect.field}`, describeCall(c));
            return;
          }
          const r = await send(s, route, c);
          const problem = problemWith(c, r.status, r.text);
          if (problem)
            findings.add(
              route,
              problem,
              `${describeCall(c)} → ${r.status} ${preview(r.text)}${c.expect.field === undefined ? '' : ` (expected the field ${JSON.stringify(c.expect.field)})`}`,
            );
        }),
        { numRuns: STRICT_RUNS, seed: SEED + i, examples: pitfalls(route).map((c) => [c] as [Call]) },
      );
    }
    const list = findings.list();
    expect(list.length, `${list.length} findings:\n\n${list.join('\n\n')}`).toBe(0);
  });

  it('stores nothing for the calls it refused: every table and file is as before', () => {
    const after = snapshot(strict!);
    for (const [table, rows] of Object.entries(before.tables))
      expect(after.tables[table], `table ${table}`).toEqual(rows);
    expect(Object.keys(after.tables)).toEqual(Object.keys(before.tables));
    expect(after.files).toEqual(before.files);
  });

  it('never answers 5xx to arbitrary calls, valid ones included (a second server, whose database may change)', async () => {
    const s = loose!;
    const findings = new Findings();
    // Signing out ends the session the other calls use: last.
    const order = [...ROUTES.filter((r) => r.op !== 'signOut'), ...ROUTES.filter((r) => r.op === 'signOut')];
    for (const [i, route] of order.entries()) {
      await fc.assert(
        fc.asyncProperty(arbitraryCalls(route), async (c) => {
          const r = await send(s, route, c);
          if (r.status >= 500)
            findings.add(route, `a server error ${r.status}`, `${describeCall(c)} → ${r.status} ${preview(r.text)}`);
        }),
        { numRuns: ARBITRARY_RUNS, seed: SEED + 1000 + i },
      );
    }
    const list = findings.list();
    expect(list.length, `${list.length} findings:\n\n${list.join('\n\n')}`).toBe(0);
  });

  it('logs no stack trace and no internal error', () => {
    for (const s of [strict!, loose!]) {
      expect(s.stderr()).not.toContain('internal error');
      expect(s.stderr()).not.toMatch(/\n\s+at \S/);
    }
  });
});
