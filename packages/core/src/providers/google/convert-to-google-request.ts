import type { ChatMessage, MappedRequest, ProviderChatRequest } from '../provider-types.js';
import type { GoogleContent, GoogleRequestBody } from './google-api.js';
import { invalidField } from '../../errors.js';
import { googleConversationProblem } from './google-conversation.js';
import { GOOGLE_LIMITS } from './google-limits.js';

/**
 * Maps a unified chat request to a Gemini `GenerateContentRequest` body
 * (https://ai.google.dev/api/generate-content#request-body):
 * - system messages become one `systemInstruction`, their texts joined in order by a blank line (for a Gemma
 *   model, which takes none, the first part of the first user turn: {@link isGemmaModel});
 * - `user` stays `user`, `assistant` becomes `model` (Gemini's name for it);
 * - consecutive messages of one role become one turn with a part per message, since Gemini expects the
 *   roles to alternate (https://ai.google.dev/gemini-api/docs/text-generation#multi-turn-conversations);
 * - `maxTokens`, `temperature`, `topP`, `stop` go into `generationConfig`.
 *
 * What Gemini would refuse becomes a warning and is left out, not a crash (style.md): an empty message
 * (an empty text part is "required oneof field 'data' must have one initialized field") and stop sequences
 * past the fifth. What cannot be fixed without changing what was said (google-conversation.ts: no content, or
 * a prefill for a model that takes none) is refused with `validation_failed`; the chat service checks the same
 * before any call, and here it guards the client used on its own.
 */
export function convertToGoogleRequest(request: ProviderChatRequest): MappedRequest<GoogleRequestBody> {
  const problem = googleConversationProblem(request.messages, request.model);
  if (problem !== undefined) {
    throw invalidField('messages', problem, { provider: 'google' });
  }
  const warnings: string[] = [];
  const systemTexts: string[] = [];
  const contents: GoogleContent[] = [];

  request.messages.forEach((message, index) => {
    if (message.role === 'system') {
      if (message.content !== '') systemTexts.push(message.content);
      return;
    }
    if (message.content === '') {
      warnings.push(`messages.${index}: Google refuses empty messages; this one was left out.`);
      return;
    }
    appendTurn(contents, googleRole(message.role), message.content);
  });

  const body: GoogleRequestBody = {
    contents,
    generationConfig: {
      maxOutputTokens: request.maxTokens,
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      ...(request.topP !== undefined && { topP: request.topP }),
      ...(request.stop !== undefined && request.stop.length > 0 && { stopSequences: stopSequences(request.stop, warnings) }),
    },
  };
  if (systemTexts.length > 0) {
    const text = systemTexts.join('\n\n');
    // The conversation check has made the first turn the user's.
    if (isGemmaModel(request.model)) contents[0]!.parts.unshift({ text: `${text}\n\n` });
    else body.systemInstruction = { parts: [{ text }] };
  }
  return { body, warnings };
}

/**
 * Gemma models, served by the same API, take no `systemInstruction`: 400 "Developer instruction is not enabled for
 * models/gemma-3-27b-it" (0xPlaygrounds/rig#788). Gemma has no system role; Google's Gemma docs have instructions
 * given in the first user turn, and vercel/ai's Google provider puts them there, as byokit does.
 */
function isGemmaModel(model: string): boolean {
  return model.toLowerCase().startsWith('gemma-');
}

function googleRole(role: Exclude<ChatMessage['role'], 'system'>): GoogleContent['role'] {
  switch (role) {
    case 'user':
      return 'user';
    case 'assistant':
      return 'model';
    default: {
      const _exhaustive: never = role;
      throw new TypeError(`Unknown role: ${String(_exhaustive)}`);
    }
  }
}

function appendTurn(contents: GoogleContent[], role: GoogleContent['role'], text: string): void {
  const last = contents.at(-1);
  if (last?.role === role) last.parts.push({ text });
  else contents.push({ role, parts: [{ text }] });
}

function stopSequences(stop: string[], warnings: string[]): string[] {
  if (stop.length <= GOOGLE_LIMITS.maxStopSequences) return stop;
  warnings.push(`stop: Google takes at most ${GOOGLE_LIMITS.maxStopSequences} stop sequences; the rest were left out.`);
  return stop.slice(0, GOOGLE_LIMITS.maxStopSequences);
}
