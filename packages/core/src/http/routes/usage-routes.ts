import type { UsageService } from '../../metering/usage-service.js';
import { defineRoute, type Route } from '../route.js';
import {
  adminUsageQuery,
  myUsageQuery,
  usageEventView,
  usageEventsBody,
  usageEventsQuery,
  usageSummaryBody,
  usageSummaryView,
} from './usage-schemas.js';

const DEFAULT_EVENTS_PAGE = 20;

/** The usage routes (spec/http-api.md, "Usage and billing"): one's own usage, and everyone's for admins. */
export function usageRoutes(usage: UsageService): Route<any, any, any>[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/llm/usage/me',
      access: 'user',
      summary: 'Your usage and its cost over a window (default: this month), in total and grouped by day, model, provider or key source.',
      query: myUsageQuery,
      response: usageSummaryBody,
      handle: async ({ principal, query }) => {
        const summary = await usage.summary({ userId: principal.userId, from: query.from, to: query.to, groupBy: query.group_by });
        return { body: usageSummaryView(summary, summary.window) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/llm/usage/me/events',
      access: 'user',
      summary: 'Your usage records, newest first, a page at a time (pass next_cursor back as cursor).',
      query: usageEventsQuery,
      response: usageEventsBody,
      handle: async ({ principal, query }) => {
        const page = await usage.events(principal.userId, query.limit ?? DEFAULT_EVENTS_PAGE, query.cursor, 'next_cursor');
        return { body: { data: page.records.map(usageEventView), next_cursor: page.next ?? null } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/admin/usage',
      access: 'admin',
      summary: "Every user's usage (or one user's with user_id), in total and grouped, also by user.",
      query: adminUsageQuery,
      response: usageSummaryBody,
      handle: async ({ query }) => {
        const summary = await usage.summary({ userId: query.user_id, from: query.from, to: query.to, groupBy: query.group_by });
        return { body: usageSummaryView(summary, summary.window) };
      },
    }),
  ];
}
