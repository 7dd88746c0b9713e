import { ByokitError, invalidField, isByokitError } from '../../errors.js';
import type { CatalogModel } from '../../catalog/model.js';
import { modelNotFound, type ModelDirectory } from '../../models/model-directory.js';
import type { KeyResolver } from '../../resolve/key-resolver.js';
import { defineRoute, type Route } from '../route.js';
import {
  modelBody,
  modelCreateBody,
  modelIdParams,
  modelList,
  modelListQuery,
  modelUpdateBody,
  modelView,
  pricingOf,
} from './model-schemas.js';

const MODEL_BODY_LIMIT_BYTES = 16 * 1024;

/**
 * The models routes (spec/http-api.md, "Models"): the models a caller can use now, decided by the same key
 * resolution as chat, and the admins' catalog management.
 */
export function modelRoutes(models: ModelDirectory, resolver: KeyResolver): Route<any, any, any>[] {
  const find = async (id: string): Promise<CatalogModel> => {
    const model = (await models.catalog()).get(id);
    if (!model) throw modelNotFound();
    return model;
  };

  return [
    defineRoute({
      method: 'GET',
      path: '/llm-models',
      access: 'user',
      summary:
        'The models you can use now: those whose provider has a key for you (yours or a system key). Admins: ?all=true for every model.',
      query: modelListQuery,
      response: modelList,
      errors: ['forbidden'],
      handle: async ({ principal, query }) => {
        if (query.all && !principal.isAdmin) throw new ByokitError('forbidden', 'Only admins can list every model (?all=true).');
        const sources = await resolver.sourcesOf(principal.userId);
        const data = (await models.catalog())
          .all()
          .filter((model) => query.all || sources[model.provider] !== null)
          .filter((model) => query.is_active === undefined || model.isActive === query.is_active)
          .filter((model) => query.provider === undefined || model.provider === query.provider)
          .map((model) => modelView(model, sources[model.provider]));
        return { body: { data, count: data.length } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/llm-models/:id',
      access: 'user',
      summary: 'One model of the catalog, with whose key would pay for it now.',
      params: modelIdParams,
      response: modelBody,
      errors: ['model_not_found'],
      handle: async ({ principal, params }) => {
        const model = await find(params.id);
        return { body: modelView(model, await resolver.sourceOf(principal.userId, model.provider)) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/llm-models',
      access: 'admin',
      summary: 'Add a model to the catalog.',
      body: modelCreateBody,
      bodyLimitBytes: MODEL_BODY_LIMIT_BYTES,
      response: modelBody,
      successStatus: 201,
      errors: ['conflict'],
      handle: async ({ principal, body }) => {
        if (body.max_output_tokens > body.context_window) throw outputOverContext();
        const alreadyThere = () =>
          new ByokitError('conflict', `The catalog has ${body.provider}/${body.model} already; change it with PATCH /llm-models/{id}.`);
        if ((await models.catalog()).byProviderModel(body.provider, body.model)) throw alreadyThere();
        // Another admin's add of the same model may land between that check and this save: the storage refuses it.
        const model = await models
          .save({
            id: crypto.randomUUID(),
            provider: body.provider,
            model: body.model,
            displayName: body.display_name,
            isActive: body.is_active ?? true,
            contextWindow: body.context_window,
            maxOutputTokens: body.max_output_tokens,
            pricing: pricingOf(body.pricing),
          })
          .catch((error: unknown) => {
            throw isByokitError(error) && error.code === 'conflict' ? alreadyThere() : error;
          });
        return { status: 201, body: modelView(model, await resolver.sourceOf(principal.userId, model.provider)) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/llm-models/:id',
      access: 'admin',
      summary: 'Activate, deactivate, re-price or rename a model.',
      params: modelIdParams,
      body: modelUpdateBody,
      bodyLimitBytes: MODEL_BODY_LIMIT_BYTES,
      response: modelBody,
      errors: ['model_not_found'],
      handle: async ({ principal, params, body }) => {
        // Applied to the model as storage holds it now, not as this node's catalog last read it (ModelDirectory.update).
        const saved = await models.update(params.id, (current) => {
          const next: CatalogModel = {
            ...current,
            ...(body.display_name !== undefined && { displayName: body.display_name }),
            ...(body.is_active !== undefined && { isActive: body.is_active }),
            ...(body.context_window !== undefined && { contextWindow: body.context_window }),
            ...(body.max_output_tokens !== undefined && { maxOutputTokens: body.max_output_tokens }),
            ...(body.pricing !== undefined && { pricing: pricingOf(body.pricing) }),
          };
          if (next.maxOutputTokens > next.contextWindow) throw outputOverContext();
          return next;
        });
        if (!saved) throw modelNotFound();
        return { body: modelView(saved, await resolver.sourceOf(principal.userId, saved.provider)) };
      },
    }),
  ];
}

const outputOverContext = () => invalidField('max_output_tokens', 'max_output_tokens cannot be larger than context_window.');
