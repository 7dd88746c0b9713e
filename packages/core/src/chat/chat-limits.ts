import { ByokitError, type ValidationIssue } from '../errors.js';
import { SAMPLING_PARAMETERS, type CatalogModel, type SamplingParameter } from '../catalog/model.js';
import { PROVIDER_LABELS } from '../keys/providers.js';
import type { ChatMessage } from '../providers/provider-types.js';
import type { ChatCompletionRequest } from './chat-schemas.js';

/** What a provider accepts, checked before the call so that a request fails with a clear 422, not at the provider. */
export interface ProviderLimits {
  temperature: { min: number; max: number };
  topP: { min: number; max: number };
  maxStopSequences: number;
  /**
   * What the provider refuses in a conversation's shape for a model (its API name), in words a person can act
   * on, or undefined when it takes it: Anthropic wants the user to speak first, and newer models of Anthropic
   * and Google the user to speak last (no prefill).
   */
  conversationProblem?: (messages: readonly ChatMessage[], model: string) => string | undefined;
  /**
   * Of the sampling parameters a request sets (`set`, those the model's own `ignoredParameters` leave out already
   * removed), the ones the provider refuses for a model (its API name), alone or beside the others: left out of the
   * call and named to the caller in `x-byok-ignored-parameters`, as a model's own ignored parameters are, rather
   * than dropped without a word or sent to fail. Anthropic refuses temperature and top_p together (top_p is left
   * out), and both on Claude from Opus 4.7 on; OpenAI's reasoning models, added by an admin under their API names, take none of the three.
   */
  leftOut?: (set: ReadonlySet<SamplingParameter>, model: string) => SamplingParameter[];
  /**
   * What the provider refuses in one stop sequence, in words a person can act on, or undefined when it takes it:
   * Anthropic refuses one that is only whitespace. Refused rather than left out, as a stop sequence dropped would
   * let the answer run past where the caller asked it to end.
   */
  stopSequenceProblem?: (sequence: string) => string | undefined;
}

/**
 * The sampling parameters a request sets that are left out of its call, in the order named to the caller: those the
 * model's own `ignoredParameters` list, then those its provider refuses for it ({@link ProviderLimits.leftOut}).
 */
export function parametersLeftOut(request: ChatCompletionRequest, model: CatalogModel, limits: ProviderLimits): SamplingParameter[] {
  const ignored = (model.ignoredParameters ?? []).filter((parameter) => request[parameter] !== undefined);
  if (limits.leftOut) {
    const set = new Set(SAMPLING_PARAMETERS.filter((parameter) => request[parameter] !== undefined && !ignored.includes(parameter)));
    ignored.push(...limits.leftOut(set, model.model));
  }
  return ignored;
}

/**
 * The sampling parameters left out of every call to a model, whatever else the request sets: those its own
 * `ignoredParameters` list and those its provider refuses on their own for its name ({@link ProviderLimits.leftOut}:
 * an admin's claude-opus-4-7, o4-mini or gpt-6-astra, which have no `ignoredParameters`). The model view's
 * `ignored_parameters`. One refused only beside another (Anthropic's top_p beside temperature) is not among them.
 */
export function refusedParameters(model: CatalogModel, limits: ProviderLimits): SamplingParameter[] {
  return SAMPLING_PARAMETERS.filter(
    (parameter) =>
      (model.ignoredParameters ?? []).includes(parameter) ||
      (limits.leftOut?.(new Set([parameter]), model.model).includes(parameter) ?? false),
  );
}

/**
 * Checks a request against the model's and its provider's limits (spec/http-api.md, "Chat": `max_tokens` ≤
 * the model's limit, temperature range per provider, the conversation's shape), before any call, budget hold
 * or usage record. Throws `validation_failed` with every problem.
 *
 * A sampling parameter in `leftOut` ({@link parametersLeftOut}) is not checked: it is not sent, so no value of it can
 * fail at the provider, and the caller is told it was left out. (Checked, a temperature of 1.5 to Claude Opus 5.5,
 * which takes none, was refused as "from 0 to 1" while 1 was left out.)
 */
export function assertWithinLimits(
  request: ChatCompletionRequest,
  model: CatalogModel,
  limits: ProviderLimits,
  leftOut: readonly SamplingParameter[] = [],
): void {
  const issues: ValidationIssue[] = [];
  if (request.max_tokens !== undefined && request.max_tokens > model.maxOutputTokens) {
    issues.push({ path: 'max_tokens', message: `${model.displayName} writes at most ${model.maxOutputTokens} tokens.` });
  }
  const sent = <T>(parameter: SamplingParameter, value: T | undefined) => (leftOut.includes(parameter) ? undefined : value);
  const temperature = sent('temperature', request.temperature);
  const topP = sent('top_p', request.top_p);
  const stop = sent('stop', request.stop);
  // Named as people name it ("Anthropic", not the id "anthropic"), as in every other message.
  const provider = PROVIDER_LABELS[model.provider];
  if (temperature !== undefined && (temperature < limits.temperature.min || temperature > limits.temperature.max)) {
    issues.push({
      path: 'temperature',
      message: `${provider} takes a temperature from ${limits.temperature.min} to ${limits.temperature.max}.`,
    });
  }
  if (topP !== undefined && (topP < limits.topP.min || topP > limits.topP.max)) {
    issues.push({ path: 'top_p', message: `${provider} takes top_p from ${limits.topP.min} to ${limits.topP.max}.` });
  }
  const stops = stop === undefined ? 0 : typeof stop === 'string' ? 1 : stop.length;
  if (stops > limits.maxStopSequences) {
    issues.push({ path: 'stop', message: `${provider} takes at most ${limits.maxStopSequences} stop sequences.` });
  }
  if (stop !== undefined && limits.stopSequenceProblem !== undefined) {
    const sequences = typeof stop === 'string' ? [stop] : stop;
    sequences.forEach((sequence, index) => {
      const problem = limits.stopSequenceProblem!(sequence);
      if (problem !== undefined) issues.push({ path: typeof stop === 'string' ? 'stop' : `stop.${index}`, message: problem });
    });
  }
  const conversation = limits.conversationProblem?.(request.messages, model.model);
  if (conversation !== undefined) issues.push({ path: 'messages', message: conversation });
  if (issues.length > 0) {
    throw new ByokitError(
      'validation_failed',
      `The request exceeds what ${model.displayName} accepts: ${issues.map((issue) => issue.message).join(' ')}`,
      {
        issues,
      },
    );
  }
}
