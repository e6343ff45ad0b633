/**
 * The operator's import and export screen in Arabic and English: a dry run of a customers file shows each bad
 * row by row number, column and reason and saves nothing; the import saves the good rows; the same file again
 * adds nothing; the template and the customers export download as CSV.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { expectDirection, unlabelledFields } from './layout.ts';
import { DESKTOP, LANGS, pageDone, screenshot, signInAs, textOf, useWebWorld } from './support.ts';

const web = useWebWorld('import');

const file = (lang: string) => ({
  name: `customers-${lang}.csv`,
  mimeType: 'text/csv',
  buffer: Buffer.from(
    [
      'national_id,name,name_ar,phone,language',
      `${lang}-4001,Rashid Al Kindi,راشد الكندي,+96894000001,ar`,
      `${lang}-4002,,,+96894000002,en`,
    ].join('\n'),
  ),
});

const customersNamed = (nationalId: string) =>
  web.world.server.core.store.db
    .selectFrom('customers')
    .select(['name', 'name_ar'])
    .where('national_id', '=', nationalId)
    .execute();

describe.each(LANGS)('import and export screen (%s)', (lang) => {
  it('a dry run reports row by row and saves nothing; the import saves; again adds nothing', async () => {
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, 'omar');
    await page.goto(`${web.world.url}/#/ops/import`);
    await page.locator('[data-screen="import"]').waitFor();
    await expectDirection(page, lang);
    expect(await unlabelledFields(page)).toBe(0);

    await page.locator('#import-file').setInputFiles(file(lang));
    await page.locator('.import-form button[type="submit"]').click();
    const errors = page.getByTestId('import-errors');
    await errors.waitFor();
    const row = await textOf(errors.locator('tbody tr').first());
    expect(row).toContain('name');
    expect(row).toContain('required');
    expect(await customersNamed(`${lang}-4001`)).toEqual([]);
    await screenshot(page, `import-dry-run-${lang}`);

    await page.locator('#import-dry').uncheck();
    await page.locator('.import-form button[type="submit"]').click();
    await page.getByTestId('import-report').locator('.alert.warn').waitFor();
    await expect
      .poll(() => customersNamed(`${lang}-4001`))
      .toEqual([{ name: 'Rashid Al Kindi', name_ar: 'راشد الكندي' }]);

    await page.locator('.import-form button[type="submit"]').click();
    await page.getByTestId('import-skipped').waitFor({ state: 'attached' });
    await page.locator('.import-report details summary').click();
    expect(await textOf(page.getByTestId('import-skipped'))).toContain(`${lang}-4001`);

    const template = page.waitForEvent('download');
    await page.locator('.import-form .actions button.link').first().click();
    const t = await template;
    expect((await readFile(await t.path())).toString('utf8').split('\n')[0]).toBe(
      'national_id,name,name_ar,phone,email,language',
    );
    const exported = page.waitForEvent('download');
    await page.locator('[aria-labelledby="export-title"] .actions button').first().click();
    const e = await exported;
    expect(e.suggestedFilename()).toBe('rasid-customers.csv');
    expect((await readFile(await e.path())).toString('utf8')).toContain(
      `${lang}-4001,Rashid Al Kindi,راشد الكندي`,
    );
    await pageDone(page);
  });
});
