import { googleConversationProblem } from './google-conversation.js';

/**
 * What the Gemini API accepts, for validating a chat request before it is sent (spec/http-api.md, Chat:
 * limits are a clear 422, not a failure at the provider). From
 * https://ai.google.dev/api/generate-content#generationconfig: temperature in [0, 2] on current models,
 * topP in [0, 1], at most 5 stop sequences. The conversation's shape: google-conversation.ts.
 */
export const GOOGLE_LIMITS = Object.freeze({
  temperature: Object.freeze({ min: 0, max: 2 }),
  topP: Object.freeze({ min: 0, max: 1 }),
  maxStopSequences: 5,
  conversationProblem: googleConversationProblem,
} as const);
