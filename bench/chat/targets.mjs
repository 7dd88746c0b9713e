// What each target is sent: byokit the user guide's chat body (docs/user-api-key-guide.md, "Use the chat
// endpoint"); the mock and the floor the Anthropic Messages body byokit itself sends for it, so that every
// path carries the same request to the same mock endpoint.

/** Claude Sonnet 4.5 under the user guide's id (USER_GUIDE_SONNET_4_5_ID in the core's catalog). */
const USER_GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';

/** byokit's targets, each the byokit server (servers/byokit-server.mjs) with this `--mount`: byokit mounted four ways. */
export const BYOKIT_MOUNTS = { byokit: 'node', 'byokit+express': 'express', 'byokit+fastify': 'fastify', 'byokit+fetch': 'fetch' };

/** The targets, in the order of the first round; later rounds rotate it. */
export const TARGETS = ['direct', 'floor', ...Object.keys(BYOKIT_MOUNTS)];

/** What the client → target hop carries, and how each target is reached. */
export const TARGET_LABELS = {
  direct: 'direct (client → mock)',
  floor: 'floor (client → node:http pass-through → mock)',
  byokit: "byokit (client → node:http + byokit, core's Node handler → mock): the goals are held to this one",
  'byokit+express': 'byokit+express (client → Express + byokitRouter → mock): the same, plus what Express costs',
  'byokit+fastify': "byokit+fastify (client → Fastify's server + byokitPlugin, logger off → mock)",
  'byokit+fetch': "byokit+fetch (client → @hono/node-server's serve() + core's createFetchHandler → mock)",
};

/**
 * The POST for `target`: path, headers, body, and the bytes that mark the first text of a streamed answer
 * (Anthropic's `text_delta` event; byokit's first chunk with `content`).
 */
export function requestFor(target, { token, anthropicKey, stream }) {
  if (target.startsWith('byokit')) {
    return {
      path: '/v2/llm/chat/completions',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model_id: USER_GUIDE_MODEL_ID,
        messages: [{ role: 'user', content: 'Hello!' }],
        max_tokens: 1024,
        temperature: 0.7,
        ...(stream && { stream: true }),
      }),
      tokenMarker: '"content":',
    };
  }
  return {
    path: '/v1/messages',
    headers: { 'content-type': 'application/json', 'x-api-key': anthropicKey, 'anthropic-version': '2023-06-01' },
    // Byte for byte what byokit's Anthropic client sends for the guide's body (convert-to-anthropic-request.ts).
    body: JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }],
      stream,
      temperature: 0.7,
    }),
    tokenMarker: '"text_delta"',
  };
}
