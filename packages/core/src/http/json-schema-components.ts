/**
 * zod schemas as JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) for the OpenAPI document's components: converted
 * together so that a schema used inside another is a `$ref`, and never failing the document (what JSON Schema
 * cannot say is left out; a schema zod cannot convert is "any value").
 */
import { z } from 'zod';

/** A JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) as plain data. */
export type JsonSchema = Record<string, unknown>;

/** Where the document keeps a component schema. */
export const componentRef = (name: string) => `#/components/schemas/${name}`;

const CONVERSION = { target: 'draft-2020-12', unrepresentable: 'any', cycles: 'ref', reused: 'inline' } as const;
/** Where zod points a reference to another schema of the set; rewritten to a component reference below. */
const REF_BASE = 'urn:byokit:schema:';

/**
 * JSON Schemas for named zod schemas, each a component. Converted together, so that one schema used inside
 * another becomes a `$ref` to its component. Conversion never throws: what JSON Schema cannot say (a transform's
 * output, a refinement, a custom check) is left out, the schema then saying less than zod checks; should zod
 * fail on the set, each schema is converted alone, the one that fails becoming "any value". Definitions zod
 * makes on the side (recursive schemas, schemas given an id of their own) become components too. `taken`
 * holds the component names in use, and receives the new ones.
 */
export function jsonSchemaComponents(
  named: Map<z.ZodType, string>,
  io: 'input' | 'output',
  taken: Set<string>,
): Record<string, JsonSchema> {
  const components: Record<string, JsonSchema> = {};
  const claim = (name: string) => {
    let unique = name;
    for (let suffix = 2; taken.has(unique); suffix++) unique = `${name}${suffix}`;
    taken.add(unique);
    return unique;
  };
  const sideName = (definition: string) => claim(`${definition.replace(/^_*schema(\d+)$/, 'Schema$1')}${io === 'input' ? 'Input' : ''}`);

  let together: Record<string, JsonSchema> | undefined;
  try {
    const registry = z.registry<{ id: string }>();
    for (const [schema, name] of named) registry.add(schema, { id: name });
    together = z.toJSONSchema(registry, { ...CONVERSION, io, uri: (id) => `${REF_BASE}${id}` }).schemas as Record<string, JsonSchema>;
  } catch {
    // Converted one by one below.
  }
  if (together) {
    const { __shared: shared, ...own } = together;
    const sideNames = new Map(Object.keys((shared?.$defs ?? {}) as object).map((definition) => [definition, sideName(definition)]));
    const rewrite = (ref: string) => {
      if (!ref.startsWith(REF_BASE)) return ref;
      const [id, pointer = ''] = ref.slice(REF_BASE.length).split('#');
      return componentRef(id === '__shared' ? sideNames.get(pointer.replace('/$defs/', ''))! : id!);
    };
    for (const [name, schema] of Object.entries(own)) components[name] = rewriteRefs(withoutIdentity(schema), rewrite);
    for (const [definition, schema] of Object.entries((shared?.$defs ?? {}) as Record<string, JsonSchema>)) {
      components[sideNames.get(definition)!] = rewriteRefs(schema, rewrite);
    }
    return components;
  }
  for (const [schema, name] of named) {
    const { $defs: definitions = {}, ...alone } = jsonSchemaAlone(schema, io) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const sideNames = new Map(Object.keys(definitions).map((definition) => [definition, claim(`${name}_${definition}`)]));
    const rewrite = (ref: string) =>
      ref === '#' ? componentRef(name) : ref.startsWith('#/$defs/') ? componentRef(sideNames.get(ref.slice(8))!) : ref;
    components[name] = rewriteRefs(alone, rewrite);
    for (const [definition, schema] of Object.entries(definitions)) components[sideNames.get(definition)!] = rewriteRefs(schema, rewrite);
  }
  return components;
}

/** One schema converted on its own (a parameter's, or one of a set zod failed on): "any value" when zod cannot convert it. */
export function jsonSchemaAlone(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  try {
    return withoutIdentity(z.toJSONSchema(schema, { ...CONVERSION, io }));
  } catch {
    return { description: 'Not representable in JSON Schema; see the route summary.' };
  }
}

/** A converted schema as a component: the dialect and id are the document's, not the schema's own. */
function withoutIdentity(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/** `value` with every `$ref` passed through `rewrite`. */
function rewriteRefs<T>(value: T, rewrite: (ref: string) => string): T {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, rewrite)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string' ? rewrite(item) : rewriteRefs(item, rewrite),
    ]),
  ) as T;
}
