/** The routes for cases, the customer's view, the fleet and reports are in the OpenAPI document. */
import { expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';

it('the OpenAPI document lists the people-side routes with their schemas', async () => {
  const test = await startTestServer('openapi-people');
  try {
    const res = await fetch(`${test.server.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const paths = Object.keys(doc.paths);
    for (const path of [
      '/api/v1/cases',
      '/api/v1/cases/{caseId}',
      '/api/v1/cases/kpi',
      '/api/v1/case-categories/{category}',
      '/api/v1/me',
      '/api/v1/me/meters/{meterId}/consumption',
      '/api/v1/me/accounts/{accountId}/alerts',
      '/api/v1/fleet/overview',
      '/api/v1/fleet/meters/{meterId}',
      '/api/v1/alerts/stream',
      '/api/v1/reports/revenue',
      '/api/v1/reports/consumption',
    ]) {
      expect(paths).toContain(path);
    }
    expect(doc.paths['/api/v1/cases/kpi']?.get?.tags).toEqual(['cases']);
  } finally {
    await test.close();
  }
}, 120_000);
